"""Typed values of the async job protocol, parsed from zeep's objects.

Sources: 2023_2 schema types ``platformCore:AsyncStatusResult``, ``platformCoreTyp:AsyncStatusType``,
``platformMsgs:AsyncResult`` and its seven subtypes, ``WriteResponse``, ``ReadResponse``,
``platformCore:Status`` / ``StatusDetail`` / ``RecordRef`` / ``SearchResult``; Help Center
"checkAsyncStatus" and "getAsyncResult".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from airflow_asyncjob.netsuite.faults import SUBMIT_OUTCOME_HINT, NetSuiteResponseError, excerpt
from airflow_asyncjob.netsuite.records import record_to_dict


class AsyncStatus(str, Enum):
    """``AsyncStatusType``: the six values of the 2022_2..2025_2 schemas.

    ``retry`` is in the schema but not in Oracle's prose; it is treated as not terminal.
    """

    PENDING = "pending"
    PROCESSING = "processing"
    RETRY = "retry"
    FINISHED = "finished"
    FINISHED_WITH_ERRORS = "finishedWithErrors"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        """finished, finishedWithErrors and failed end a job; the others mean: poll again."""
        return self in _TERMINAL

    @classmethod
    def parse(cls, value: Any, *, job_id: str | None = None) -> AsyncStatus:
        """The status for NetSuite's text; NetSuiteResponseError naming any other value."""
        try:
            return cls(str(value).strip())
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise NetSuiteResponseError(
                f"NetSuite returned the async status {str(value)[:60]!r}, which is none of {allowed}.",
                operation="checkAsyncStatus",
                job_id=job_id,
                hint="Check that the connection's endpoint_version matches the account's endpoint.",
            ) from None

    def __str__(self) -> str:
        return self.value


_TERMINAL = frozenset({AsyncStatus.FINISHED, AsyncStatus.FINISHED_WITH_ERRORS, AsyncStatus.FAILED})

MAX_ASYNC_RESULT_CALLS = 20
"""getAsyncResult calls NetSuite answers per job (within the 30 days it keeps the job); later calls
get INVALID_JOB_ID (Help Center "SOAP Web Services Governance Overview", "getAsyncResult")."""


TASKS_UNREAD_TEXT = "task counts come when the job completes"
"""What the log line and the NetSuite job tab say for a running REST job polled without its tasks
(``AsyncJobStatus.tasks_unread``; the sensor's ``rest_task_progress=True`` counts them on every poll)."""


