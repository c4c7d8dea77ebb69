"""REST answers that are not what was asked for -> the typed errors of ``netsuite.faults``.

NetSuite's REST error body (Help Center section_156570709583): ``{"type": URL, "title": str,
"status": int, "o:errorDetails": [{"detail": str, "o:errorCode": str, "o:errorPath"?: str,
"o:errorUrl"?: str}]}``. The class is chosen on ``o:errorCode`` and the HTTP status, never on a
detail text. Which code NetSuite's REST API answers over the concurrency limit is UNVERIFIED
(third parties report HTTP 429; RESTlets document ``400 SSS_REQUEST_LIMIT_EXCEEDED``): HTTP 429
and every code in ``faults.CONCURRENCY_FAULT_CODES`` are read as that limit.

Imports nothing from Airflow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from airflow_asyncjob.netsuite.faults import (
    CONCURRENCY_FAULT_CODES,
    AuthenticationError,
    ConcurrencyLimitError,
    InvalidJobIdError,
    NetSuiteError,
    NetSuiteFault,
    NetSuiteResponseError,
    NetSuiteTransportError,
    PermissionDeniedError,
    excerpt,
)

#: The ``fault_type`` of every error made from a REST answer (``NetSuite fault REST INVALID_LOGIN: ...``).
REST_FAULT_TYPE = "REST"

INVALID_LOGIN_CODES = frozenset({"INVALID_LOGIN", "INVALID_LOGIN_ATTEMPT", "INVALID_LOGIN_CREDENTIALS"})
PERMISSION_CODES = frozenset({"INSUFFICIENT_PERMISSION"})
NONEXISTENT_CODES = frozenset({"NONEXISTENT_ID", "INVALID_ID"})
IDEMPOTENCY_ERROR = "IDEMPOTENCY_ERROR"
TASK_NOT_COMPLETED = "TASK_NOT_COMPLETED"

BASE_URL_HINT = (
    "Check the connection's base URL (NetSuite's is https://<account id>.suitetalk.api.netsuite.com, "
    "which is used when none is set) and any proxy in between."
)
PERMISSION_HINT = (
    "Give the role of the token or OAuth 2.0 mapping the 'REST Web Services' permission (Setup > "
    "Users/Roles > Manage Roles > Permissions > Setup) and the permissions on the records the job "
    "touches."
)
INVALID_JOB_HINT = (
    "Check the job id and that the connection's account is the one that submitted the job; how long "
    "NetSuite keeps REST async jobs is not documented."
)
CONCURRENCY_HINT = (
    "The account's concurrency limit is shared by all SOAP/REST/RESTlet integrations; it is retried "
    "with backoff. Lower this provider's max_in_flight or raise the limit with SuiteCloud Plus."
)


@dataclass(frozen=True)
class ErrorBody:
    """The first ``o:errorDetails`` entry of a NetSuite REST error body."""

    code: str
    detail: str
    title: str | None = None
    path: str | None = None


def read_json(response: httpx.Response) -> Any:
    """The response's JSON value, or raise ValueError (not JSON, or not UTF-8)."""
    return json.loads(response.content)


def error_body(response: httpx.Response) -> ErrorBody | None:
    """NetSuite's error body in ``response``, or None when the body has not that shape."""
    try:
        return error_body_of(read_json(response))
    except ValueError:
        return None


def error_body_of(data: Any) -> ErrorBody | None:
    """NetSuite's error body in a parsed JSON value, or None when it has not that shape."""
    if not isinstance(data, dict):
        return None
    details = data.get("o:errorDetails")
    if not isinstance(details, list) or not details or not isinstance(details[0], dict):
        return None
    first = details[0]
    code = first.get("o:errorCode")
    if not isinstance(code, str) or not code.strip():
        return None
    detail = first.get("detail")
    title = data.get("title")
    path = first.get("o:errorPath")
    return ErrorBody(
        code=code.strip(),
        detail=detail if isinstance(detail, str) else "",
        title=title if isinstance(title, str) else None,
        path=path if isinstance(path, str) else None,
    )


