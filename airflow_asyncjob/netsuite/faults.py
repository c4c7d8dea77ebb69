"""Typed errors for everything a NetSuite SOAP call can end in, and which of them are transient.

Sources: schema ``platformFaults`` types (platform.faults.xsd: SoapFault with ``code`` and
``message``; FaultCodeType in platform.faultTypes.xsd), NetSuite Help Center "SOAP Fault Status
Codes" and "SOAP Web Services Governance Overview" (WS_REQUEST_BLOCKED, WS_CONCUR_SESSION_DISALLWD:
retry after a period). Codes outside the schema's enumeration occur in real answers, so any
string is accepted as a code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EXCERPT_LENGTH = 200
"""At most this many characters of a response body are quoted in an error message."""

REST_CONCURRENCY_CODES = frozenset({"CONCURRENCY_LIMIT_EXCEEDED", "SSS_REQUEST_LIMIT_EXCEEDED"})
"""REST's ``o:errorCode`` values over the account's concurrency limit: the first is what our
emulator answers with HTTP 429 (NetSuite's own REST code is UNVERIFIED, third parties report 429);
the second is RESTlets' documented ``400 SSS_REQUEST_LIMIT_EXCEEDED`` (Help Center "Web Services and
RESTlet Concurrency Governance")."""
TRANSIENT_FAULT_CODES = frozenset(
    {"WS_REQUEST_BLOCKED", "WS_CONCUR_SESSION_DISALLWD", "ACCT_TEMP_UNAVAILABLE", "UNEXPECTED_ERROR"}
    | REST_CONCURRENCY_CODES
)
CONCURRENCY_FAULT_CODES = frozenset(
    {"WS_REQUEST_BLOCKED", "WS_CONCUR_SESSION_DISALLWD"} | REST_CONCURRENCY_CODES
)
INVALID_JOB_ID_CODES = frozenset({"INVALID_JOB_ID", "INVALID_JOBID"})
"""INVALID_JOBID in the Help Center's prose, INVALID_JOB_ID in the schema: both are matched."""
UNSUPPORTED_VERSION_CODES = frozenset({"UNSUPPORTED_WS_VERSION", "INVALID_WS_VERSION"})


def excerpt(body: bytes | str | None, limit: int = EXCERPT_LENGTH) -> str:
    """A short, single-line excerpt of a response body or an error text for a message: whitespace
    runs become one space; over ``limit`` characters, the middle is cut out and the start and
    the end are kept (an error's cause is often at its end), e.g.
    ``HTTPConnectionPool(...) ... [57 characters cut] ... [Errno 111] Connection refused'))``."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = limit * 3 // 5
    tail = limit - head
    return f"{text[:head]} ... [{len(text) - limit} characters cut] ... {text[-tail:]}"


class NetSuiteError(Exception):
    """Base of every error this package raises for a NetSuite call.

    Attributes:
        operation: the SOAP operation (``checkAsyncStatus``, ...), when known.
        job_id: the async job id the call was about, when there is one.
        hint: what to check, in a sentence.
        transient: True when a retry may succeed (concurrency limit, maintenance, 5xx, network).
        code: NetSuite's fault code, None unless the error is a SOAP fault.
    """

    transient: bool = False
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        job_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.operation = operation
        self.job_id = job_id
        self.hint = hint
        super().__init__(self._render())

    def to_payload(self) -> dict[str, Any]:
        """The error as plain JSON values, for a trigger event; ``from_payload`` rebuilds it.

        Shape: ``{"error_type": class name, "message": str(error), "transient": bool, "code":
        fault code or None, "hint", "operation", "job_id", "detail": the message without where
        and hint}``, plus the fields of the class (``fault_type``, ``netsuite_message``,
        ``http_status``; ``cause`` for SubmitOutcomeUnknownError, itself a payload). It holds
        what ``str(error)`` shows and nothing more: no credential, no request body.
        """
        return {
            "error_type": type(self).__name__,
            "message": str(self),
            "transient": bool(self.transient),
            "code": self.code,
            "hint": self.hint,
            "operation": self.operation,
            "job_id": self.job_id,
            "detail": self.message,
        }

    @staticmethod
    def from_payload(payload: Mapping[str, Any]) -> NetSuiteError:
        """The error ``to_payload`` gave: the same class, message, code, hint and transient flag.

        A class defined elsewhere (e.g. RecordCountError), or a payload of only
        ``error_type``/``message``/``transient`` (written by an earlier version), comes back as a
        NetSuiteError with that message and transient flag.

        Raises:
            ValueError: ``payload`` is not a mapping with a string ``message``.
        """
        if not isinstance(payload, Mapping) or not isinstance(payload.get("message"), str):
            raise ValueError(f"not a NetSuite error payload: {excerpt(repr(payload))}")
        cls = _PAYLOAD_CLASSES.get(str(payload.get("error_type")))
        if cls is not None and "detail" in payload:
            try:
                return cls._from_fields(payload)
            except (KeyError, TypeError, ValueError):
                pass  # a payload this version cannot rebuild exactly: keep its message below
        error = NetSuiteError(payload["message"])
        error.transient = bool(payload.get("transient"))
        return error

    @classmethod
    def _from_fields(cls, payload: Mapping[str, Any]) -> NetSuiteError:
        return cls(
            str(payload["detail"]),
            operation=payload.get("operation"),
            job_id=payload.get("job_id"),
            hint=payload.get("hint"),
        )

    @property
    def summary(self) -> str:
        """The message with where it happened and without the hint: ``checkAsyncStatus for job
        J: connection to 127.0.0.1:1 failed: Connection refused (ECONNREFUSED)`` (retry warnings)."""
        where = []
        if self.operation:
            where.append(self.operation)
        if self.job_id:
            where.append(f"job {self.job_id}")
        return f"{' for '.join(where)}: {self.message}" if where else self.message

    def _render(self) -> str:
        return join_sentences(self.summary, self.hint)


def join_sentences(text: str, more: str | None) -> str:
    """``text``, then ``more`` as the next sentence: a full stop is put between them unless
    ``text`` already ends a sentence (``.``, ``!``, ``?``, or one of them before a closing
    bracket or quote). ``"Invalid jobId: None"`` and ``"Check the job id."`` give
    ``"Invalid jobId: None. Check the job id."``."""
    if not more:
        return text
    text = text.rstrip()
    ended = text.rstrip(")]}\"'")[-1:] in (".", "!", "?", ":")
    return f"{text} {more}" if ended or not text else f"{text}. {more}"


class ConfigurationError(NetSuiteError, ValueError):
    """The connection or an argument is malformed (account id, endpoint version, credentials)."""


class NetSuiteFault(NetSuiteError):
    """NetSuite answered with a SOAP fault.

    Attributes:
        fault_type: the detail element's type, e.g. ``ExceededConcurrentRequestLimitFault``.
        code: NetSuite's fault code (any string; the schema's FaultCodeType is not exhaustive).
        netsuite_message: NetSuite's own message text.
        http_status: the HTTP status of the answer (500 for SOAP 1.1 faults).
        transient: True for the codes in TRANSIENT_FAULT_CODES.
    """

    def __init__(
        self,
        *,
        fault_type: str,
        code: str,
        netsuite_message: str,
        http_status: int | None = None,
        operation: str | None = None,
        job_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.fault_type = fault_type
        self.code = code
        self.netsuite_message = netsuite_message
        self.http_status = http_status
        self.transient = code in TRANSIENT_FAULT_CODES
        super().__init__(
            f"NetSuite fault {fault_type} {code}: {excerpt(netsuite_message)}",
            operation=operation,
            job_id=job_id,
            hint=hint,
        )

    def to_payload(self) -> dict[str, Any]:
        return {
            **super().to_payload(),
            "fault_type": self.fault_type,
            "netsuite_message": self.netsuite_message,
            "http_status": self.http_status,
        }

    @classmethod
    def _from_fields(cls, payload: Mapping[str, Any]) -> NetSuiteError:
        return cls(
            fault_type=str(payload["fault_type"]),
            code=str(payload["code"]),
            netsuite_message=str(payload["netsuite_message"]),
            http_status=payload.get("http_status"),
            operation=payload.get("operation"),
            job_id=payload.get("job_id"),
            hint=payload.get("hint"),
        )


class ConcurrencyLimitError(NetSuiteFault):
    """The account's concurrent request limit was hit (WS_REQUEST_BLOCKED, WS_CONCUR_SESSION_DISALLWD).

    Transient: retried with backoff. Source: Help Center "Web Services and RESTlet Concurrency Governance".
    """


class AuthenticationError(NetSuiteFault):
    """InvalidCredentialsFault / InvalidSessionFault / InvalidAccountFault: the passport was refused."""


class PermissionDeniedError(NetSuiteFault):
    """InsufficientPermissionFault: the token's role lacks a permission."""


