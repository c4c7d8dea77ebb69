"""Typed values of REST async jobs, and their parsing from NetSuite's JSON.

Sources: Help Center subsect_161278579295 (job), subsect_161252896355 (tasks), subsect_161252889998
(task result), chapter_161251386312 (``Location`` of a submitted job, absolute or relative).
UNVERIFIED (built for every reading): the full set of ``progress`` values (Oracle's examples show
``pending`` for a job and ``succeeded`` for a task; ``processing`` and ``failed`` are our reading),
and how a failed task's result carries its error (the synchronous error body, at HTTP 200 or 4xx).

Imports nothing from Airflow.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from airflow_asyncjob.netsuite.faults import NetSuiteResponseError, excerpt
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncStatus
from airflow_asyncjob.netsuite.rest.errors import BASE_URL_HINT, error_body_of

log = logging.getLogger(__name__)

JOB_PATH = "/services/rest/async/v1/job"
#: The ``progress`` values our reading of the Help Center gives; any other is logged once and
#: read as "still running" until ``completed`` is true.
KNOWN_PROGRESS = frozenset({"pending", "processing", "succeeded", "failed"})
_JOB_LOCATION = re.compile(r"^/services/rest/async/v1/job/([^/?#]+)/?$")
_TASK_HREF = re.compile(r"/services/rest/async/v1/job/[^/?#]+/task/([^/?#]+)/?$")
_logged_progress: set[str] = set()


@dataclass(frozen=True)
class RestTask:
    """One task of a REST async job (one per record of the request).

    Attributes:
        task_id: the task's id (the last segment of its URL).
        completed: NetSuite's ``completed``.
        progress: NetSuite's ``progress`` (``pending``, ``processing``, ``succeeded``, ``failed``
            or a value not documented, kept as sent).
        start_time, end_time: ISO-8601 texts as NetSuite sends them (``2020-12-09T12:04:28Z``), or
            None when absent.
    """

    task_id: str
    completed: bool
    progress: str
    start_time: str | None = None
    end_time: str | None = None

    @property
    def succeeded(self) -> bool:
        """Completed with ``progress`` ``succeeded``; any other completed task counts as failed."""
        return self.completed and self.progress == "succeeded"


@dataclass(frozen=True)
class RestJob:
    """A REST async job, with its tasks when they were read.

    Attributes:
        job_id: the job's id (``Location``'s last segment).
        completed: NetSuite's ``completed``.
        progress: NetSuite's ``progress`` for the job.
        tasks: the job's tasks in NetSuite's order, or None when not read.
    """

    job_id: str
    completed: bool
    progress: str
    tasks: tuple[RestTask, ...] | None = None

    def to_status(self) -> AsyncJobStatus:
        """The job as the SOAP side's AsyncJobStatus.

        Not completed: ``pending`` (progress ``pending``) or ``processing``. Completed: every task
        succeeded -> ``finished``; some -> ``finishedWithErrors``; none -> ``failed``.
        ``percent_completed`` is 100 x tasks completed / tasks (0.0 without tasks read);
        ``est_remaining_duration`` is 0.0 (REST gives no estimate); ``tasks_completed`` and
        ``tasks_total`` are set when the tasks were read; a running job whose tasks were not read
        has ``tasks_unread=True`` (its counts come on the poll that sees it completed).

        Raises:
            NetSuiteResponseError: a completed job whose task list was read and is empty, or a
                completed job without its tasks (a caller's mistake: read them first).
        """
        _note_progress(self.progress, self.job_id)
        tasks = self.tasks
        done = total = None
        percent = 0.0
        if tasks is not None:
            total = len(tasks)
            done = sum(1 for task in tasks if task.completed)
            percent = 100.0 * done / total if total else 0.0
        if not self.completed:
            status = AsyncStatus.PENDING if self.progress == "pending" else AsyncStatus.PROCESSING
            return AsyncJobStatus(self.job_id, status, percent, 0.0, done, total, tasks_unread=tasks is None)
        if tasks is None:
            raise NetSuiteResponseError(
                "a completed REST job's outcome needs its tasks, which were not read",
                operation="REST job status",
                job_id=self.job_id,
            )
        if not tasks:
            raise NetSuiteResponseError(
                f"NetSuite says the job is completed (progress {self.progress!r}) but its task list "
                "is empty, so its outcome cannot be known",
                operation="REST task list",
                job_id=self.job_id,
                hint="Look at the job in NetSuite (Setup > Integration > Web Services Usage Log); "
                "every REST async request has one task per record.",
            )
        succeeded = sum(1 for task in tasks if task.succeeded)
        if succeeded == len(tasks):
            status = AsyncStatus.FINISHED
        elif succeeded == 0:
            status = AsyncStatus.FAILED
        else:
            status = AsyncStatus.FINISHED_WITH_ERRORS
        return AsyncJobStatus(self.job_id, status, percent, 0.0, done, total)


@dataclass(frozen=True)
class RestTaskResult:
    """A task's result: the body the synchronous request would have answered.

    Attributes:
        task_id: the task.
        succeeded: False when the result is NetSuite's error body.
        body: the result's JSON object (success: ``{"id": "<internalId>", "links": [...]}``;
            failure: the error body), or None when NetSuite sent no body (204).
        error_code: the first ``o:errorCode`` of a failure, else None.
        message: the first ``detail`` of a failure, else None.
    """

    task_id: str
    succeeded: bool
    body: dict[str, Any] | None
    error_code: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"task_id", "succeeded", "body", "error_code", "message"}``."""
        return {
            "task_id": self.task_id,
            "succeeded": self.succeeded,
            "body": self.body,
            "error_code": self.error_code,
            "message": self.message,
        }


