"""The errors the emulator answers with, independent of how they are put on the wire.

``EmulatedFault`` is a NetSuite SOAP fault (``soapenv:Server.userException`` with a
``platformFaults`` detail); ``ClientFault`` is a request the SOAP layer cannot take
(``soapenv:Client``). The state raises the first, the protocol layer raises the second, and
``soap.py`` renders both.

Codes are the schema's (``platformFaultTyp:FaultCodeType``, platform.faultTypes.xsd). Where
the Help Center does not quote NetSuite's message text, the text here is modelled on it and
says so.
"""

from __future__ import annotations

FAULT_TYPES = (
    "InsufficientPermissionFault",
    "InvalidAccountFault",
    "InvalidCredentialsFault",
    "InvalidSessionFault",
    "ExceededConcurrentRequestLimitFault",
    "ExceededRequestLimitFault",
    "ExceededUsageLimitFault",
    "ExceededRecordCountFault",
    "ExceededRequestSizeFault",
    "InvalidVersionFault",
    "AsyncFault",
    "UnexpectedErrorFault",
)
"""The fault types of platform.faults.xsd; each has a detail element named in lowerCamel."""

WELL_KNOWN_FAULTS: dict[str, tuple[str, str]] = {
    # code -> (fault type, NetSuite's message). Sources: Help Center "SOAP Web Services
    # Governance Overview" and "Web Services and RESTlet Concurrency Governance".
    "WS_REQUEST_BLOCKED": (
        "ExceededConcurrentRequestLimitFault",
        "SuiteTalk concurrent request limit exceeded. Request blocked.",
    ),
    "WS_CONCUR_SESSION_DISALLWD": (
        "ExceededRequestLimitFault",
        "Only one request may be made against a session at a time",
    ),
    # The fault type NetSuite uses for these two is not documented; modelled.
    "UNEXPECTED_ERROR": (
        "UnexpectedErrorFault",
        "An unexpected error occurred. Error ID: emulator0000000000000000",
    ),
    "ACCT_TEMP_UNAVAILABLE": (
        "UnexpectedErrorFault",
        "NetSuite is currently unavailable while we undergo our regularly scheduled maintenance. "
        "We apologize for the inconvenience.",
    ),
    "USER_ERROR": ("InvalidCredentialsFault", "Invalid login attempt."),
}


class EmulatedFault(Exception):
    """A NetSuite SOAP fault to answer with (HTTP 500).

    Attributes:
        fault_type: a platform.faults.xsd type, e.g. ``AsyncFault``.
        code: the fault code (any string; the schema's enumeration is not exhaustive).
        message: NetSuite's message, also sent as ``faultstring``.
    """

    def __init__(self, fault_type: str, code: str, message: str) -> None:
        if fault_type not in FAULT_TYPES:
            raise ValueError(f"unknown fault type {fault_type!r}; use one of {', '.join(FAULT_TYPES)}")
        super().__init__(f"{fault_type} {code}: {message}")
        self.fault_type = fault_type
        self.code = code
        self.message = message

    @classmethod
    def well_known(
        cls, code: str, message: str | None = None, fault_type: str | None = None
    ) -> EmulatedFault:
        """A fault for ``code`` with NetSuite's fault type and message unless given.

        Raises:
            ValueError: ``code`` is not in WELL_KNOWN_FAULTS and ``fault_type`` or ``message`` is missing.
        """
        known_type, known_message = WELL_KNOWN_FAULTS.get(code, (None, None))
        fault_type, message = fault_type or known_type, message or known_message
        if fault_type is None or message is None:
            raise ValueError(f"fault code {code!r} is not well known: give its fault_type and message")
        return cls(fault_type, code, message)


def invalid_login() -> EmulatedFault:
    """Any tokenPassport problem. NetSuite does not say which check failed (Help Center, TBA)."""
    return EmulatedFault.well_known("USER_ERROR")


def ambiguous_authentication() -> EmulatedFault:
    """tokenPassport together with applicationInfo. Oracle names it "ambiguous authentication";
    the code and full text here are modelled."""
    return EmulatedFault(
        "InvalidCredentialsFault",
        "USER_ERROR",
        "Ambiguous authentication: the request has both a tokenPassport and an applicationInfo header.",
    )


def concurrency_limit_exceeded() -> EmulatedFault:
    """A token-based request over the account's concurrency limit (WS_REQUEST_BLOCKED)."""
    return EmulatedFault.well_known("WS_REQUEST_BLOCKED")


def invalid_job_id(job_id: str) -> EmulatedFault:
    """Unknown, purged (30 days) or over-queried (more than 20 getAsyncResult calls) job id.

    The code is the schema's INVALID_JOB_ID (the prose says INVALID_JOBID); the text is modelled.
    """
    return EmulatedFault("AsyncFault", "INVALID_JOB_ID", f"Invalid jobId: {job_id}")


def job_not_complete(job_id: str, status: str) -> EmulatedFault:
    """getAsyncResult before the job is terminal (JOB_NOT_COMPLETE; text modelled)."""
    return EmulatedFault(
        "AsyncFault", "JOB_NOT_COMPLETE", f"Job {job_id} is not complete (status: {status})."
    )


def invalid_page_index(page_index: int, total_pages: int) -> EmulatedFault:
    """pageIndex outside 1..totalPages (INVALID_PAGE_INDEX; text modelled)."""
    return EmulatedFault(
        "AsyncFault",
        "INVALID_PAGE_INDEX",
        f"Invalid pageIndex {page_index}: the result has {total_pages} page(s).",
    )


def record_count_exceeded(operation: str, count: int, limit: int) -> EmulatedFault:
    """More records than the operation allows (MAX_RCRDS_EXCEEDED; text modelled)."""
    return EmulatedFault(
        "ExceededRecordCountFault",
        "MAX_RCRDS_EXCEEDED",
        f"The request has {count} records; {operation} accepts at most {limit}.",
    )


class ClientFault(Exception):
    """A request the SOAP layer rejects before NetSuite's own checks: malformed XML, a DOCTYPE,
    no Body, an unknown operation, a SOAPAction or namespace that does not match. Answered as a
    SOAP 1.1 ``soapenv:Client`` fault without a NetSuite detail (HTTP 500)."""


def governance_not_permitted(operation: str) -> EmulatedFault:
    """getAccountGovernanceInfo / getIntegrationGovernanceInfo from a role that is not an
    administrator (Help Center: "returns results only if you are logged in as an
    administrator"); the code and text are modelled."""
    return EmulatedFault(
        "InsufficientPermissionFault",
        "INSUFFICIENT_PERMISSION",
        f"Permission Violation: you need to be an administrator to call {operation}.",
    )