@dataclass(frozen=True)
class AsyncJobStatus:
    """One checkAsyncStatus answer.

    Attributes:
        job_id: NetSuite's opaque job id.
        status: the job's AsyncStatus.
        percent_completed: 0..100 percent (a value NetSuite sends outside is clamped).
        est_remaining_duration: NetSuite's estimate of the seconds left, >= 0 (a negative one
            is read as 0); ``math.inf`` when NetSuite sends no usable number (INF, NaN).
        tasks_completed: REST jobs only: how many of the job's tasks (one per record) are
            completed; None for SOAP jobs and for REST polls that did not read the tasks.
        tasks_total: REST jobs only: how many tasks the job has; None as ``tasks_completed``.
        tasks_unread: REST jobs only: True for a running job polled without reading its tasks
            (the sensor's default, ``rest_task_progress=False``): its task counts come on the
            poll that sees it completed, so ``percent_completed`` (0.0) and
            ``est_remaining_duration`` (0.0: REST gives no estimate) say nothing about progress.
    """

    job_id: str
    status: AsyncStatus
    percent_completed: float
    est_remaining_duration: float
    tasks_completed: int | None = None
    tasks_total: int | None = None
    tasks_unread: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready shape for XCom.

        ``{"job_id", "status", "percent_completed" (percent), "est_remaining_duration" (seconds,
        or None when unknown)}``, plus ``"tasks_completed"`` and ``"tasks_total"`` when set (REST),
        and ``"tasks_unread": True`` for a running REST job polled without its tasks.
        """
        data: dict[str, Any] = {
            "job_id": self.job_id,
            "status": self.status.value,
            "percent_completed": self.percent_completed,
            "est_remaining_duration": (
                self.est_remaining_duration if math.isfinite(self.est_remaining_duration) else None
            ),
        }
        if self.tasks_completed is not None:
            data["tasks_completed"] = self.tasks_completed
        if self.tasks_total is not None:
            data["tasks_total"] = self.tasks_total
        if self.tasks_unread:
            data["tasks_unread"] = True
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AsyncJobStatus:
        """Inverse of to_dict; a dict without the task counts (SOAP, or written by an earlier
        version) gives None for them."""
        return cls(
            job_id=str(data["job_id"]),
            status=AsyncStatus.parse(data["status"], job_id=data.get("job_id")),
            percent_completed=float(data["percent_completed"]),
            est_remaining_duration=(
                math.inf if data["est_remaining_duration"] is None else float(data["est_remaining_duration"])
            ),
            tasks_completed=_optional_count(data.get("tasks_completed")),
            tasks_total=_optional_count(data.get("tasks_total")),
            tasks_unread=data.get("tasks_unread") is True,
        )

    def describe(self) -> str:
        """One human line: status, percent completed, estimated seconds remaining, then the job id.

        ``job processing, 42.5% completed, about 12 s remaining (ASYNCWEBSERVICES_...)``: the
        job id comes last because it is long (about 70 characters) and the rest is what changes
        from one poll to the next, so that it stays on screen in a log viewer's line.

        A REST job with its task counts says them instead of a time estimate (REST gives none):
        ``job finishedWithErrors, 100.0% completed, 5 of 5 tasks completed (42)``; one polled
        without its tasks says when they come instead of a percent and an estimate it does not
        have: ``job processing, task counts come when the job completes (42)``. An estimate
        that is not a finite number, or 0.0 while the job has not ended (pending, processing,
        retry: NetSuite's "no estimate"; a negative one is read as 0.0), reads ``remaining time
        unknown``.
        """
        if self.tasks_unread:
            return f"job {self.status.value}, {TASKS_UNREAD_TEXT} ({self.job_id})"
        if self.tasks_total is not None:
            done = "?" if self.tasks_completed is None else self.tasks_completed
            return (
                f"job {self.status.value}, {self.percent_completed:.1f}% completed, "
                f"{done} of {self.tasks_total} tasks completed ({self.job_id})"
            )
        # 0.0 from a job still running is NetSuite's "no estimate" (its documented pending
        # answer), as adaptive polling reads it (polling.py), not "about 0 s remaining".
        estimate = self.est_remaining_duration
        known = math.isfinite(estimate) and (estimate > 0 or self.status.is_terminal)
        remaining = f"about {estimate:.0f} s remaining" if known else "remaining time unknown"
        return (
            f"job {self.status.value}, {self.percent_completed:.1f}% completed, {remaining} ({self.job_id})"
        )


def _optional_count(value: Any) -> int | None:
    """A task count from a to_dict shape: None stays None, anything else must be an integer >= 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) or int(value) < 0:
        raise ValueError(f"a task count must be an integer >= 0, got {str(value)[:40]!r}")
    return int(value)


@dataclass(frozen=True)
class StatusDetail:
    """``platformCore:StatusDetail``: type (ERROR, WARN, INFO), code, message, afterSubmitFailed."""

    type: str = "ERROR"
    code: str | None = None
    message: str | None = None
    after_submit_failed: bool | None = None