@dataclass(frozen=True)
class RestSubmitted:
    """A submitted REST async request.

    Attributes:
        job_id: the job's id, from ``location``.
        location: the ``Location`` header as NetSuite sent it (absolute or relative).
        replayed: True when NetSuite answered 400 IDEMPOTENCY_ERROR for the idempotency key: the
            job is the one an earlier request with that key created, not a new one.
    """

    job_id: str
    location: str
    replayed: bool = False


def job_id_from_location(location: str | None) -> str:
    """The job id in a ``Location`` header: ``https://<host>/services/rest/async/v1/job/123`` or
    ``/services/rest/async/v1/job/123`` -> ``"123"`` (percent-decoding undone).

    Raises:
        NetSuiteResponseError: no Location, or one that is not a job URL (another path, a scheme
            other than http(s), a relative path not starting with ``/``).
    """
    text = (location or "").strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    ok_origin = parts is not None and (
        (parts.scheme.lower() in ("http", "https") and bool(parts.netloc))
        or (not parts.scheme and not parts.netloc and text.startswith("/"))
    )
    match = _JOB_LOCATION.match(parts.path) if parts is not None and ok_origin else None
    job_id = unquote(match.group(1)).strip() if match else ""
    if not job_id:
        shown = f"{excerpt(text, 120)!r}" if text else "no Location header"
        raise NetSuiteResponseError(
            f"NetSuite's answer to the submit named {shown}, not a job URL "
            f"(…{JOB_PATH}/<job id>), so the job cannot be followed",
            operation="REST submit",
            hint="The job may exist: look for it in NetSuite's Web Services Usage Log before "
            "submitting again. " + BASE_URL_HINT,
        )
    return job_id


def _note_progress(progress: str, job_id: str | None) -> None:
    if progress not in KNOWN_PROGRESS and progress not in _logged_progress:
        _logged_progress.add(progress)
        log.warning(
            "NetSuite sent the REST async progress %r (job %s), which is not documented; it is read "
            "as still running until the job is completed.",
            progress[:40],
            job_id,
        )


