"""Submit NetSuite REST async jobs and read their tasks' results: RestAsyncJobSubmitOperator and
RestAsyncResultOperator, the REST twins of AsyncJobSubmitOperator and GetAsyncResultOperator.

A REST request sent with ``Prefer: respond-async`` becomes a job (Oracle chapter_161251386312):
one task per record of the request, each with a result (the body the synchronous request would
have given, or its error body). Between the two operators, wait with AsyncJobStatusSensor on a
``netsuite_rest`` connection: the same outcomes (finished, finishedWithErrors, failed) and the
same branch as for a SOAP job.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, ObjectStoragePath
from airflow.sdk.configuration import conf
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_asyncjob.errors import netsuite_error_rule, task_job_id
from airflow_asyncjob.hooks.rest_async_job import RestAsyncJobHook
from airflow_asyncjob.links.async_job import AsyncJobLink
from airflow_asyncjob.netsuite.faults import InvalidJobIdError
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.triggers.async_job_status import TIMEOUT
from airflow_asyncjob.ui import journal  # the NetSuite job tab's record of each job
from airflow_asyncjob.waiting import (
    check_rest_task_progress,
    deferral_timeout,
    final_status,
    read_event,
    status_trigger,
    wait_in_worker,
    wait_times,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["RestAsyncJobSubmitOperator", "RestAsyncResultOperator", "idempotency_key"]

REST_OPERATIONS = ("add", "update", "upsert", "delete")
"""add = POST, update = PATCH, upsert = PUT (by external id), delete = DELETE (Oracle
chapter_161251386312; for a batch, the collection content type on the record type's URL)."""
MAX_BATCH = 100
"""Records of one type per batch request (Oracle article_0127092747)."""
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c1a4e-2f57-5b8e-9a53-6e6574737569")
"""The uuid5 namespace of this provider's idempotency keys (a fixed, arbitrary UUID)."""
CANCEL_NOTE = "NetSuite documents no way to cancel a REST async job: it runs on"


def idempotency_key(dag_id: str, task_id: str, run_id: str, map_index: int | None) -> str:
    """The ``X-NetSuite-Idempotency-Key`` of a task instance: a uuid5 (RFC 4122) of its dag id,
    task id, run id and map index, so every try of one task instance sends the same key and
    NetSuite runs the request once (a repeat gets ``400 IDEMPOTENCY_ERROR`` with the earlier job's
    Location, which the client returns as that job; Oracle subsect_164494900632).

    How long NetSuite remembers a key is not documented (UNVERIFIED): a retry days later may
    create a second job.
    """
    index = -1 if map_index is None else int(map_index)
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{dag_id}\n{task_id}\n{run_id}\n{index}"))


class RestAsyncJobSubmitOperator(BaseOperator):
    """Submit one NetSuite REST request asynchronously (``Prefer: respond-async``): one record,
    or a batch of up to 100 records of one type; push the job id; optionally wait for the job as
    AsyncJobStatusSensor does.

    ``records`` is one dict (one record request) or a list of 1..100 dicts (a batch request,
    ``application/vnd.oracle.resource+json; type=collection``), in REST's field names
    (``{"companyName": "Acme", "subsidiary": {"id": "1"}}``); a list, an XComArg or a templated
    JSON string. It is kept out of the task's rendered fields (the UI shows
    ``"<5 records: not kept in rendered fields>"``), as AsyncJobSubmitOperator does.

    ``operation``: ``add`` (POST), ``update`` (PATCH; one record needs ``record_id``, batch
    items carry their ``id``), ``upsert`` (PUT by external id; one record needs
    ``external_id``, batch items carry ``externalId``) or ``delete`` (one record needs
    ``record_id``; batch items are ``{"id": ...}``).

    Idempotency: every try of the task instance sends the same ``X-NetSuite-Idempotency-Key``
    (``idempotency_key``: uuid5 of dag id, task id, run id, map index), so a retry after a worker
    was killed mid-submit gets the job the first try created (NetSuite deduplicates; the log says
    ``replayed``), never a second job. A new DAG run is a new key. A try whose records differ
    from the first try's still gets the first try's job: NetSuite runs one request per key.

    XCom: ``job_id`` (pushed as soon as NetSuite answers) and the return value, the job id. With
    ``wait_for_completion=True`` the final status goes to XCom ``status``: ``{"job_id", "status",
    "percent_completed" (tasks completed of tasks, in percent), "est_remaining_duration"
    (seconds), "tasks_completed", "tasks_total"}``; ``finished`` (every task succeeded)
    succeeds, ``failed`` (every task failed) fails without retry with the tasks' errors,
    ``finishedWithErrors`` fails (``on_finished_with_errors="fail"``) or succeeds
    (``"succeed"``); still running after ``timeout`` fails without retry. The wait polls in this
    worker, or with ``deferrable=True`` in the triggerer (AsyncJobStatusTrigger).

    Args:
        record_type: the REST record type (``customer``, ``salesOrder``), templated.
        records: one dict or a list of 1..100 dicts; templated.
        operation: ``add``, ``update``, ``upsert`` or ``delete``.
        record_id: the internal id for one record's update or delete (templated).
        external_id: the external id for one record's upsert (templated).
        wait_for_completion, deferrable, poke_interval, max_poll_interval, timeout,
            on_finished_with_errors: as for AsyncJobSubmitOperator (seconds or timedeltas).
        rest_task_progress: read the job's tasks on every poll of the wait (2 + N requests a
            poll for N tasks instead of 1), for "k of N tasks completed" while it runs; see
            AsyncJobStatusSensor. False: the counts come on the poll that sees it completed.
        netsuite_conn_id: the ``netsuite_rest`` connection (default ``netsuite_rest_default``).
        retry: the hook's retry policy for transient failures.

    Raises:
        ValueError: at DAG parse time, for arguments that do not fit together.
    """

    template_fields: Sequence[str] = (
        "record_type",
        "records",
        "record_id",
        "external_id",
        "netsuite_conn_id",
    )
    ui_color = "#f2e6d9"
    operator_extra_links = (AsyncJobLink(),)

    def __init__(
        self,
        *,
        record_type: str,
        records: Any,
        operation: str = "add",
        record_id: str | None = None,
        external_id: str | None = None,
        wait_for_completion: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float | timedelta = 60.0,
        max_poll_interval: float | timedelta | None = None,
        timeout: float | timedelta = 7 * 24 * 3600.0,
        on_finished_with_errors: str = "fail",
        netsuite_conn_id: str = RestAsyncJobHook.default_conn_name,
        retry: RetryPolicy | None = None,
        rest_task_progress: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        where = f"task {self.task_id!r}"
        check_rest_task_progress(where, rest_task_progress)
        if operation not in REST_OPERATIONS:
            raise ValueError(f"{where}: operation={operation!r}: use one of {', '.join(REST_OPERATIONS)}.")
        if records is None:
            raise ValueError(f"{where}: records is required (one dict, or a list of up to {MAX_BATCH}).")
        if on_finished_with_errors not in ("fail", "succeed"):
            raise ValueError(
                f"{where}: on_finished_with_errors={on_finished_with_errors!r}: use 'fail' or 'succeed' "
                "(to branch on finishedWithErrors, wait with AsyncJobStatusSensor)."
            )
        poke, self.max_poll_interval, seconds = wait_times(where, poke_interval, max_poll_interval, timeout)
        self.record_type = record_type
        self.records = records
        self.operation = operation
        self.record_id = record_id
        self.external_id = external_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poke_interval = poke
        self.timeout = seconds
        self.on_finished_with_errors = on_finished_with_errors
        self.netsuite_conn_id = netsuite_conn_id
        self.retry = retry
        self.rest_task_progress = rest_task_progress
        self._records: Any = None

    @cached_property
    def hook(self) -> RestAsyncJobHook:
        return RestAsyncJobHook(netsuite_conn_id=self.netsuite_conn_id, retry=self.retry)

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        """Render as Airflow does, then keep the records out of the rendered fields (as
        AsyncJobSubmitOperator does): they stay on the task for ``execute`` only."""
        records = self.records
        self.records = None
        super().render_template_fields(context, jinja_env)
        if records is None:
            return
        self._records = self.render_template(records, context, jinja_env)
        self.records = _records_summary(self._records)

    def execute(self, context: Context) -> str:
        records = self._payload()
        ti = context["ti"]
        key = idempotency_key(ti.dag_id, ti.task_id, ti.run_id, getattr(ti, "map_index", -1))
        with netsuite_error_rule():
            submitted = self.hook.submit(
                str(self.record_type),
                records,
                operation=self.operation,
                idempotency_key=key,
                record_id=str(self.record_id) if self.record_id else None,
                external_id=str(self.external_id) if self.external_id else None,
            )
        size = len(records) if isinstance(records, list) else 1
        if submitted.replayed:
            self.log.info(
                "NetSuite already has this request (try %s, idempotency key %s): it is job %s, not "
                "submitted again.",
                ti.try_number,
                key,
                submitted.job_id,
            )
        else:
            self.log.info(
                "Submitted REST %s of %d %s record(s) asynchronously: job %s (idempotency key %s)",
                self.operation,
                size,
                self.record_type,
                submitted.job_id,
                key,
            )
        ti.xcom_push(key="job_id", value=submitted.job_id)
        if not self.wait_for_completion:
            return submitted.job_id
        trigger = status_trigger(
            job_id=submitted.job_id,
            netsuite_conn_id=self.netsuite_conn_id,
            poke_interval=self.poke_interval,
            max_poll_interval=self.max_poll_interval,
            end_time=time.time() + self.timeout,
            timeout=self.hook.timeout,
            retry=self.retry,
            rest_task_progress=self.rest_task_progress,
        )
        if self.deferrable:
            self.defer(
                trigger=trigger, method_name="execute_complete", timeout=deferral_timeout(self.timeout)
            )
        return self.execute_complete(context, wait_in_worker(self.hook, trigger))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """Decide on the job's end as AsyncJobStatusSensor does; push XCom ``status``; return the job id.

        Raises:
            AirflowFailException: failed, finishedWithErrors with ``"fail"``, the timeout, a
                permanent error, an event this operator does not read.
            NetSuiteError: a transient error that outlived the trigger's polls (``retries`` apply;
                the retry sends the same idempotency key, so it reconnects to the same job).
        """
        job_id = str((event or {}).get("job_id", "")) if isinstance(event, Mapping) else ""
        ended = read_event(event, job_id, "operator")
        if ended.status == TIMEOUT:
            message = (
                f"NetSuite REST job {ended.job_id} had not ended within the task's timeout "
                f"({self.timeout:g} s)."
            )
            if ended.job is not None:
                message += f" Last seen: {ended.job.describe()}."
            raise AirflowFailException(f"{message} {CANCEL_NOTE}; wait for it with AsyncJobStatusSensor.")
        if ended.job is None:
            raise AirflowFailException(f"the trigger's event for job {ended.job_id} has no status.")
        self.log.info("NetSuite async %s", ended.job.describe())
        final = final_status(self.hook, ended.job, self.on_finished_with_errors)
        context["ti"].xcom_push(key="status", value=final)
        return ended.job_id

    def on_kill(self) -> None:
        self.log.warning("Task killed; a NetSuite REST job it submitted goes on running. %s.", CANCEL_NOTE)

    def _payload(self) -> dict[str, Any] | list[dict[str, Any]]:
        """The records as one dict or a list of 1..100 dicts; AirflowFailException naming what is wrong."""
        records = self._records if self._records is not None else self.records
        if isinstance(records, str):
            try:
                records = json.loads(records)
            except json.JSONDecodeError as error:
                raise AirflowFailException(f"records is a string that is not JSON: {error}") from None
        if isinstance(records, Mapping):
            if self.operation in ("update", "delete") and not self.record_id:
                raise AirflowFailException(
                    f"REST {self.operation} of one record needs record_id (its internal id)."
                )
            if self.operation == "upsert" and not self.external_id:
                raise AirflowFailException("REST upsert of one record needs external_id.")
            return dict(records)
        if not isinstance(records, Sequence) or not all(isinstance(r, Mapping) for r in records):
            raise AirflowFailException(
                f"records must be one dict or a list of dicts; got {type(records).__name__}. "
                "Nothing was sent."
            )
        if not records:
            raise AirflowFailException("there are no records to submit. Nothing was sent.")
        if len(records) > MAX_BATCH:
            raise AirflowFailException(
                f"{len(records)} records: a REST batch request takes at most {MAX_BATCH} records of one "
                "type. Nothing was sent: split them over mapped tasks (.expand) of at most 100 each."
            )
        if self.record_id or self.external_id:
            raise AirflowFailException(
                "record_id and external_id are for one record; a batch's items carry their own id or "
                "externalId."
            )
        return [dict(r) for r in records]


class RestAsyncResultOperator(BaseOperator):
    """Read every task's result of a completed NetSuite REST async job to object storage (JSON
    lines) and a summary in XCom, in GetAsyncResultOperator's summary shape.

    The job is checked first: a job still running fails the try (AirflowException, so
    ``retries`` apply) without reading results. Then each task's result is read
    (``GET .../job/{id}/task/{taskId}/result``): a succeeded task's body (``{"id": ...}``) or a
    failed task's error body (``o:errorDetails``).

    Output:

    - one JSON object per task to ``output_path`` (an ObjectStoragePath URL or local path;
      default ``$AIRFLOW_HOME/netsuite_async_results/<dag_id>/<run_id>/<task_id>[.<map_index>]/``
      ``<job_id>.jsonl``):
      ``{"job_id", "task_id", "is_success", "code", "message", "body"}``;
    - the XCom return value: ``{"job_id", "result_type": "rest", "pages" (1: REST results are
      not paged), "records" (tasks), "succeeded", "failed", "failures_by_code": {o:errorCode:
      tasks}, "first_failures": [{"task_id", "internal_id", "external_id", "type", "code",
      "message"}] (at most ``max_failures_in_summary``), "job_errors": [], "total_records",
      "output_path"}``.

    Can be the ``follow_task_ids_if_finished_with_errors`` target of AsyncJobStatusSensor.

    Args:
        job_id: the REST job id (templated), checked as the sensor checks it.
        output_path: where the JSON lines go (templated).
        max_failures_in_summary: how many failed tasks the summary quotes.
        netsuite_conn_id: the ``netsuite_rest`` connection.
        retry: the hook's retry policy for transient failures.
    """

    template_fields: Sequence[str] = ("job_id", "output_path", "netsuite_conn_id")
    ui_color = "#e6f2d9"
    operator_extra_links = (AsyncJobLink(),)

    def __init__(
        self,
        *,
        job_id: str,
        output_path: str | None = None,
        max_failures_in_summary: int = 10,
        netsuite_conn_id: str = RestAsyncJobHook.default_conn_name,
        retry: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_failures_in_summary < 0:
            raise ValueError(f"task {self.task_id!r}: max_failures_in_summary must be >= 0.")
        self.job_id = job_id
        self.output_path = output_path
        self.max_failures_in_summary = max_failures_in_summary
        self.netsuite_conn_id = netsuite_conn_id
        self.retry = retry

    @cached_property
    def hook(self) -> RestAsyncJobHook:
        return RestAsyncJobHook(netsuite_conn_id=self.netsuite_conn_id, retry=self.retry)

    def execute(self, context: Context) -> dict[str, Any]:
        job_id = task_job_id(self, self.job_id)
        with netsuite_error_rule():
            try:
                status = self.hook.check_async_status(job_id)
            except InvalidJobIdError as error:
                raise AirflowFailException(
                    f"NetSuite does not know REST job {job_id} ({error.code}): the id is wrong, or the job "
                    "is no longer kept."
                ) from error
        if not status.status.is_terminal:
            raise AirflowException(
                f"NetSuite REST {status.describe()}: not completed. Wait for it with "
                "AsyncJobStatusSensor first."
            )
        with netsuite_error_rule(f"the task results of job {job_id}"):
            results = list(self.hook.iter_task_results(job_id))
        by_code: Counter[str] = Counter()
        first: list[dict[str, Any]] = []
        rows = []
        for result in results:
            rows.append(
                {
                    "job_id": job_id,
                    "task_id": result.task_id,
                    "is_success": result.succeeded,
                    "code": result.error_code,
                    "message": result.message,
                    "body": result.body,
                }
            )
            if result.succeeded:
                continue
            code = result.error_code or "UNKNOWN"
            by_code[code] += 1
            if len(first) < self.max_failures_in_summary:
                first.append(
                    {
                        "task_id": result.task_id,
                        "internal_id": None,
                        "external_id": None,
                        "type": None,
                        "code": code,
                        "message": result.message,
                    }
                )
        path = self._path(context, job_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, separators=(",", ":"), default=str) + "\n")
        failed = sum(by_code.values())
        summary = {
            "job_id": job_id,
            "result_type": "rest",
            "pages": 1,
            "records": len(results),
            "succeeded": len(results) - failed,
            "failed": failed,
            "failures_by_code": dict(by_code.most_common()),
            "first_failures": first,
            "job_errors": [],
            "total_records": len(results),
            "output_path": str(path),
        }
        journal.record_summary(context, self, summary)  # UI: the NetSuite job tab
        for failure in first:
            self.log.info(
                "Failed task %s code=%s message=%s", failure["task_id"], failure["code"], failure["message"]
            )
        self.log.info(
            "REST job %s: %d tasks, %d succeeded, %d failed %s; results in %s",
            job_id,
            len(results),
            summary["succeeded"],
            failed,
            summary["failures_by_code"] or "",
            path,
        )
        return summary

    def _path(self, context: Context, job_id: str) -> ObjectStoragePath:
        if self.output_path:
            return ObjectStoragePath(str(self.output_path))
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        task = ti.task_id + (f".{map_index}" if map_index is not None and map_index >= 0 else "")
        home = os.path.abspath(os.path.expanduser(os.environ.get("AIRFLOW_HOME", "~/airflow")))
        parts = [_safe(p) for p in (ti.dag_id, ti.run_id, task, f"{job_id}.jsonl")]
        return ObjectStoragePath(f"file://{os.path.join(home, 'netsuite_async_results', *parts)}")


def _records_summary(records: Any) -> str:
    if isinstance(records, str):
        return f"<a JSON string of {len(records)} characters: not kept in rendered fields>"
    if isinstance(records, Mapping):
        return "<1 record: not kept in rendered fields>"
    if isinstance(records, Sequence):
        return f"<{len(records)} records: not kept in rendered fields>"
    return f"<{type(records).__name__}: not kept in rendered fields>"


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", part)
