"""GetAsyncResultOperator: read every getAsyncResult page of a finished NetSuite async job to
object storage (JSON lines) and a summary in XCom; a retry reads only the pages still missing.

Imported as ``airflow_asyncjob.operators.async_job.GetAsyncResultOperator`` too.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, ObjectStoragePath
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_asyncjob import lineage
from airflow_asyncjob.errors import netsuite_error_rule, task_job_id
from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.links.async_job import AsyncJobLink
from airflow_asyncjob.netsuite.faults import InvalidJobIdError
from airflow_asyncjob.netsuite.models import (
    MAX_ASYNC_RESULT_CALLS,
    AsyncResultPage,
)
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.ui import journal  # the NetSuite job tab's record of each job

if TYPE_CHECKING:
    from airflow.sdk import Context

MAX_RESULT_CALLS = MAX_ASYNC_RESULT_CALLS


class GetAsyncResultOperator(BaseOperator):
    """Read every getAsyncResult page of a finished NetSuite async job.

    Pages 1..totalPages are read once each (a missing or zero totalPages means one page: list
    results carry none); NetSuite allows 20 getAsyncResult calls per job within 30 days, so a
    job with more pages fails before reading past page 1. The job's status is checked first
    (checkAsyncStatus has no such limit), so a job still running costs no getAsyncResult call.

    Output:

    - every record's typed result, one JSON object per line, to ``output_path`` (an Airflow
      ObjectStoragePath: ``s3://...``, ``gs://...``, ``file://...`` or a local path; default
      ``$AIRFLOW_HOME/netsuite_async_results/<dag_id>/<run_id>/<task_id>[.<map_index>]/<job_id>.jsonl``):
      ``{"job_id", "page_index", "is_success", "status_details": [{"type", "code", "message",
      "after_submit_failed"}], "base_ref": {"internal_id", "external_id", "type", "name"},
      "record_type"?, "record"?}``; ``record`` is the record itself for asyncGetList,
      asyncInitializeList and search hits.
    - the XCom return value, a summary: ``{"job_id", "result_type", "pages", "records",
      "succeeded", "failed", "failures_by_code": {code: records}, "first_failures": [{"internal_id",
      "external_id", "type", "code", "message"}] (at most ``max_failures_in_summary``),
      "job_errors": [{"code", "message"}], "total_records" (a search's totalRecords),
      "output_path"}``. A record counts as failed only where NetSuite says isSuccess="false";
      it is counted once, under its first error code.

    Can be the ``follow_task_ids_if_finished_with_errors`` target of AsyncJobStatusSensor.

    A retry reads only the pages still missing: each page read is kept beside the output (see
    PagesRead) until every page is, and a retry of the same job resumes after the last one kept.

    Failures: a page that cannot be read fails the task (nothing is written to ``output_path``;
    the pages already read stay in ``.<output name>.parts/`` for the retry);
    INVALID_JOB_ID fails without retry, saying whether the job is unknown or purged (30 days)
    or has used its 20 getAsyncResult calls.

    Args:
        job_id: NetSuite's job id (templated, e.g. ``"{{ ti.xcom_pull(task_ids='submit') }}"``),
            checked as AsyncJobStatusSensor checks it: a template that rendered a missing value
            (``None``, ``null``, empty) fails the task before any request.
        output_path: where the JSON lines go (templated).
        max_failures_in_summary: how many failed records the summary quotes.
        netsuite_conn_id: the ``netsuite_soap`` connection.
        retry: the hook's retry policy for transient failures (default: ``RetryPolicy()``).
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
        netsuite_conn_id: str = SoapAsyncJobHook.default_conn_name,
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
        self.outcome: dict[str, Any] | None = None

    @cached_property
    def hook(self) -> SoapAsyncJobHook:
        return SoapAsyncJobHook(netsuite_conn_id=self.netsuite_conn_id, retry=self.retry)

    def execute(self, context: Context) -> dict[str, Any]:
        job_id = task_job_id(self, self.job_id)
        self._check_finished(job_id)
        path = self._path(context, job_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        parts = PagesRead(path, job_id, self.max_failures_in_summary)
        summary, total_pages = parts.resume()
        if summary.pages:
            self.log.info(
                "An earlier try read pages 1..%d of %d of job %s (kept in %s): reading from page %d.",
                summary.pages,
                total_pages,
                job_id,
                parts.folder,
                summary.pages + 1,
            )
        while total_pages is None or summary.pages < total_pages:
            page = self._page(job_id, summary.pages + 1)
            if total_pages is None:
                total_pages = page.total_pages or 1
                if total_pages > MAX_RESULT_CALLS:
                    parts.discard()
                    raise AirflowFailException(
                        f"job {job_id} has {total_pages} result pages, but NetSuite allows "
                        f"{MAX_RESULT_CALLS} getAsyncResult calls per job: narrow the search or "
                        "raise its page size."
                    )
            rows = [{"job_id": job_id, "page_index": page.page_index, **r.to_dict()} for r in page.records]
            summary.add(page)
            parts.write(page.page_index, rows, summary, total_pages)
            self.log.info(
                "Read page %d of %d: %d records, %d failed.",
                page.page_index,
                total_pages,
                len(page.records),
                len(page.failed_records),
            )
        parts.join(total_pages)
        result = {**summary.to_dict(), "output_path": str(path)}
        journal.record_summary(context, self, result)  # UI: the NetSuite job tab
        self.log.info(
            "Job %s: %d records, %d succeeded, %d failed %s; results in %s",
            job_id,
            result["records"],
            result["succeeded"],
            result["failed"],
            result["failures_by_code"] or "",
            path,
        )
        self.outcome = {**result, "record_types": dict(summary.record_types)}  # for lineage.py
        return result

    # OpenLineage (airflow_asyncjob.lineage): facets only when the OpenLineage provider asks.
    def get_openlineage_facets_on_start(self) -> Any:
        return lineage.result_facets(self, complete=False)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        return lineage.result_facets(self, complete=True)

    def _check_finished(self, job_id: str) -> None:
        with netsuite_error_rule():
            try:
                status = self.hook.check_async_status(job_id)
            except InvalidJobIdError as error:
                raise AirflowFailException(
                    f"NetSuite does not know job {job_id} (INVALID_JOB_ID from checkAsyncStatus): the id "
                    "is wrong, or the job was purged (NetSuite keeps async jobs for 30 days)."
                ) from error
        if not status.status.is_terminal:
            raise AirflowException(
                f"NetSuite {status.describe()}: not finished, so no getAsyncResult call was spent on it. "
                "Wait for it with AsyncJobStatusSensor first."
            )

    def _page(self, job_id: str, page_index: int) -> AsyncResultPage:
        with netsuite_error_rule(f"page {page_index} of job {job_id}"):
            try:
                return self.hook.get_async_result(job_id, page_index)
            except InvalidJobIdError as error:
                seen = (
                    "page 1 was read moments ago" if page_index > 1 else "checkAsyncStatus found it just now"
                )
                raise AirflowFailException(
                    f"NetSuite answered {error.code} for page {page_index} of job {job_id}, which exists "
                    f"({seen}): its {MAX_RESULT_CALLS} getAsyncResult calls within 30 days are used up. "
                    "Read the results already written by an earlier run, or submit the job again."
                ) from error

    def _path(self, context: Context, job_id: str) -> ObjectStoragePath:
        if self.output_path:
            return ObjectStoragePath(str(self.output_path))
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        task = ti.task_id + (f".{map_index}" if map_index is not None and map_index >= 0 else "")
        home = os.path.abspath(os.path.expanduser(os.environ.get("AIRFLOW_HOME", "~/airflow")))
        parts = [_safe(p) for p in (ti.dag_id, ti.run_id, task, f"{job_id}.jsonl")]
        return ObjectStoragePath(f"file://{os.path.join(home, 'netsuite_async_results', *parts)}")


class PagesRead:
    """The result pages a GetAsyncResultOperator has read so far, kept beside the output so that
    a retry reads only the pages still missing (each getAsyncResult call is one of the job's 20).

    Each page's JSON lines go to ``.<output name>.parts/page-NNNN.jsonl`` beside the output, and
    ``progress.json`` there records ``{"job_id", "total_pages", "summary"}`` after each page. When
    every page is read, ``join`` writes the output from the parts and removes them; until then the
    output path holds nothing (no partial file). The parts of another job are discarded.
    """

    def __init__(self, path: ObjectStoragePath, job_id: str, max_failures: int) -> None:
        self.path = path
        self.job_id = job_id
        self.max_failures = max_failures
        self.folder = path.parent / f".{path.name}.parts"
        self.progress = self.folder / "progress.json"

    def _part(self, page_index: int) -> ObjectStoragePath:
        return self.folder / f"page-{page_index:04d}.jsonl"

    def resume(self) -> tuple[ResultSummary, int | None]:
        """The summary of the pages read so far and the job's total pages (None: none read yet)."""
        try:
            state = json.loads(self.progress.read_text(encoding="utf-8"))
            if state["job_id"] == self.job_id and all(
                self._part(i).exists() for i in range(1, int(state["summary"]["pages"]) + 1)
            ):
                return ResultSummary.from_state(state["summary"], self.max_failures), int(
                    state["total_pages"]
                )
        except (OSError, ValueError, KeyError, TypeError):
            pass
        self.discard()
        return ResultSummary(self.job_id, self.max_failures), None

    def write(
        self, page_index: int, rows: list[dict[str, Any]], summary: ResultSummary, total_pages: int
    ) -> None:
        """Write one page's rows, then the progress that counts it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._part(page_index).open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, separators=(",", ":"), default=str) + "\n")
        progress = {"job_id": self.job_id, "total_pages": total_pages, "summary": summary.state()}
        self.progress.write_text(json.dumps(progress, default=str), encoding="utf-8")

    def join(self, total_pages: int) -> None:
        """Write the output from pages 1..total_pages in order, then remove the parts."""
        try:
            with self.path.open("w", encoding="utf-8") as out:
                for page_index in range(1, total_pages + 1):
                    with self._part(page_index).open("r", encoding="utf-8") as part:
                        for line in part:
                            out.write(line)
        except BaseException:
            self.path.unlink(missing_ok=True)
            raise
        self.discard()

    def discard(self) -> None:
        """Remove the parts (an object store has no folder to remove; a file system does)."""
        if not self.folder.exists():
            return
        for part in self.folder.iterdir():
            part.unlink(missing_ok=True)
        try:
            self.folder.rmdir()
        except (OSError, NotImplementedError):
            pass


class ResultSummary:
    """Counts over result pages for XCom: records, succeeded, failed, failures by code, the
    first failures and the job-level errors."""

    def __init__(self, job_id: str, max_failures: int) -> None:
        self.job_id = job_id
        self.max_failures = max_failures
        self.pages = 0
        self.records = 0
        self.failed = 0
        self.result_type: str | None = None
        self.total_records: int | None = None
        self.by_code: Counter[str] = Counter()
        self.record_types: Counter[str] = Counter()
        """Records per record type as the results name it (baseRef type or record's type)."""
        self.first_failures: list[dict[str, Any]] = []
        self.job_errors: list[dict[str, Any]] = []

    def add(self, page: AsyncResultPage) -> None:
        self.pages += 1
        self.result_type = page.result_type
        if page.total_records is not None:
            self.total_records = page.total_records
        if page.is_success is False and not self.job_errors:
            self.job_errors = [{"code": d.code, "message": d.message} for d in page.details]
        for record in page.records:
            self.records += 1
            name = record.base_ref.type if record.base_ref and record.base_ref.type else record.record_type
            if name:
                self.record_types[name] += 1
            if record.is_success:
                continue
            self.failed += 1
            code = record.failure_codes[0]
            self.by_code[code] += 1
            if len(self.first_failures) < self.max_failures:
                ref = record.base_ref
                detail = next((d for d in record.details if d.type == "ERROR"), None)
                self.first_failures.append(
                    {
                        "internal_id": ref.internal_id if ref else None,
                        "external_id": ref.external_id if ref else None,
                        "type": ref.type if ref else None,
                        "code": code,
                        "message": detail.message if detail else None,
                    }
                )

    def state(self) -> dict[str, Any]:
        """Plain values from which ``from_state`` rebuilds this summary (for a resumed read)."""
        return {**self.to_dict(), "total_records": self.total_records, "by_code": dict(self.by_code)}

    @classmethod
    def from_state(cls, state: Mapping[str, Any], max_failures: int) -> ResultSummary:
        summary = cls(str(state["job_id"]), max_failures)
        summary.pages = int(state["pages"])
        summary.records = int(state["records"])
        summary.failed = int(state["failed"])
        summary.result_type = state.get("result_type")
        summary.total_records = state.get("total_records")
        summary.by_code = Counter({str(k): int(v) for k, v in (state.get("by_code") or {}).items()})
        summary.first_failures = list(state.get("first_failures") or [])[:max_failures]
        summary.job_errors = list(state.get("job_errors") or [])
        return summary

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "result_type": self.result_type,
            "pages": self.pages,
            "records": self.records,
            "succeeded": self.records - self.failed,
            "failed": self.failed,
            "failures_by_code": dict(self.by_code.most_common()),
            "first_failures": self.first_failures,
            "job_errors": self.job_errors,
            "total_records": self.total_records if self.total_records is not None else self.records,
        }


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", part)
