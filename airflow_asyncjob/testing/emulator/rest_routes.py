"""The emulator's REST web services paths, one function per resource; ``routes`` serves them
beside the SOAP port.

    POST /services/rest/auth/oauth2/v1/token                  OAuth 2.0 client credentials token
    GET  /services/rest/system/v1/serverTime                  {"serverTime"}
    GET  /services/rest/system/v1/governanceLimits            the account's limits (403 if refused)
    POST|PATCH|PUT|DELETE /services/rest/record/v1/<type>     one add, or a batch (collection type)
    PATCH|PUT|DELETE /services/rest/record/v1/<type>/<id>     update / upsert (eid:<externalId>) / delete
    GET  /services/rest/async/v1/job/<jobId>                  the job
    GET  /services/rest/async/v1/job/<jobId>/task             its tasks (?offset=&limit=)
    GET  /services/rest/async/v1/job/<jobId>/task/<taskId>    a task
    GET  /services/rest/async/v1/job/<jobId>/task/<taskId>/result   what the record's request gave

A REST request goes: logged and counted by kind -> concurrency admission, shared with SOAP (429
CONCURRENCY_LIMIT_EXCEEDED over the limit; the token endpoint is not counted) -> the latency ->
a queued injection for its kind or path, if any -> the Authorization check (TBA or bearer token;
401 INVALID_LOGIN) -> the resource. Record requests run only asynchronously here: without
``Prefer: respond-async`` they are refused (400 INVALID_HEADER, our choice: the emulator has no
synchronous record service).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from airflow_asyncjob.testing.emulator import rest
from airflow_asyncjob.testing.emulator.asgi import DropConnection
from airflow_asyncjob.testing.emulator.exceptions import EmulatedFault
from airflow_asyncjob.testing.emulator.injections import Injection
from airflow_asyncjob.testing.emulator.jobs import RestJobView, RestTaskView
from airflow_asyncjob.testing.emulator.responses import html_page
from airflow_asyncjob.testing.emulator.rest import RestError
from airflow_asyncjob.testing.emulator.rest_auth import OAuthError
from airflow_asyncjob.testing.emulator.service import Service

Handler = Callable[[Request, Service, bytes], Awaitable[Response]]
FORM_TYPE = "application/x-www-form-urlencoded"


def _root(request: Request) -> str:
    """``http://host:port`` as the client addressed the server (links are absolute)."""
    return str(request.base_url).rstrip("/")


def _base_uri(request: Request) -> str:
    """RFC 5849 3.4.1.2: scheme and host lower-case, the port unless the default, the path as sent."""
    url = request.url
    scheme, host = url.scheme.lower(), (url.hostname or "").lower()
    port = url.port
    authority = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else url.path
    return f"{scheme}://{authority}{path}"