@dataclass(frozen=True)
class RecordRef:
    """``platformCore:RecordRef`` (or another BaseRef): internalId, externalId, type, name."""

    internal_id: str | None = None
    external_id: str | None = None
    type: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class RecordResult:
    """One record's outcome: a WriteResponse (add/update/upsert/delete) or a ReadResponse (get/initialize).

    ``is_success`` is False only where NetSuite says ``isSuccess="false"``.
    """

    is_success: bool
    details: tuple[StatusDetail, ...] = ()
    base_ref: RecordRef | None = None
    record_type: str | None = None
    """For a ReadResponse or a search hit: the returned record's schema type name (e.g. ``Customer``)."""
    record: dict[str, Any] | None = field(default=None, compare=False)
    """For a ReadResponse or a search hit: the record, JSON-ready (records.record_to_dict)."""

    @property
    def failure_codes(self) -> tuple[str, ...]:
        """The ERROR details' codes of a failed record (``"UNKNOWN"`` for a detail without one)."""
        if self.is_success:
            return ()
        return tuple(d.code or "UNKNOWN" for d in self.details if d.type == "ERROR") or ("UNKNOWN",)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"is_success", "status_details": [{"type", "code", "message",
        "after_submit_failed"}], "base_ref": {"internal_id", "external_id", "type", "name"} | None,
        "record_type", "record"}`` (the last two only when present)."""
        data: dict[str, Any] = {
            "is_success": self.is_success,
            "status_details": [
                {
                    "type": d.type,
                    "code": d.code,
                    "message": d.message,
                    "after_submit_failed": d.after_submit_failed,
                }
                for d in self.details
            ],
            "base_ref": None
            if self.base_ref is None
            else {
                "internal_id": self.base_ref.internal_id,
                "external_id": self.base_ref.external_id,
                "type": self.base_ref.type,
                "name": self.base_ref.name,
            },
        }
        if self.record_type is not None:
            data["record_type"] = self.record_type
        if self.record is not None:
            data["record"] = self.record
        return data


@dataclass(frozen=True)
class AsyncResultPage:
    """One getAsyncResult page.

    Attributes:
        result_type: the concrete AsyncResult type, e.g. ``AsyncUpsertListResult``.
        is_success: the list-level (or search-level) status, when NetSuite sends one.
        details: that status's details.
        page_index: the 1-based page (the search's own pageIndex for an AsyncSearchResult).
        records: per-record results; for a search, one successful result per record found
            (``recordList``) or row (``searchRowList``), with the record in ``record``.
        total_records, page_size, total_pages, search_id: search paging fields
            (``platformCore:SearchResult``); None for list operations.
    """

    job_id: str
    page_index: int
    result_type: str
    is_success: bool | None = None
    details: tuple[StatusDetail, ...] = ()
    records: tuple[RecordResult, ...] = ()
    total_records: int | None = None
    page_size: int | None = None
    total_pages: int | None = None
    search_id: str | None = None

    @property
    def failed_records(self) -> tuple[RecordResult, ...]:
        return tuple(r for r in self.records if not r.is_success)


# ---- parsing zeep objects -------------------------------------------------------------------


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    try:
        value = obj[name]
    except (KeyError, TypeError, AttributeError):
        value = getattr(obj, name, default)
    return default if value is None else value


def _float(value: Any, field_name: str, job_id: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise NetSuiteResponseError(
            f"{field_name} is {str(value)[:40]!r}, not a number.",
            operation="checkAsyncStatus",
            job_id=job_id,
        ) from None
    if math.isnan(number):
        raise NetSuiteResponseError(f"{field_name} is NaN.", operation="checkAsyncStatus", job_id=job_id)
    return number


def parse_async_status(result: Any, *, requested_job_id: str) -> AsyncJobStatus:
    """AsyncStatusResponse (zeep object, or its ``asyncStatusResult``) -> AsyncJobStatus.

    Raises:
        NetSuiteResponseError: a required element is missing, a number is not a number,
            or the status is outside AsyncStatusType.
    """
    inner = _get(result, "asyncStatusResult", result)
    if inner is None:
        raise NetSuiteResponseError(
            "the answer has no asyncStatusResult.", operation="checkAsyncStatus", job_id=requested_job_id
        )
    job_id = _get(inner, "jobId") or requested_job_id
    if requested_job_id and job_id != requested_job_id:
        raise NetSuiteResponseError(
            f"the answer is about job {str(job_id)[:80]!r}, not the job asked about.",
            operation="checkAsyncStatus",
            job_id=requested_job_id,
        )
    for name in ("status", "percentCompleted", "estRemainingDuration"):
        if _get(inner, name) is None:
            raise NetSuiteResponseError(
                f"asyncStatusResult has no {name}, or one that is not of its schema type.",
                operation="checkAsyncStatus",
                job_id=job_id,
            )
    return AsyncJobStatus(
        job_id=str(job_id),
        status=AsyncStatus.parse(_get(inner, "status"), job_id=job_id),
        percent_completed=min(
            100.0, max(0.0, _float(_get(inner, "percentCompleted"), "percentCompleted", job_id))
        ),
        est_remaining_duration=_estimate(_get(inner, "estRemainingDuration"), job_id),
    )


def parse_submit_status(result: Any, *, operation: str) -> AsyncJobStatus:
    """The AsyncStatusResponse of a submit (asyncAddList, ..., asyncSearch) -> the new job's
    AsyncJobStatus (normally ``pending``).

    Raises:
        NetSuiteResponseError: the answer names no job (no jobId, or a blank one): NetSuite may
            have created a job that cannot be followed; the message says what came back. Or
            what parse_async_status raises.
    """
    inner = _get(result, "asyncStatusResult", result)
    job_id = _get(inner, "jobId")
    if job_id is None or not str(job_id).strip():
        status = _get(inner, "status")
        percent = _get(inner, "percentCompleted")
        came_back = f"status {str(status)[:40]!r}" if status is not None else "no status"
        came_back += f", percentCompleted {percent!r}" if isinstance(percent, float) else ""
        raise NetSuiteResponseError(
            f"the answer has no jobId, so NetSuite may have created a job that cannot be followed "
            f"(it came back with {came_back}: {excerpt(str(inner if inner is not None else result))}).",
            operation=operation,
            hint=SUBMIT_OUTCOME_HINT,
        )
    return parse_async_status(result, requested_job_id=str(job_id))


def _estimate(value: Any, job_id: str) -> float:
    """estRemainingDuration in seconds: negative -> 0; INF, -INF or NaN -> math.inf (unknown)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise NetSuiteResponseError(
            f"estRemainingDuration is {str(value)[:40]!r}, not a number.",
            operation="checkAsyncStatus",
            job_id=job_id,
        ) from None
    return max(0.0, number) if math.isfinite(number) else math.inf


def parse_server_time(response: Any) -> datetime:
    """GetServerTimeResponse (or its getServerTimeResult) -> NetSuite's clock (aware datetime)."""
    result = _get(response, "getServerTimeResult", response)
    server_time = _get(result, "serverTime")
    if not isinstance(server_time, datetime):
        raise NetSuiteResponseError("getServerTimeResult has no serverTime.", operation="getServerTime")
    return server_time


@dataclass(frozen=True)
class ConcurrencyGovernance:
    """What NetSuite says of the account's concurrency limit (Help Center "getAccountGovernanceInfo"
    and "getIntegrationGovernanceInfo"; schema types GetAccountGovernanceInfoResult and
    GetIntegrationGovernanceInfoResult). Each number is requests in flight, or None when not told.

    Attributes:
        account_limit: accountConcurrencyLimit, the whole account's (all integrations, SOAP,
            REST and RESTlets).
        unallocated_limit: unallocatedConcurrencyLimit, what integrations without their own
            allocation share.
        integration_limit: integrationConcurrencyLimit, this integration's own allocation.
        limit_type: ``_integrationSpecific`` (an allocation is set), ``_account`` (the schema's
            value; the Help Center writes ``_accountLimit``: none is set), ``_internal``, or None.
    """

    account_limit: int | None = None
    unallocated_limit: int | None = None
    integration_limit: int | None = None
    limit_type: str | None = None

    @property
    def ceiling(self) -> int | None:
        """The most requests this integration may have in flight, or None when not known: its
        own allocation when one is set, else the unallocated share, else the account's limit."""
        if self.limit_type == "_integrationSpecific" and self.integration_limit:
            return self.integration_limit
        for limit in (self.unallocated_limit, self.account_limit):
            if limit:
                return limit
        return None


def _governance_number(result: Any, name: str, operation: str) -> int | None:
    value = _get(result, name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise NetSuiteResponseError(
            f"{name} is {excerpt(repr(value))}, not a limit >= 0.", operation=operation
        )
    return value


def _governance_result(response: Any, name: str, operation: str) -> Any:
    result = _get(response, name, response)
    success, details = _parse_status(_get(result, "status"))
    if success is False:
        told = "; ".join(f"{d.code}: {d.message}" for d in details) or "no detail"
        raise NetSuiteResponseError(f"{operation} was not successful ({excerpt(told)}).", operation=operation)
    return result


def parse_account_governance(response: Any) -> ConcurrencyGovernance:
    """GetAccountGovernanceInfoResponse -> ConcurrencyGovernance (account and unallocated limits).

    Raises:
        NetSuiteResponseError: status isSuccess="false", or a limit that is not an integer >= 1.
    """
    operation = "getAccountGovernanceInfo"
    result = _governance_result(response, "getAccountGovernanceInfoResult", operation)
    return ConcurrencyGovernance(
        account_limit=_governance_number(result, "accountConcurrencyLimit", operation),
        unallocated_limit=_governance_number(result, "unallocatedConcurrencyLimit", operation),
    )


def parse_integration_governance(response: Any) -> ConcurrencyGovernance:
    """GetIntegrationGovernanceInfoResponse -> ConcurrencyGovernance (the integration's limit
    and its type).

    Raises:
        NetSuiteResponseError: status isSuccess="false", or a limit that is not an integer >= 1.
    """
    operation = "getIntegrationGovernanceInfo"
    result = _governance_result(response, "getIntegrationGovernanceInfoResult", operation)
    limit_type = _get(result, "limitType")
    return ConcurrencyGovernance(
        integration_limit=_governance_number(result, "integrationConcurrencyLimit", operation),
        limit_type=str(limit_type) if limit_type is not None else None,
    )


def _parse_status(status: Any) -> tuple[bool | None, tuple[StatusDetail, ...]]:
    if status is None:
        return None, ()
    details = tuple(
        StatusDetail(
            type=str(_get(d, "type", "ERROR")),
            code=_get(d, "code"),
            message=_get(d, "message"),
            after_submit_failed=_get(d, "afterSubmitFailed"),
        )
        for d in (_get(status, "statusDetail", []) or [])
    )
    return _get(status, "isSuccess"), details


def _parse_ref(ref: Any) -> RecordRef | None:
    if ref is None:
        return None
    return RecordRef(
        internal_id=_get(ref, "internalId"),
        external_id=_get(ref, "externalId"),
        type=_get(ref, "type") or _get(ref, "typeId"),
        name=_get(ref, "name"),
    )


def _record_ref(record: Any) -> RecordRef:
    """internalId/externalId of a returned record; its RecordType is its schema type in lowerCamel."""
    name = type(record).__name__
    return RecordRef(
        internal_id=_get(record, "internalId"),
        external_id=_get(record, "externalId"),
        type=name[:1].lower() + name[1:],
    )


def _parse_record_result(response: Any) -> RecordResult:
    is_success, details = _parse_status(_get(response, "status"))
    record = _get(response, "record")
    base_ref = _parse_ref(_get(response, "baseRef"))
    if base_ref is None and record is not None:
        base_ref = _record_ref(record)
    return RecordResult(
        # A record failed only where NetSuite says isSuccess="false".
        is_success=is_success is not False,
        details=details,
        base_ref=base_ref,
        record_type=type(record).__name__ if record is not None else None,
        record=record_to_dict(record) if record is not None else None,
    )


def _search_hits(search: Any) -> tuple[RecordResult, ...]:
    """The records (``recordList``) or rows (``searchRowList``) of one search result page."""
    records = _get(_get(search, "recordList"), "record", []) or []
    rows = _get(_get(search, "searchRowList"), "searchRow", []) or []
    hits = [
        RecordResult(
            is_success=True, base_ref=_record_ref(r), record_type=type(r).__name__, record=record_to_dict(r)
        )
        for r in records
    ]
    hits += [
        RecordResult(is_success=True, record_type=type(r).__name__, record=record_to_dict(r)) for r in rows
    ]
    return tuple(hits)


def parse_async_result(response: Any, *, job_id: str, page_index: int) -> AsyncResultPage:
    """GetAsyncResultResponse (zeep object, or its ``asyncResult``) -> AsyncResultPage.

    Raises:
        NetSuiteResponseError: no asyncResult, or one of none of the seven AsyncResult types.
    """
    result = _get(response, "asyncResult", response)
    if result is None:
        raise NetSuiteResponseError(
            "the answer has no asyncResult.", operation="getAsyncResult", job_id=job_id
        )
    result_type = type(result).__name__
    responses = _get(result, "writeResponseList") or _get(result, "readResponseList")
    search = _get(result, "searchResult")
    if responses is not None:
        is_success, details = _parse_status(_get(responses, "status"))
        items = _get(responses, "writeResponse") or _get(responses, "readResponse") or []
        return AsyncResultPage(
            job_id=job_id,
            page_index=page_index,
            result_type=result_type,
            is_success=is_success,
            details=details,
            records=tuple(_parse_record_result(r) for r in items),
        )
    if search is not None:
        is_success, details = _parse_status(_get(search, "status"))
        return AsyncResultPage(
            job_id=job_id,
            page_index=_get(search, "pageIndex", page_index),
            result_type=result_type,
            is_success=is_success,
            details=details,
            records=_search_hits(search),
            total_records=_get(search, "totalRecords"),
            page_size=_get(search, "pageSize"),
            total_pages=_get(search, "totalPages"),
            search_id=_get(search, "searchId"),
        )
    raise NetSuiteResponseError(
        f"asyncResult of type {result_type} has no writeResponseList, readResponseList or searchResult.",
        operation="getAsyncResult",
        job_id=job_id,
    )