class InvalidJobIdError(NetSuiteFault):
    """INVALID_JOB_ID / INVALID_JOBID: unknown job, purged after 30 days, or over 20 getAsyncResult calls."""


class UnsupportedVersionError(NetSuiteFault):
    """InvalidVersionFault / UNSUPPORTED_WS_VERSION: the endpoint version is not served."""


class NetSuiteTransportError(NetSuiteError):
    """No SOAP answer: an HTTP error page, a connection error or a time-out.

    Attributes:
        http_status: the HTTP status, or None when no answer came.
        transient: True for 5xx, connection errors and time-outs; False for 4xx (404: wrong URL).
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        transient: bool,
        operation: str | None = None,
        job_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.http_status = http_status
        self.transient = transient
        super().__init__(message, operation=operation, job_id=job_id, hint=hint)

    def to_payload(self) -> dict[str, Any]:
        return {**super().to_payload(), "http_status": self.http_status}

    @classmethod
    def _from_fields(cls, payload: Mapping[str, Any]) -> NetSuiteError:
        return cls(
            str(payload["detail"]),
            http_status=payload.get("http_status"),
            transient=bool(payload["transient"]),
            operation=payload.get("operation"),
            job_id=payload.get("job_id"),
            hint=payload.get("hint"),
        )


class NetSuiteResponseError(NetSuiteError):
    """An answer that is XML but not what the protocol allows (e.g. a status outside AsyncStatusType)."""


_HINTS = {
    AuthenticationError: (
        "Check the account id (e.g. 1234567_SB1 for a sandbox), the consumer key/secret and token "
        "id/secret, that the token belongs to this account, and that this machine's clock is right "
        "(timestamps must be within 5 minutes of NetSuite's)."
    ),
    PermissionDeniedError: (
        "Give the token's role the 'SOAP Web Services' permission and the permissions on the records "
        "the job touches (Setup > Users/Roles > Manage Roles)."
    ),
    InvalidJobIdError: (
        "Check the job id: NetSuite purges async jobs after 30 days and allows at most 20 "
        "getAsyncResult calls per job."
    ),
    UnsupportedVersionError: (
        "Set the connection's endpoint_version to one NetSuite serves (2025_2 is the last SOAP endpoint)."
    ),
    ConcurrencyLimitError: (
        "The account's concurrency limit is shared by all SOAP/REST/RESTlet integrations; "
        "lower this provider's parallelism or raise the limit with SuiteCloud Plus."
    ),
}


def fault_class(fault_type: str, code: str) -> type[NetSuiteFault]:
    """The typed exception for a fault detail element's type and code."""
    if code in INVALID_JOB_ID_CODES:
        return InvalidJobIdError
    if code in CONCURRENCY_FAULT_CODES:
        return ConcurrencyLimitError
    if fault_type == "InvalidVersionFault" or code in UNSUPPORTED_VERSION_CODES:
        return UnsupportedVersionError
    if fault_type in ("InvalidCredentialsFault", "InvalidSessionFault", "InvalidAccountFault"):
        return AuthenticationError
    if fault_type == "InsufficientPermissionFault":
        return PermissionDeniedError
    return NetSuiteFault


