"""Typed values of the async job protocol, parsed from zeep's objects.

Sources: 2023_2 schema types ``platformCore:AsyncStatusResult``, ``platformCoreTyp:AsyncStatusType``,
``platformMsgs:AsyncResult`` and its seven subtypes, ``WriteResponse``, ``ReadResponse``,
``platformCore:Status`` / ``StatusDetail`` / ``RecordRef`` / ``SearchResult``; Help Center
"checkAsyncStatus" and "getAsyncResult".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from airflow_asyncjob.netsuite.faults import NetSuiteResponseError


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


@dataclass(frozen=True)
class AsyncJobStatus:
    """One checkAsyncStatus answer.

    Attributes:
        job_id: NetSuite's opaque job id.
        status: the job's AsyncStatus.
        percent_completed: 0..100 percent, as NetSuite reports it (not clamped).
        est_remaining_duration: NetSuite's estimate of the seconds left (may be 0 or stale).
    """

    job_id: str
    status: AsyncStatus
    percent_completed: float
    est_remaining_duration: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready shape for XCom.

        ``{"job_id", "status", "percent_completed" (percent), "est_remaining_duration" (seconds)}``.
        """
        return {
            "job_id": self.job_id,
            "status": self.status.value,
            "percent_completed": self.percent_completed,
            "est_remaining_duration": self.est_remaining_duration,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AsyncJobStatus:
        """Inverse of to_dict."""
        return cls(
            job_id=str(data["job_id"]),
            status=AsyncStatus.parse(data["status"], job_id=data.get("job_id")),
            percent_completed=float(data["percent_completed"]),
            est_remaining_duration=float(data["est_remaining_duration"]),
        )

    def describe(self) -> str:
        """One human line: job id, status, percent completed, estimated seconds remaining."""
        return (
            f"job {self.job_id}: {self.status.value}, {self.percent_completed:.1f}% completed, "
            f"about {self.est_remaining_duration:.0f} s remaining"
        )


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
    """For a ReadResponse: the returned record's schema type name (e.g. ``Customer``)."""


@dataclass(frozen=True)
class AsyncResultPage:
    """One getAsyncResult page.

    Attributes:
        result_type: the concrete AsyncResult type, e.g. ``AsyncUpsertListResult``.
        is_success: the list-level (or search-level) status, when NetSuite sends one.
        details: that status's details.
        page_index: the 1-based page (the search's own pageIndex for an AsyncSearchResult).
        records: per-record results (empty for a search: see ``total_records`` and ``search_id``).
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
        percent_completed=_float(_get(inner, "percentCompleted"), "percentCompleted", job_id),
        est_remaining_duration=_float(_get(inner, "estRemainingDuration"), "estRemainingDuration", job_id),
    )


def parse_server_time(response: Any) -> datetime:
    """GetServerTimeResponse (or its getServerTimeResult) -> NetSuite's clock (aware datetime)."""
    result = _get(response, "getServerTimeResult", response)
    server_time = _get(result, "serverTime")
    if not isinstance(server_time, datetime):
        raise NetSuiteResponseError("getServerTimeResult has no serverTime.", operation="getServerTime")
    return server_time


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


def _parse_record_result(response: Any) -> RecordResult:
    is_success, details = _parse_status(_get(response, "status"))
    record = _get(response, "record")
    base_ref = _parse_ref(_get(response, "baseRef"))
    if base_ref is None and record is not None:
        base_ref = RecordRef(internal_id=_get(record, "internalId"), external_id=_get(record, "externalId"))
    return RecordResult(
        # A record failed only where NetSuite says isSuccess="false".
        is_success=is_success is not False,
        details=details,
        base_ref=base_ref,
        record_type=type(record).__name__ if record is not None else None,
    )


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