def _shape_error(what: str, data: Any, operation: str, job_id: str | None) -> NetSuiteResponseError:
    return NetSuiteResponseError(
        f"JSON that is not a NetSuite {what}: {excerpt(repr(data))}",
        operation=operation,
        job_id=job_id,
        hint=BASE_URL_HINT,
    )


def _completed_and_progress(data: Any, what: str, operation: str, job_id: str | None) -> tuple[bool, str]:
    if not isinstance(data, Mapping) or not isinstance(data.get("completed"), bool):
        raise _shape_error(what, data, operation, job_id)
    progress = data.get("progress")
    if not isinstance(progress, str) or not progress.strip():
        raise _shape_error(what, data, operation, job_id)
    return data["completed"], progress.strip()


def parse_job(data: Any, *, job_id: str) -> RestJob:
    """``GET .../job/{id}``'s JSON -> RestJob (without tasks).

    Raises:
        NetSuiteResponseError: not an object with a boolean ``completed`` and a ``progress`` text.
    """
    completed, progress = _completed_and_progress(data, "job", "REST job status", job_id)
    _note_progress(progress, job_id)
    return RestJob(job_id=job_id, completed=completed, progress=progress)


def parse_task(data: Any, *, job_id: str, task_id: str) -> RestTask:
    """``GET .../job/{id}/task/{taskId}``'s JSON -> RestTask.

    Raises:
        NetSuiteResponseError: not an object with a boolean ``completed`` and a ``progress`` text.
    """
    completed, progress = _completed_and_progress(data, "task", "REST task", job_id)
    _note_progress(progress, job_id)
    start, end = data.get("startTime"), data.get("endTime")
    return RestTask(
        task_id=task_id,
        completed=completed,
        progress=progress,
        start_time=start if isinstance(start, str) else None,
        end_time=end if isinstance(end, str) else None,
    )


@dataclass(frozen=True)
class TaskPage:
    """One page of ``GET .../job/{id}/task``: task ids, and whether more pages follow."""

    task_ids: tuple[str, ...]
    has_more: bool
    total: int | None


def parse_task_page(data: Any, *, job_id: str) -> TaskPage:
    """A task collection page -> TaskPage (task ids from each item's ``self`` link, else its
    ``id``).

    Raises:
        NetSuiteResponseError: not a collection (no ``items`` list), or an item without a task link.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("items"), list):
        raise _shape_error("task list", data, "REST task list", job_id)
    ids = []
    for item in data["items"]:
        task_id = _task_id_of(item)
        if task_id is None:
            raise _shape_error("task list item", item, "REST task list", job_id)
        ids.append(task_id)
    total = data.get("totalResults")
    return TaskPage(
        task_ids=tuple(ids),
        has_more=data.get("hasMore") is True,
        total=total if isinstance(total, int) and not isinstance(total, bool) else None,
    )


def _task_id_of(item: Any) -> str | None:
    if not isinstance(item, Mapping):
        return None
    links = item.get("links")
    if isinstance(links, list):
        for link in links:
            if isinstance(link, Mapping) and link.get("rel") == "self" and isinstance(link.get("href"), str):
                match = _TASK_HREF.search(urlsplit(link["href"]).path)
                if match:
                    return unquote(match.group(1))
    task_id = item.get("id")
    return str(task_id) if isinstance(task_id, (str, int)) and not isinstance(task_id, bool) else None


def parse_task_result(data: Any, *, task_id: str) -> RestTaskResult:
    """A task result's JSON (or None for an empty body) -> RestTaskResult: NetSuite's error body
    (``o:errorDetails``) is a failure, any other object (or no body) a success."""
    if data is None:
        return RestTaskResult(task_id=task_id, succeeded=True, body=None)
    error = error_body_of(data)
    body = dict(data) if isinstance(data, Mapping) else {"value": data}
    if error is not None:
        return RestTaskResult(task_id, False, body, error_code=error.code, message=error.detail or None)
    return RestTaskResult(task_id, True, body)
