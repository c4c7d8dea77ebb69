"""Submit NetSuite async jobs and read their results: AsyncJobSubmitOperator, GetAsyncResultOperator.

A batch integration submits records (AsyncJobSubmitOperator), waits for the job
(AsyncJobStatusSensor, which can branch on finishedWithErrors) and reads exactly which records
failed and why (GetAsyncResultOperator): every result page once, typed per-record results as
JSON lines in object storage, and a summary in XCom.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, ObjectStoragePath, Variable
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.links.async_job import AsyncJobLink
from airflow_asyncjob.netsuite.faults import (
    ConfigurationError,
    InvalidJobIdError,
    NetSuiteError,
    SubmitOutcomeUnknownError,
)
from airflow_asyncjob.netsuite.models import AsyncResultPage
from airflow_asyncjob.netsuite.records import RECORD_LIMITS, SUBMIT_OPERATIONS, RecordCountError, chunked
from airflow_asyncjob.ui import journal  # the NetSuite job tab's record of each job

if TYPE_CHECKING:
    from airflow.sdk import Context

MAX_RESULT_CALLS = 20
"""getAsyncResult calls NetSuite allows per job within 30 days (Governance Overview)."""
LEDGER_PREFIX = "netsuite_async_submit"
"""Prefix of the Airflow Variables in which submits record the job ids of their try chain."""


class AsyncJobSubmitOperator(BaseOperator):
    """Submit one NetSuite async job (or several, see ``split_over_limit``) and push its job id.

    Operations and what ``records`` holds (dicts in NetSuite's field names; shapes in
    ``airflow_asyncjob.netsuite.records``):

    - ``asyncAddList``, ``asyncUpdateList``, ``asyncUpsertList``: records, each with ``@type``
      (``customer``, ``salesOrder``) unless ``record_type`` gives it for all;
    - ``asyncDeleteList``, ``asyncGetList``: baseRefs, ``{"type": "customer", "internalId": "42"}``
      or with ``externalId``; ``deletion_reason`` (asyncDeleteList) is a DeletionReason dict;
    - ``asyncInitializeList``: initializeRecords, ``{"type": "salesOrder", "reference": {...}}``;
    - ``asyncSearch``: ``search_record``, one dict such as ``{"@type": "customerSearchBasic",
      "email": {"operator": "contains", "searchValue": "@example.com"}}``.

    Records come from ``records`` (a list, an XComArg such as ``extract.output``, or a templated
    JSON string) or from ``records_path`` (a JSON list, or JSON lines when it ends in ``.jsonl``
    or ``.ndjson``; any Airflow ObjectStoragePath URL or local path).

    Record limits per request (asyncAddList 400, asyncUpdateList 200, asyncUpsertList 200,
    asyncDeleteList 400, asyncGetList 2000; Governance Overview) are checked before sending.
    Over the limit the task fails without sending anything, unless ``split_over_limit=True``:
    then the records go out in consecutive jobs of at most the limit, in order.

    XCom: ``job_ids`` (a list) is pushed as soon as each job is created; the return value is
    the job id (a string), or the list of job ids with ``split_over_limit=True``.

    A retry never submits again what an earlier try of the same try chain submitted: each job
    id is written, before anything else happens, to an Airflow Variable named
    ``netsuite_async_submit:<dag_id>:<task_id>:<map_index>:<run_id>`` (Airflow clears a task's
    XCom when a new try starts, so XCom cannot carry it). A retry finds the ids there and
    submits only the jobs still missing. Clearing the task starts a new try chain, which
    submits again. A retry whose records differ from the earlier try's fails instead. The
    Variable holds job ids and a hash of the request, never records; it is left in place
    (deleting it is safe once the run is over).

    Failures: bad records, over the limit, or a permanent NetSuite error fail the task without
    retry; a submit sent without a usable answer (the job may exist) fails without retry too,
    saying what to check; a transient error that outlived the hook's retries fails the try, so
    the task's ``retries`` apply.

    Args:
        operation: one of the seven async submit operations.
        records: the records (not for asyncSearch): a list, an XComArg or a JSON string.
        records_path: or a file of them (JSON list or JSON lines; an ObjectStoragePath URL).
        search_record: asyncSearch's search record.
        record_type: record type for records without ``@type`` / baseRefs without ``type``.
        deletion_reason: asyncDeleteList only.
        split_over_limit: split over-limit records into several jobs instead of failing.
        netsuite_conn_id: the ``netsuite_soap`` connection.
    """

    template_fields: Sequence[str] = (
        "records",
        "records_path",
        "search_record",
        "record_type",
        "netsuite_conn_id",
    )
    template_fields_renderers = {"records": "json", "search_record": "json"}
    ui_color = "#f2e6d9"
    operator_extra_links = (AsyncJobLink(),)

    def __init__(
        self,
        *,
        operation: str,
        records: Any = None,
        records_path: str | None = None,
        search_record: Any = None,
        record_type: str | None = None,
        deletion_reason: Mapping[str, Any] | None = None,
        split_over_limit: bool = False,
        netsuite_conn_id: str = SoapAsyncJobHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        where = f"task {self.task_id!r}"
        if operation not in SUBMIT_OPERATIONS:
            raise ValueError(f"{where}: operation={operation!r} is none of {', '.join(SUBMIT_OPERATIONS)}.")
        if operation == "asyncSearch":
            if search_record is None or records is not None or records_path is not None:
                raise ValueError(f"{where}: asyncSearch takes search_record (one dict), not records.")
        elif (records is None) == (records_path is None) or search_record is not None:
            raise ValueError(f"{where}: {operation} takes either records or records_path.")
        if deletion_reason is not None and operation != "asyncDeleteList":
            raise ValueError(f"{where}: deletion_reason is for asyncDeleteList only.")
        self.operation = operation
        self.records = records
        self.records_path = records_path
        self.search_record = search_record
        self.record_type = record_type
        self.deletion_reason = deletion_reason
        self.split_over_limit = split_over_limit
        self.netsuite_conn_id = netsuite_conn_id

    @cached_property
    def hook(self) -> SoapAsyncJobHook:
        return SoapAsyncJobHook(netsuite_conn_id=self.netsuite_conn_id)

    def execute(self, context: Context) -> str | list[str]:
        batches = self._batches(self._items())
        ledger = SubmitLedger(context, self)
        fingerprint = self._fingerprint(batches)
        job_ids = ledger.submitted(fingerprint)
        if job_ids:
            self.log.info(
                "Try %s of this try chain already submitted job(s) %s: not submitting them again.",
                ledger.recorded_try,
                ", ".join(job_ids),
            )
        for index in range(len(job_ids), len(batches)):
            job_id = self._submit(batches[index], index, len(batches))
            job_ids.append(job_id)
            ledger.record(job_ids, fingerprint)
            context["ti"].xcom_push(key="job_ids", value=list(job_ids))
        return list(job_ids) if self.split_over_limit else job_ids[0]

    def _submit(self, batch: Any, index: int, count: int) -> str:
        try:
            status = self.hook.submit(
                self.operation,
                batch,
                record_type=self.record_type,
                deletion_reason=dict(self.deletion_reason) if self.deletion_reason else None,
            )
        except (ConfigurationError, SubmitOutcomeUnknownError) as error:
            raise AirflowFailException(str(error)) from error
        except NetSuiteError as error:
            if error.transient:
                raise
            raise AirflowFailException(str(error)) from error
        size = "" if self.operation == "asyncSearch" else f" with {len(batch)} records"
        part = f" (job {index + 1} of {count})" if count > 1 else ""
        self.log.info("Submitted %s%s%s: NetSuite async %s", self.operation, size, part, status.describe())
        return status.job_id

    def _items(self) -> Any:
        if self.operation == "asyncSearch":
            search = _json_value(self.search_record, "search_record")
            if not isinstance(search, Mapping):
                raise AirflowFailException(f"search_record must be one dict, got {type(search).__name__}.")
            return search
        if self.records_path is not None:
            items = _read_records(self.records_path)
        else:
            items = _json_value(self.records, "records")
        if isinstance(items, Mapping) or not isinstance(items, Sequence) or isinstance(items, str):
            raise AirflowFailException(
                f"{self.operation} takes a list of dicts; records are a {type(items).__name__}."
            )
        if not items:
            raise AirflowFailException(f"{self.operation}: there are no records to submit.")
        return list(items)

    def _batches(self, items: Any) -> list[Any]:
        if self.operation == "asyncSearch":
            return [items]
        limit = RECORD_LIMITS.get(self.operation)
        if limit is None or len(items) <= limit:
            return [items]
        if not self.split_over_limit:
            error = RecordCountError(self.operation, len(items), limit)
            raise AirflowFailException(f"{error} Nothing was sent.")
        return chunked(items, limit)

    def _fingerprint(self, batches: list[Any]) -> str:
        request = {
            "operation": self.operation,
            "batches": batches,
            "record_type": self.record_type,
            "deletion_reason": self.deletion_reason,
        }
        text = json.dumps(request, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


class SubmitLedger:
    """The job ids a submit task created in its current try chain, kept in an Airflow Variable.

    A try chain is the tries between two clears of the task: its first try number is
    ``max_tries - retries + 1``, as Airflow computes it (``TaskInstance.get_first_reschedule_date``).
    """

    def __init__(self, context: Context, task: BaseOperator) -> None:
        ti = context["ti"]
        self.try_number = int(ti.try_number)
        self.chain = int(ti.max_tries) - int(task.retries or 0) + 1
        map_index = getattr(ti, "map_index", -1)
        map_index = -1 if map_index is None else map_index
        key = f"{LEDGER_PREFIX}:{ti.dag_id}:{ti.task_id}:{map_index}:{ti.run_id}"
        if len(key) > 250:  # the Variable key column's length
            digest = hashlib.sha256(key.encode()).hexdigest()[:40]
            key = f"{LEDGER_PREFIX}:{ti.dag_id[:80]}:{ti.task_id[:80]}:{digest}"
        self.key = key
        self.recorded_try: int | None = None

    def submitted(self, fingerprint: str) -> list[str]:
        """Job ids an earlier try of this chain created for the same request ([] when none).

        Raises:
            AirflowFailException: an earlier try of this chain submitted a different request.
        """
        entry = Variable.get(self.key, default=None, deserialize_json=True)
        if not isinstance(entry, Mapping) or entry.get("chain") != self.chain:
            return []
        job_ids = [str(j) for j in entry.get("job_ids") or []]
        if job_ids and entry.get("fingerprint") != fingerprint:
            raise AirflowFailException(
                f"try {entry.get('try_number')} of this task already submitted job(s) {', '.join(job_ids)} "
                "for different records. Not submitting again: clear the task to submit these records "
                "as new jobs."
            )
        self.recorded_try = entry.get("try_number")
        return job_ids

    def record(self, job_ids: list[str], fingerprint: str) -> None:
        """Write the job ids (before anything else happens), or fail without retry, naming them."""
        entry = {
            "chain": self.chain,
            "try_number": self.try_number,
            "fingerprint": fingerprint,
            "job_ids": list(job_ids),
        }
        try:
            Variable.set(
                self.key,
                entry,
                description="Job ids of a NetSuite async submit (airflow-provider-asyncjob), "
                "so that its retries do not submit again. Safe to delete once the run is over.",
                serialize_json=True,
            )
        except Exception as error:
            raise AirflowFailException(
                f"NetSuite created job(s) {', '.join(job_ids)}, but they could not be recorded for "
                f"retries ({type(error).__name__}: {error}); failing without retry so that they are "
                "not submitted twice."
            ) from error


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

    Failures: a page that cannot be read fails the task (the partial file is removed);
    INVALID_JOB_ID fails without retry, saying whether the job is unknown or purged (30 days)
    or has used its 20 getAsyncResult calls.

    Args:
        job_id: NetSuite's job id (templated, e.g. ``"{{ ti.xcom_pull(task_ids='submit') }}"``).
        output_path: where the JSON lines go (templated).
        max_failures_in_summary: how many failed records the summary quotes.
        netsuite_conn_id: the ``netsuite_soap`` connection.
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_failures_in_summary < 0:
            raise ValueError(f"task {self.task_id!r}: max_failures_in_summary must be >= 0.")
        self.job_id = job_id
        self.output_path = output_path
        self.max_failures_in_summary = max_failures_in_summary
        self.netsuite_conn_id = netsuite_conn_id

    @cached_property
    def hook(self) -> SoapAsyncJobHook:
        return SoapAsyncJobHook(netsuite_conn_id=self.netsuite_conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        job_id = str(self.job_id or "").strip()
        self._check_finished(job_id)
        path = self._path(context, job_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        summary = ResultSummary(job_id, self.max_failures_in_summary)
        try:
            with path.open("w", encoding="utf-8") as out:
                page = self._page(job_id, 1)
                total_pages = page.total_pages or 1
                if total_pages > MAX_RESULT_CALLS:
                    raise AirflowFailException(
                        f"job {job_id} has {total_pages} result pages, but NetSuite allows "
                        f"{MAX_RESULT_CALLS} getAsyncResult calls per job: narrow the search or "
                        "raise its page size."
                    )
                while True:
                    for record in page.records:
                        row = {"job_id": job_id, "page_index": page.page_index, **record.to_dict()}
                        out.write(json.dumps(row, separators=(",", ":"), default=str) + "\n")
                    summary.add(page)
                    self.log.info(
                        "Read page %d of %d: %d records, %d failed.",
                        page.page_index,
                        total_pages,
                        len(page.records),
                        len(page.failed_records),
                    )
                    if summary.pages >= total_pages:
                        break
                    page = self._page(job_id, summary.pages + 1)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
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
        return result

    def _check_finished(self, job_id: str) -> None:
        try:
            status = self.hook.check_async_status(job_id)
        except InvalidJobIdError as error:
            raise AirflowFailException(
                f"NetSuite does not know job {job_id} (INVALID_JOB_ID from checkAsyncStatus): the id "
                "is wrong, or the job was purged (NetSuite keeps async jobs for 30 days)."
            ) from error
        except NetSuiteError as error:
            if error.transient:
                raise
            raise AirflowFailException(str(error)) from error
        if not status.status.is_terminal:
            raise AirflowException(
                f"NetSuite {status.describe()}: not finished, so no getAsyncResult call was spent on it. "
                "Wait for it with AsyncJobStatusSensor first."
            )

    def _page(self, job_id: str, page_index: int) -> AsyncResultPage:
        try:
            return self.hook.get_async_result(job_id, page_index)
        except InvalidJobIdError as error:
            seen = "page 1 was read moments ago" if page_index > 1 else "checkAsyncStatus found it just now"
            raise AirflowFailException(
                f"NetSuite answered {error.code} for page {page_index} of job {job_id}, which exists "
                f"({seen}): its {MAX_RESULT_CALLS} getAsyncResult calls within 30 days are used up. "
                "Read the results already written by an earlier run, or submit the job again."
            ) from error
        except NetSuiteError as error:
            if error.transient:
                raise
            raise AirflowFailException(f"page {page_index} of job {job_id}: {error}") from error

    def _path(self, context: Context, job_id: str) -> ObjectStoragePath:
        if self.output_path:
            return ObjectStoragePath(str(self.output_path))
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        task = ti.task_id + (f".{map_index}" if map_index is not None and map_index >= 0 else "")
        home = os.path.abspath(os.path.expanduser(os.environ.get("AIRFLOW_HOME", "~/airflow")))
        parts = [_safe(p) for p in (ti.dag_id, ti.run_id, task, f"{job_id}.jsonl")]
        return ObjectStoragePath(f"file://{os.path.join(home, 'netsuite_async_results', *parts)}")


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


def _json_value(value: Any, name: str) -> Any:
    """A templated JSON string -> its value; anything else as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise AirflowFailException(f"{name} is a string that is not JSON: {error}") from None
    return value


def _read_records(location: str) -> list[Any]:
    """Records from a JSON list or a JSON-lines file (``.jsonl``/``.ndjson``) at ``location``."""
    path = ObjectStoragePath(location)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise AirflowFailException(f"cannot read records_path {location!r}: {error}") from error
    try:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise AirflowFailException(f"records_path {location!r} is not valid JSON: {error}") from None
    if not isinstance(data, list):
        raise AirflowFailException(f"records_path {location!r} must hold a JSON list of records.")
    return data


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", part)