def describe_body(response: httpx.Response) -> str:
    """What a body that is not the expected JSON is, in words: ``an HTML page: <excerpt>``."""
    content = response.content
    if not content.strip():
        return "an empty body"
    kind = response.headers.get("content-type", "no content type").split(";")[0].strip() or "no content type"
    head = content[:512].lower()
    if b"<html" in head or b"<!doctype html" in head:
        what = "an HTML page"
    else:
        try:
            read_json(response)
        except ValueError:
            what = f"a body that is not JSON ({kind})"
        else:
            what = "JSON that is not NetSuite's"
    return f"{what}: {excerpt(content)}"


def not_netsuite_json(
    response: httpx.Response, *, operation: str, job_id: str | None = None, wanted: str = "NetSuite's JSON"
) -> NetSuiteResponseError:
    """NetSuiteResponseError naming what came instead of ``wanted``."""
    return NetSuiteResponseError(
        f"HTTP {response.status_code} with {describe_body(response)}, not {wanted}",
        operation=operation,
        job_id=job_id,
        hint=BASE_URL_HINT,
    )


def rest_error(
    response: httpx.Response,
    *,
    operation: str,
    job_id: str | None = None,
    about_job: bool = False,
    auth_hint: str | None = None,
) -> NetSuiteError:
    """The typed error for a REST answer with an error status (or an error body).

    Args:
        response: the answer (its body read).
        operation: what was asked, for the message (``REST job status``).
        job_id: the job the request was about, if any.
        about_job: the URL named a job or task: a 404 means an unknown job (InvalidJobIdError).
        auth_hint: what to check after a 401, for the connection's auth method.

    Returns (never raises): AuthenticationError (401, INVALID_LOGIN), PermissionDeniedError (403,
    INSUFFICIENT_PERMISSION), ConcurrencyLimitError (429 or a concurrency code; transient),
    InvalidJobIdError (404 or NONEXISTENT_ID on a job URL), NetSuiteTransportError (5xx;
    transient, with ``code`` when NetSuite named one), NetSuiteFault (another NetSuite error
    body), NetSuiteResponseError (a body that is not NetSuite's at a status that is not 5xx/429).
    """
    status = response.status_code
    body = error_body(response)
    context: dict[str, Any] = {"operation": operation, "job_id": job_id}
    if body is None:
        if status == 429:
            error: NetSuiteError = ConcurrencyLimitError(
                fault_type=REST_FAULT_TYPE,
                code="HTTP_429",
                netsuite_message=describe_body(response),
                http_status=status,
                hint=CONCURRENCY_HINT,
                **context,
            )
            error.transient = True
            return error
        if status >= 500:
            return NetSuiteTransportError(
                f"HTTP {status} with {describe_body(response)}",
                http_status=status,
                transient=True,
                hint="NetSuite may be in maintenance or a proxy answered; it is retried.",
                **context,
            )
        if status == 401:
            return AuthenticationError(
                fault_type=REST_FAULT_TYPE,
                code="HTTP_401",
                netsuite_message=describe_body(response),
                http_status=status,
                hint=auth_hint,
                **context,
            )
        return not_netsuite_json(response, **context)
    code = body.code
    cls: type[NetSuiteFault] = NetSuiteFault
    hint: str | None = None
    if code in CONCURRENCY_FAULT_CODES or status == 429:
        cls, hint = ConcurrencyLimitError, CONCURRENCY_HINT
    elif status == 401 or code in INVALID_LOGIN_CODES:
        cls, hint = AuthenticationError, auth_hint
    elif status == 403 or code in PERMISSION_CODES:
        cls, hint = PermissionDeniedError, PERMISSION_HINT
    elif about_job and (status == 404 or code in NONEXISTENT_CODES):
        cls, hint = InvalidJobIdError, INVALID_JOB_HINT
    elif status >= 500:
        transport = NetSuiteTransportError(
            f"HTTP {status}, NetSuite error {code}: {excerpt(body.detail)}",
            http_status=status,
            transient=True,
            hint="NetSuite failed to answer; it is retried.",
            **context,
        )
        transport.code = code
        return transport
    elif status == 404:
        hint = "Check the record type and id, and the connection's base URL."
    fault = cls(
        fault_type=REST_FAULT_TYPE,
        code=code,
        netsuite_message=body.detail,
        http_status=status,
        hint=hint,
        **context,
    )
    if cls is ConcurrencyLimitError:
        fault.transient = True
    return fault