def _form(request: Request, body: bytes) -> list[tuple[str, str]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        return []
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def _authenticate(request: Request, service: Service, body: bytes) -> None:
    assert service.rest_auth is not None
    service.rest_auth.check(
        request.headers.get("authorization"),
        request.method,
        _base_uri(request),
        parse_qsl(request.url.query, keep_blank_values=True),
        _form(request, body),
    )


async def _injected(injection: Injection) -> Response | None:
    """What ``injection`` answers instead; None after a delay (answered normally then)."""
    if injection.kind == "delay":
        await asyncio.sleep(injection.seconds)
        return None
    if injection.kind == "drop":
        return DropConnection()
    if injection.kind == "rest_error":
        code = injection.code or rest.default_code(injection.status)
        return rest.error_response(RestError(injection.status, code, injection.detail))
    if injection.kind == "http_error":
        return HTMLResponse(injection.body or html_page(injection.status), status_code=injection.status)
    return Response(
        injection.body, status_code=injection.status, headers={"content-type": injection.content_type}
    )


def endpoint(
    kind: str, *, admitted: bool = True, authenticated: bool = True
) -> Callable[[Handler], Callable]:
    """Wrap a resource handler in the REST pipeline (see the module docstring)."""

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def route(request: Request) -> Response:
            service: Service = request.app.state.service
            body = await request.body()
            # A client assertion stays valid until its exp: the log keeps none.
            service.record_rest(kind, request.method, request.url.path, b"" if kind == "token" else body)
            if admitted and not service.admit():
                return _error(
                    service, RestError(429, "CONCURRENCY_LIMIT_EXCEEDED", title="Too Many Requests")
                )
            try:
                if service.latency:
                    await asyncio.sleep(service.latency)
                injection = service.injections.take(kind, "rest", request.url.path)
                replaced = await _injected(injection) if injection else None
                if replaced is not None:
                    if injection is not None and injection.kind == "rest_error":
                        service.count_rest_error(injection.code or rest.default_code(injection.status))
                    return replaced
                if authenticated:
                    _authenticate(request, service, body)
                return await handler(request, service, body)
            except RestError as error:
                return _error(service, error)
            finally:
                if admitted:
                    service.release()

        route.__name__ = route.__qualname__ = handler.__name__
        route.__doc__ = handler.__doc__
        return route

    return decorate


def _error(service: Service, error: RestError) -> Response:
    service.count_rest_error(error.code)
    return rest.error_response(error)


# ---- OAuth 2.0 and system ---------------------------------------------------------------------


@endpoint("token", admitted=False, authenticated=False)
async def token(request: Request, service: Service, body: bytes) -> Response:
    """POST the client credentials form -> 200 {"access_token", "expires_in", "token_type"} or
    400 {"error", "error_description"} (RFC 6749 section 5)."""
    assert service.rest_auth is not None
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    token_url = f"{_root(request)}{rest.TOKEN_PATH}"
    headers = {"cache-control": "no-store", "pragma": "no-cache"}
    try:
        answer = service.rest_auth.oauth2.issue(form, token_url)
    except OAuthError as error:
        service.count_rest_error(error.error)
        return rest.json_response(
            {"error": error.error, "error_description": error.description}, 400, headers
        )
    return rest.json_response(answer, 200, headers)


@endpoint("server_time")
async def server_time(request: Request, service: Service, body: bytes) -> Response:
    """GET -> {"serverTime": "...Z"} from the emulator's clock."""
    return rest.json_response(rest.server_time(service.jobs.clock()))


@endpoint("governance_limits")
async def governance_limits(request: Request, service: Service, body: bytes) -> Response:
    """GET -> the limits (article_0625010817.html); 403 when ``rest_governance_limits`` is off."""
    if not service.rest_governance_limits:
        raise RestError(403, "INSUFFICIENT_PERMISSION", title="Forbidden")
    limit = service.concurrency_limit
    return rest.json_response(
        {
            "accountConcurrencyLimit": limit,
            "accountUnallocatedConcurrencyLimit": limit,
            "integrationConcurrencyLimit": None,
            "limitType": "accountLimit",
        }
    )


# ---- submits ----------------------------------------------------------------------------------


def _respond_async(request: Request) -> bool:
    preferences = ",".join(request.headers.getlist("prefer")).lower()
    return "respond-async" in (p.split(";")[0].strip() for p in preferences.split(","))


@endpoint("submit")
async def submit(request: Request, service: Service, body: bytes) -> Response:
    """A record or batch request with ``Prefer: respond-async`` -> 202, ``Preference-Applied``,
    ``Location`` of the new job (empty body); a replayed idempotency key -> 400 IDEMPOTENCY_ERROR
    with the earlier job's Location."""
    if not _respond_async(request):
        raise RestError(
            400,
            "INVALID_HEADER",
            "The emulator serves record requests asynchronously only: send the header Prefer: respond-async.",
        )
    key = request.headers.get("x-netsuite-idempotency-key")
    if key is not None:
        try:
            uuid.UUID(key)
        except ValueError:
            raise RestError(
                400, "INVALID_HEADER", "X-NetSuite-Idempotency-Key must be a UUID (RFC 4122)."
            ) from None
    parsed = rest.read_record_request(
        request.method,
        request.path_params["record_type"],
        request.path_params.get("record_id"),
        request.headers.get("content-type"),
        body,
    )
    job_id, replayed = service.jobs.submit_rest(parsed.operation, parsed.refs, key)
    location = rest.job_url("" if service.rest_relative_location else _root(request), job_id)
    if replayed:
        service.count_idempotent_replay()
        raise RestError(400, "IDEMPOTENCY_ERROR", title="Conflict", location=location)
    return Response(status_code=202, headers={"preference-applied": "respond-async", "location": location})


# ---- the job resources ------------------------------------------------------------------------


def _job(service: Service, job_id: str) -> RestJobView:
    try:
        return service.jobs.rest_job(job_id)
    except EmulatedFault:
        raise RestError(404, "NONEXISTENT_ID", f"No asynchronous job with id {job_id!r} exists.") from None


def _task(service: Service, request: Request) -> tuple[RestJobView, RestTaskView]:
    job = _job(service, request.path_params["job_id"])
    task_id = request.path_params["task_id"]
    for task in job.tasks:
        if task.task_id == task_id:
            return job, task
    raise RestError(404, "NONEXISTENT_ID", f"Job {job.job_id!r} has no task with id {task_id!r}.")


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise RestError(
            400, "INVALID_PARAMETER", f"{name} must be an integer within {low}..{high}, not {text!r}."
        )
    return value


@endpoint("job")
async def job(request: Request, service: Service, body: bytes) -> Response:
    """GET the job: completed and progress."""
    return rest.json_response(rest.job_body(_root(request), _job(service, request.path_params["job_id"])))


@endpoint("task_list")
async def task_list(request: Request, service: Service, body: bytes) -> Response:
    """GET the job's tasks, a page of ``limit`` (default and at most 1000) from ``offset``."""
    view = _job(service, request.path_params["job_id"])
    offset = _int_param(request, "offset", 0, 0, 10**9)
    limit = _int_param(request, "limit", rest.PAGE_LIMIT, 1, rest.PAGE_LIMIT)
    return rest.json_response(rest.task_list_body(_root(request), view, offset, limit))


@endpoint("task")
async def task(request: Request, service: Service, body: bytes) -> Response:
    """GET one task: completed, progress, startTime, endTime."""
    view, found = _task(service, request)
    return rest.json_response(rest.task_body(_root(request), view.job_id, found))


@endpoint("result")
async def result(request: Request, service: Service, body: bytes) -> Response:
    """GET a completed task's result (200; a failed record's error body inside); 400
    TASK_NOT_COMPLETED before it completed (our choice)."""
    _, found = _task(service, request)
    if not found.completed:
        raise RestError(400, "TASK_NOT_COMPLETED")
    return rest.json_response(rest.result_body(_root(request), found.record))


RECORD_METHODS = ["POST", "PATCH", "PUT", "DELETE"]
ROUTES = [
    Route(rest.TOKEN_PATH, token, methods=["POST"]),
    Route("/services/rest/system/v1/serverTime", server_time, methods=["GET"]),
    Route("/services/rest/system/v1/governanceLimits", governance_limits, methods=["GET"]),
    Route(rest.RECORD_PATH + "/{record_type}", submit, methods=RECORD_METHODS),
    Route(rest.RECORD_PATH + "/{record_type}/{record_id}", submit, methods=RECORD_METHODS),
    Route(rest.JOB_PATH + "/{job_id}", job, methods=["GET"]),
    # Both spellings of the task list (Oracle writes ".../task/"); no redirect between them.
    Route(rest.JOB_PATH + "/{job_id}/task", task_list, methods=["GET"]),
    Route(rest.JOB_PATH + "/{job_id}/task/", task_list, methods=["GET"]),
    Route(rest.JOB_PATH + "/{job_id}/task/{task_id}", task, methods=["GET"]),
    Route(rest.JOB_PATH + "/{job_id}/task/{task_id}/result", result, methods=["GET"]),
]