def make_fault(
    *,
    fault_type: str,
    code: str,
    netsuite_message: str,
    http_status: int | None = None,
    operation: str | None = None,
    job_id: str | None = None,
) -> NetSuiteFault:
    """Build the typed exception for a SOAP fault, with the hint for its class."""
    cls = fault_class(fault_type, code)
    return cls(
        fault_type=fault_type,
        code=code,
        netsuite_message=netsuite_message,
        http_status=http_status,
        operation=operation,
        job_id=job_id,
        hint=_HINTS.get(cls),
    )


SUBMIT_OUTCOME_HINT = (
    "Look for a job submitted just now in NetSuite's Web Services Usage Log (Setup > "
    "Integration) before submitting again; this was not retried, to avoid a duplicate job."
)
"""What to do after a submit whose job may exist but cannot be followed."""


class SubmitOutcomeUnknownError(NetSuiteError):
    """A submit request was sent but no answer came (time-out, dropped connection, cut-off or
    gateway answer): NetSuite may or may not have created the job. Not retried, and not
    transient, so that nothing submits the same records twice without a person deciding.

    Attributes:
        cause: the transport error that left the outcome unknown.
    """

    def __init__(self, operation: str, cause: NetSuiteError) -> None:
        self.cause = cause
        super().__init__(
            f"no usable answer, so NetSuite may or may not have created a job ({cause.message})",
            operation=operation,
            hint=SUBMIT_OUTCOME_HINT,
        )

    def to_payload(self) -> dict[str, Any]:
        return {**super().to_payload(), "cause": self.cause.to_payload()}

    @classmethod
    def _from_fields(cls, payload: Mapping[str, Any]) -> NetSuiteError:
        return cls(str(payload["operation"]), NetSuiteError.from_payload(payload["cause"]))


_PAYLOAD_CLASSES: dict[str, type[NetSuiteError]] = {
    cls.__name__: cls
    for cls in (
        NetSuiteError,
        ConfigurationError,
        NetSuiteFault,
        ConcurrencyLimitError,
        AuthenticationError,
        PermissionDeniedError,
        InvalidJobIdError,
        UnsupportedVersionError,
        NetSuiteTransportError,
        NetSuiteResponseError,
        SubmitOutcomeUnknownError,
    )
}
"""The classes ``NetSuiteError.from_payload`` rebuilds by name."""
