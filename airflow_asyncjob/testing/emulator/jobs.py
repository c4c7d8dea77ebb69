"""The state of the emulated account: async jobs, their timelines and per-record results, and
getAsyncResult call counts. No HTTP, no XML (the backend in moto's split); faults are raised as
``EmulatedFault`` for the protocol layer to render. The tokenPassport check is in ``auth``.

Sources: Help Center "Asynchronous Request Processing", "checkAsyncStatus", "getAsyncResult",
"SOAP Web Services Governance Overview" (record limits, 20 getAsyncResult calls per job);
schema types ``platformCore:AsyncStatusResult``, ``platformMsgs:WriteResponse`` / ``ReadResponse``
and ``platformCore:SearchResult``.

REST async jobs (``api="rest"``, Help Center "Asynchronous Request Processing" of REST web
services) live in the same store on the same timelines: one task per record, each task's outcome
decided by the same submit rules; ``rest_job`` gives their view (``RestJobView``).

Time is read from an injectable ``clock`` (Unix seconds, float) so tests can step it.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from airflow_asyncjob.netsuite import records
from airflow_asyncjob.netsuite.endpoints import AccountId, normalize_account_id
from airflow_asyncjob.netsuite.models import MAX_ASYNC_RESULT_CALLS, AsyncJobStatus, AsyncStatus
from airflow_asyncjob.testing.emulator import exceptions

Clock = Callable[[], float]

RESULT_TYPES = {
    "asyncAddList": "AsyncAddListResult",
    "asyncUpdateList": "AsyncUpdateListResult",
    "asyncUpsertList": "AsyncUpsertListResult",
    "asyncDeleteList": "AsyncDeleteListResult",
    "asyncGetList": "AsyncGetListResult",
    "asyncInitializeList": "AsyncInitializeListResult",
    "asyncSearch": "AsyncSearchResult",
}
"""Submit operation -> the concrete ``platformMsgs:AsyncResult`` type getAsyncResult answers with."""

RECORD_LIMITS = records.RECORD_LIMITS
"""Records per async request (Governance Overview); more get MAX_RCRDS_EXCEEDED."""

ASSIGNS_INTERNAL_IDS = frozenset({"asyncAddList", "asyncUpsertList"})
DEFAULT_PAGE_SIZE = 1000
APIS = ("soap", "rest")
REST_OPERATIONS = {
    "add": "asyncAddList",
    "update": "asyncUpdateList",
    "upsert": "asyncUpsertList",
    "delete": "asyncDeleteList",
}
"""A REST record request's operation -> the SOAP operation whose rules and result type it shares
(a submit rule's ``operation`` filter names the SOAP operation for both)."""
REST_BATCH_LIMIT = 100
"""Records per REST batch request (Help Center article_0127092747.html)."""


@dataclass(frozen=True)
class Timeline:
    """How long a job spends in each non-terminal status, in seconds (floats allowed).

    pending for ``pending_seconds``, then ``retry`` for ``retry_seconds`` (skipped when 0: the job
    was picked up, hit a transient problem and waits to run again), then processing for
    ``processing_seconds`` with percentCompleted rising linearly from 0 to 100, then terminal.
    """

    pending_seconds: float = 0.5
    processing_seconds: float = 2.0
    retry_seconds: float = 0.0

    def __post_init__(self) -> None:
        if min(self.pending_seconds, self.processing_seconds, self.retry_seconds) < 0:
            raise ValueError(f"timeline durations must be >= 0 seconds: {self}")


@dataclass(frozen=True)
class RecordRef:
    """A record a request names: ``internalId``/``externalId`` and its record type
    (``type`` of a RecordRef, or the lowerCamel ``xsi:type`` of a record, e.g. ``customer``)."""

    internal_id: str | None = None
    external_id: str | None = None
    record_type: str | None = None


@dataclass(frozen=True)
class RecordResult:
    """One record's outcome: a WriteResponse (add/update/upsert/delete) or ReadResponse (get/initialize).

    A failed record carries NetSuite's status detail ``code`` (StatusDetailCodeType, e.g.
    DUP_ENTITY) and ``message``.
    """

    external_id: str | None = None
    internal_id: str | None = None
    record_type: str | None = None
    success: bool = True
    code: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if not self.success and not (self.code and self.message):
            raise ValueError(f"a failed record needs a code and a message: {self}")


@dataclass(frozen=True)
class JobFailure:
    """Why a whole job failed: the list-level status detail getAsyncResult answers with."""

    code: str = "UNEXPECTED_ERROR"
    message: str = exceptions.WELL_KNOWN_FAULTS["UNEXPECTED_ERROR"][1]


@dataclass(frozen=True)
class JobSpec:
    """A job to create.

    Attributes:
        operation: the submit operation (a key of RESULT_TYPES), which fixes the result type.
        job_id: fixed id, or None for a generated one in NetSuite's format.
        timeline: seconds spent pending / retry / processing.
        records: per-record results (list operations); ignored for asyncSearch.
        failure: makes the job end ``failed`` with this list-level detail.
        status: the expected final status; checked against ``records`` and ``failure``.
        page_size: asyncSearch only: records per getAsyncResult page (the searchResult pageSize).
            List results carry no totalPages on the wire (WriteResponseList, ReadResponseList),
            so a list job answers all its records on page 1.
        total_records: asyncSearch only: the search's totalRecords.
        search_id: asyncSearch only: the searchId (generated when None).
        search_record_type: asyncSearch only: the RecordType of the records found (e.g.
            ``customer``); each page then lists its records (internalId 1..totalRecords). None:
            pages carry the counts only.
        start_on_first_request: the timeline starts at the first checkAsyncStatus or
            getAsyncResult for the job instead of at creation (for ids a DAG run uses later).
        api: ``"soap"`` (checkAsyncStatus / getAsyncResult) or ``"rest"`` (a REST async job: one
            task per record, read through ``rest_job``; generated ids are decimal, as in Oracle's
            examples). A job is visible to its own API only.
    """

    operation: str = "asyncUpsertList"
    job_id: str | None = None
    timeline: Timeline = field(default_factory=Timeline)
    records: tuple[RecordResult, ...] = ()
    failure: JobFailure | None = None
    status: AsyncStatus | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    total_records: int = 0
    search_id: str | None = None
    start_on_first_request: bool = False
    search_record_type: str | None = None
    api: str = "soap"

    def __post_init__(self) -> None:
        if self.api not in APIS:
            raise ValueError(f"api must be one of {', '.join(APIS)}, not {self.api!r}")
        if self.api == "rest" and self.operation not in REST_OPERATIONS.values():
            raise ValueError(
                f"a REST job's operation is one of {', '.join(REST_OPERATIONS.values())}, "
                f"not {self.operation!r}"
            )
        if self.operation not in RESULT_TYPES:
            raise ValueError(f"operation {self.operation!r} is not one of {', '.join(RESULT_TYPES)}")
        if self.page_size < 1 or self.total_records < 0:
            raise ValueError("page_size must be >= 1 and total_records >= 0")
        object.__setattr__(self, "records", tuple(self.records))
        if self.operation == "asyncSearch" and self.records:
            raise ValueError("an asyncSearch job has no per-record results: set total_records instead")
        if self.status is not None:
            object.__setattr__(self, "status", AsyncStatus(self.status))
            if self.status != self.final_status:
                raise ValueError(
                    f"status {self.status.value!r} contradicts the job's records and failure, which "
                    f"make it {self.final_status.value!r}: finished = every record succeeded, "
                    "finishedWithErrors = a record failed, failed = a failure is given"
                )

    @property
    def final_status(self) -> AsyncStatus:
        """failed with a failure; finishedWithErrors when a record failed (a job whose records all
        failed still processed them, Help Center "checkAsyncStatus"); finished otherwise."""
        if self.failure is not None:
            return AsyncStatus.FAILED
        if any(not r.success for r in self.records):
            return AsyncStatus.FINISHED_WITH_ERRORS
        return AsyncStatus.FINISHED

    @property
    def result_type(self) -> str:
        return RESULT_TYPES[self.operation]


@dataclass(frozen=True)
class SubmitRule:
    """Makes records a client submits fail, or their whole job.

    A rule matches a record when every filter given matches (``external_ids``: one of these
    externalIds exactly, ``external_id_prefix``, ``record_type``, ``operation``).
    ``fails="record"``: the record fails with ``code`` and
    ``message``; ``fails="job"``: the job ends ``failed`` when any record matches (or, without
    record filters, for every job of ``operation``). The first matching rule wins.
    """

    code: str
    message: str
    external_id_prefix: str | None = None
    record_type: str | None = None
    operation: str | None = None
    fails: str = "record"
    external_ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.fails not in ("record", "job"):
            raise ValueError(f"fails must be 'record' or 'job', not {self.fails!r}")
        if self.external_ids is not None:
            if isinstance(self.external_ids, str):
                raise ValueError("external_ids must be a list of externalIds, not a string")
            object.__setattr__(self, "external_ids", tuple(self.external_ids))

    def matches(self, operation: str, ref: RecordRef | None) -> bool:
        if self.operation is not None and self.operation != operation:
            return False
        if ref is None:
            return self.external_id_prefix is None and self.record_type is None and self.external_ids is None
        if self.external_ids is not None and ref.external_id not in self.external_ids:
            return False
        if self.external_id_prefix is not None and not (ref.external_id or "").startswith(
            self.external_id_prefix
        ):
            return False
        return self.record_type is None or self.record_type == ref.record_type


@dataclass(frozen=True)
class SubmitDefaults:
    """What a job submitted through SOAP gets: its timeline, page size and, for asyncSearch,
    its totalRecords."""

    timeline: Timeline = field(default_factory=Timeline)
    page_size: int = DEFAULT_PAGE_SIZE
    search_total_records: int = 0


@dataclass(frozen=True)
class ResultPage:
    """One getAsyncResult page of a terminal job.

    ``records``: a list job's records (all on page 1), or a search page's hits (internalId and
    record type); ``failure`` is the list-level detail of a failed job;
    ``total_records``/``page_size``/``total_pages``/``search_id`` are the search paging fields
    (for a list job: its record count, in one page).
    """

    job_id: str
    result_type: str
    page_index: int
    total_pages: int
    total_records: int
    page_size: int
    records: tuple[RecordResult, ...]
    failure: JobFailure | None
    search_id: str | None


@dataclass(frozen=True)
class RestTaskView:
    """One task of a REST job as of now: ``progress`` is ``pending`` | ``processing`` |
    ``succeeded`` | ``failed``; ``start_time``/``end_time`` Unix seconds (None before it started /
    ended); ``record`` its record's outcome (a failed one when the whole job failed by a rule)."""

    task_id: str
    progress: str
    start_time: float | None
    end_time: float | None
    record: RecordResult

    @property
    def completed(self) -> bool:
        return self.progress in ("succeeded", "failed")


@dataclass(frozen=True)
class RestJobView:
    """A REST job as of now. ``progress``: ``pending`` (also while a timeline's retry lasts: REST
    reports no retry), ``processing``, then ``succeeded`` when every task succeeded, else ``failed``
    (the job-level value for a job with failed tasks is UNVERIFIED: Oracle shows only ``pending``
    and a task's ``succeeded``; clients must judge by the tasks)."""

    job_id: str
    progress: str
    completed: bool
    tasks: tuple[RestTaskView, ...]


@dataclass
class _Job:
    spec: JobSpec
    started_at: float | None
    result_calls: int = 0


def _new_id(prefix: str, account: AccountId, now: float) -> str:
    """An id in NetSuite's shape: prefix, account, MMDDYYYYHHMMSS plus 13 digits, 8 hex digits
    (``ASYNCWEBSERVICES_563214_053120061943428686160042948_4bee0685``)."""
    stamp = datetime.fromtimestamp(now, tz=timezone.utc).strftime("%m%d%Y%H%M%S")
    digits = "".join(secrets.choice("0123456789") for _ in range(13))
    return f"{prefix}_{account.passport}_{stamp}{digits}_{secrets.token_hex(4)}"


class JobStore:
    """The account's async jobs. Thread-safe.

    Args:
        account_id: used in generated job and search ids.
        clock: Unix seconds.
        submit_defaults, submit_rules: for jobs created by submit operations.
        preset_jobs: created now and again on ``reset()`` (a scenario's fixed-id jobs).
    """

    def __init__(
        self,
        *,
        account_id: str = "1234567_SB1",
        clock: Clock = time.time,
        submit_defaults: SubmitDefaults | None = None,
        submit_rules: Iterable[SubmitRule] = (),
        preset_jobs: Iterable[JobSpec] = (),
    ) -> None:
        self.account: AccountId = normalize_account_id(account_id)
        self.clock = clock
        self.submit_defaults = submit_defaults or SubmitDefaults()
        self.submit_rules = tuple(submit_rules)
        self._preset_jobs = tuple(preset_jobs)
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget every job and call count; re-create the preset jobs with fresh timelines."""
        with self._lock:
            self._jobs: dict[str, _Job] = {}
            self._next_internal_id = 1001
            self._idempotency_keys: dict[str, str] = {}
            for spec in self._preset_jobs:
                self.create_job(spec)

    def job_ids(self) -> list[str]:
        with self._lock:
            return list(self._jobs)

    def create_job(self, spec: JobSpec) -> str:
        """Add a job; returns its id. Raises ValueError for an id already in use."""
        with self._lock:
            now = self.clock()
            job_id = spec.job_id or self._generated_id(spec.api, now)
            if job_id in self._jobs:
                raise ValueError(f"job id {job_id!r} is already in use")
            search_id = spec.search_id
            if spec.operation == "asyncSearch" and search_id is None:
                search_id = _new_id("WEBSERVICES", self.account, now)
            spec = replace(spec, job_id=job_id, search_id=search_id)
            self._jobs[job_id] = _Job(spec, started_at=None if spec.start_on_first_request else now)
            return job_id

    def _generated_id(self, api: str, now: float) -> str:
        if api == "soap":
            return _new_id("ASYNCWEBSERVICES", self.account, now)
        # Decimal like Oracle's examples ("123456"); random so ids differ across emulator runs.
        while (job_id := str(secrets.randbelow(9_000_000) + 1_000_000)) in self._jobs:
            pass
        return job_id

    def submit(
        self, operation: str, refs: Sequence[RecordRef], search_record_type: str | None = None
    ) -> AsyncJobStatus:
        """Create a job for a submit operation's records, applying the submit rules.

        Successful records of asyncAddList/asyncUpsertList without an internalId get one.
        ``search_record_type``: asyncSearch only, the RecordType searched (see JobSpec).
        Returns the new job's status (pending).

        Raises:
            EmulatedFault: MAX_RCRDS_EXCEEDED when ``refs`` is over the operation's limit.
        """
        limit = RECORD_LIMITS.get(operation)
        if limit is not None and len(refs) > limit:
            raise exceptions.record_count_exceeded(operation, len(refs), limit)
        job_rule = next(
            (
                rule
                for rule in self.submit_rules
                if rule.fails == "job" and any(rule.matches(operation, ref) for ref in (*refs, None))
            ),
            None,
        )
        with self._lock:
            records = tuple(self._outcome(operation, ref) for ref in refs)
            defaults = self.submit_defaults
            job_id = self.create_job(
                JobSpec(
                    operation=operation,
                    timeline=defaults.timeline,
                    records=records,
                    failure=JobFailure(job_rule.code, job_rule.message) if job_rule else None,
                    page_size=defaults.page_size,
                    total_records=defaults.search_total_records if operation == "asyncSearch" else 0,
                    search_record_type=search_record_type if operation == "asyncSearch" else None,
                )
            )
            return self.check_status(job_id)

    def _outcome(self, operation: str, ref: RecordRef) -> RecordResult:
        rule = next((r for r in self.submit_rules if r.fails == "record" and r.matches(operation, ref)), None)
        if rule is not None:
            return RecordResult(
                ref.external_id, ref.internal_id, ref.record_type, False, rule.code, rule.message
            )
        if operation == "asyncInitializeList":  # a new, unsaved record: it has no ids yet
            return RecordResult(record_type=ref.record_type)
        internal_id = ref.internal_id
        if internal_id is None and operation in ASSIGNS_INTERNAL_IDS:
            internal_id = str(self._next_internal_id)
            self._next_internal_id += 1
        return RecordResult(ref.external_id, internal_id, ref.record_type)

    def submit_rest(
        self, operation: str, refs: Sequence[RecordRef], idempotency_key: str | None = None
    ) -> tuple[str, bool]:
        """Create a REST job for a record or batch request (``operation`` a key of
        REST_OPERATIONS), one task per record, outcomes by the submit rules as on the SOAP side.

        ``idempotency_key``: a key seen before returns the earlier job instead (Help Center
        subsect_164494900632.html); keys are kept until ``reset()`` (NetSuite's retention is
        UNVERIFIED). Returns ``(job_id, replayed)``.

        Raises:
            ValueError: an unknown operation, no record, or more than REST_BATCH_LIMIT records
                (the protocol layer checks these first and answers NetSuite's error).
        """
        soap_operation = REST_OPERATIONS.get(operation)
        if soap_operation is None:
            raise ValueError(f"operation {operation!r} is not one of {', '.join(REST_OPERATIONS)}")
        if not 1 <= len(refs) <= REST_BATCH_LIMIT:
            raise ValueError(f"a REST request has 1..{REST_BATCH_LIMIT} records, not {len(refs)}")
        job_rule = next(
            (
                rule
                for rule in self.submit_rules
                if rule.fails == "job" and any(rule.matches(soap_operation, ref) for ref in (*refs, None))
            ),
            None,
        )
        with self._lock:
            if idempotency_key is not None and idempotency_key in self._idempotency_keys:
                return self._idempotency_keys[idempotency_key], True
            job_id = self.create_job(
                JobSpec(
                    operation=soap_operation,
                    timeline=self.submit_defaults.timeline,
                    records=tuple(self._outcome(soap_operation, ref) for ref in refs),
                    failure=JobFailure(job_rule.code, job_rule.message) if job_rule else None,
                    api="rest",
                )
            )
            if idempotency_key is not None:
                self._idempotency_keys[idempotency_key] = job_id
            return job_id, False

    def rest_job(self, job_id: str) -> RestJobView:
        """A REST job and its tasks as of now. Task i (0-based) of n runs during the i-th n-th of
        the job's processing time, so tasks complete one after another.

        Raises:
            EmulatedFault: INVALID_JOB_ID for an unknown id or a SOAP job's (the REST layer
                answers 404 NONEXISTENT_ID).
        """
        with self._lock:
            job = self._job(job_id, api="rest")
            spec, timeline = job.spec, job.spec.timeline
            now = self.clock()
            begins = (job.started_at or 0.0) + timeline.pending_seconds + timeline.retry_seconds
            count = len(spec.records)
            tasks = []
            for index, record in enumerate(spec.records):
                if spec.failure is not None:
                    record = replace(
                        record, success=False, code=spec.failure.code, message=spec.failure.message
                    )
                start = begins + timeline.processing_seconds * index / count
                end = begins + timeline.processing_seconds * (index + 1) / count
                if now < start:
                    progress, start_time, end_time = "pending", None, None
                elif now < end:
                    progress, start_time, end_time = "processing", start, None
                else:
                    progress = "succeeded" if record.success else "failed"
                    start_time, end_time = start, end
                tasks.append(RestTaskView(str(index + 1), progress, start_time, end_time, record))
            if now < begins:
                job_progress, completed = "pending", False
            elif now < begins + timeline.processing_seconds:
                job_progress, completed = "processing", False
            else:
                completed = True
                job_progress = "succeeded" if all(t.record.success for t in tasks) else "failed"
            return RestJobView(job_id, job_progress, completed, tuple(tasks))

    def check_status(self, job_id: str) -> AsyncJobStatus:
        """checkAsyncStatus. Raises EmulatedFault INVALID_JOB_ID for an unknown id."""
        with self._lock:
            return self._status(self._job(job_id))

    def get_result(self, job_id: str, page_index: int) -> ResultPage:
        """getAsyncResult: one page of a terminal job's results.

        Every call counts towards the job's MAX_ASYNC_RESULT_CALLS (20); later ones answer INVALID_JOB_ID, as
        NetSuite does (Governance Overview).

        Raises:
            EmulatedFault: INVALID_JOB_ID (unknown id, over 20 calls), JOB_NOT_COMPLETE,
                INVALID_PAGE_INDEX (outside 1..totalPages).
        """
        with self._lock:
            job = self._job(job_id)
            job.result_calls += 1
            if job.result_calls > MAX_ASYNC_RESULT_CALLS:
                raise exceptions.invalid_job_id(job_id)
            status = self._status(job).status
            if not status.is_terminal:
                raise exceptions.job_not_complete(job_id, status.value)
            spec = job.spec
            search = spec.operation == "asyncSearch"
            total_records = spec.total_records if search else len(spec.records)
            page_size = spec.page_size if search else max(1, total_records)
            total_pages = max(1, math.ceil(total_records / page_size))
            if not 1 <= page_index <= total_pages:
                raise exceptions.invalid_page_index(page_index, total_pages)
            start = (page_index - 1) * page_size
            if search:
                hits = range(start + 1, min(start + page_size, total_records) + 1)
                page_records = tuple(
                    RecordResult(internal_id=str(n), record_type=spec.search_record_type)
                    for n in (hits if spec.search_record_type and spec.failure is None else ())
                )
            else:
                page_records = spec.records
            return ResultPage(
                job_id=job_id,
                result_type=spec.result_type,
                page_index=page_index,
                total_pages=total_pages,
                total_records=total_records,
                page_size=page_size,
                records=page_records,
                failure=spec.failure,
                search_id=spec.search_id,
            )

    def result_calls(self, job_id: str) -> int:
        """How many getAsyncResult calls the job has had."""
        with self._lock:
            return self._job(job_id).result_calls

    def _job(self, job_id: str, api: str = "soap") -> _Job:
        job = self._jobs.get(job_id)
        if job is None or job.spec.api != api:
            raise exceptions.invalid_job_id(job_id)
        if job.started_at is None:
            job.started_at = self.clock()
        return job

    def _status(self, job: _Job) -> AsyncJobStatus:
        timeline, job_id = job.spec.timeline, job.spec.job_id or ""
        elapsed = self.clock() - (job.started_at or 0.0)
        # NetSuite's documented pending answer reports 0.0 for both numbers: no estimate yet.
        if elapsed < timeline.pending_seconds:
            return AsyncJobStatus(job_id, AsyncStatus.PENDING, 0.0, 0.0)
        elapsed -= timeline.pending_seconds
        if elapsed < timeline.retry_seconds:
            return AsyncJobStatus(job_id, AsyncStatus.RETRY, 0.0, 0.0)
        elapsed -= timeline.retry_seconds
        if elapsed < timeline.processing_seconds:
            return AsyncJobStatus(
                job_id,
                AsyncStatus.PROCESSING,
                round(100.0 * elapsed / timeline.processing_seconds, 2),
                round(timeline.processing_seconds - elapsed, 3),
            )
        return AsyncJobStatus(job_id, job.spec.final_status, 100.0, 0.0)
