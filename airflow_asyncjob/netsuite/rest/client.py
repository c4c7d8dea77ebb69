"""RestClient (sync, httpx.Client) and AsyncRestClient (asyncio, the account's shared channel):
NetSuite REST async jobs, from submit to task results.

Every operation is written once, as a generator that yields the HTTP requests it needs
(``_Call``) and is given their answers; the sync and async clients only drive it, each with its
own transport, retries (``RetryPolicy`` and tenacity) and, for the async side, the account's
AIMD limiter: the SAME ``AccountChannel`` (connection pool and limiter) the SOAP async client
uses, so SOAP and REST share one limit per account per event loop.

Requests per operation (the account's concurrency limit is the budget, issue 14):
- ``submit``: 1 request (resent per the rules below).
- ``check_async_status``: 1 request (GET job) while the job is not completed; the poll that sees
  it completed also reads the task list (1 request per 1000 tasks) and each task (1 request per
  task: N <= 100 for a batch, 1 for one record), because only the tasks tell finished from
  finishedWithErrors from failed. So a job of N records costs (polls) + 1 + N requests in all.
  ``check_async_status(job_id, progress=True)`` reads the tasks on every poll (2 + N each) for
  "k of N tasks" progress while running; the default does not.
- ``job``: 2 + N; ``task_result``: 1; ``iter_task_results``: 1 + N; ``server_time`` and
  ``governance_limits``: 1. An OAuth 2.0 client adds one token request per hour per process.

Retries: reads are resent after any transient failure (5xx, 429 and concurrency codes, time-outs,
dropped connections). A submit without an idempotency key is resent only where NetSuite cannot
have created a job (no connection made; a NetSuite error body; HTTP 429/503); after an unknown
outcome (time-out, dropped connection, gateway answer) it raises SubmitOutcomeUnknownError. A
submit with an idempotency key is resent after any transient failure: NetSuite runs one request
per key and answers a repeat 400 IDEMPOTENCY_ERROR with the earlier job's Location, which is read
as that job (``replayed=True``).

Imports nothing from Airflow.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from airflow_asyncjob.netsuite.channels import AccountChannel, lease_channel
from airflow_asyncjob.netsuite.faults import (
    ConcurrencyLimitError,
    ConfigurationError,
    NetSuiteError,
    NetSuiteResponseError,
    SubmitOutcomeUnknownError,
)
from airflow_asyncjob.netsuite.job_ids import require_job_id
from airflow_asyncjob.netsuite.limiter import Slot
from airflow_asyncjob.netsuite.models import AsyncJobStatus
from airflow_asyncjob.netsuite.rest import errors
from airflow_asyncjob.netsuite.rest.auth import rest_auth
from airflow_asyncjob.netsuite.rest.models import (
    JOB_PATH,
    RestJob,
    RestSubmitted,
    RestTaskResult,
    job_id_from_location,
    parse_job,
    parse_task,
    parse_task_page,
    parse_task_result,
)
from airflow_asyncjob.netsuite.rest.settings import RestSettings
from airflow_asyncjob.netsuite.retry import RetryPolicy, or_default
from airflow_asyncjob.netsuite.transports import translate

log = logging.getLogger(__name__)

T = TypeVar("T")

RECORD_PATH = "/services/rest/record/v1"
SERVER_TIME_PATH = "/services/rest/system/v1/serverTime"
GOVERNANCE_LIMITS_PATH = "/services/rest/system/v1/governanceLimits"
COLLECTION_CONTENT_TYPE = "application/vnd.oracle.resource+json; type=collection"
IDEMPOTENCY_HEADER = "X-NetSuite-Idempotency-Key"
#: Records per batch request (Help Center article_0127092747).
MAX_BATCH_RECORDS = 100
#: Tasks asked for per task-list page (NetSuite's collections default to 1000).
TASK_PAGE_SIZE = 1000
#: The REST submit operations and their HTTP methods (one record; a batch uses the same method).
SUBMIT_METHODS = {"add": "POST", "update": "PATCH", "upsert": "PUT", "delete": "DELETE"}

_RECORD_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
_NO_BODY = object()


def _is_200(response: httpx.Response) -> bool:
    return response.status_code == 200


@dataclass(frozen=True)
class _Call:
    """One HTTP request an operation needs, and how its answer is judged."""

    operation: str
    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    job_id: str | None = None
    about_job: bool = False
    body: Any = _NO_BODY
    headers: tuple[tuple[str, str], ...] = ()
    submit: bool = False
    idempotent: bool = True
    passes: Callable[[httpx.Response], bool] = _is_200

    def content(self) -> bytes | None:
        return None if self.body is _NO_BODY else json.dumps(self.body).encode()


_Flow = Generator[_Call, httpx.Response, T]


class _RestBase:
    """What both clients share: the settings, the auth, the retry policy and every operation's flow."""

    api = "rest"  # as RestAsyncJobHook's: callers that take either API's client tell them apart by it

    def __init__(self, settings: RestSettings, *, retry: RetryPolicy | None = None) -> None:
        if not isinstance(settings, RestSettings):
            raise ConfigurationError(f"a REST client needs RestSettings, not {type(settings).__name__}.")
        self.settings = settings
        self.retry = or_default(retry)
        self.auth = rest_auth(settings.credentials, settings.token_url, timeout=settings.timeout)

    # ---- one request -------------------------------------------------------------------------

    def _build(self, http: httpx.Client | httpx.AsyncClient, call: _Call) -> httpx.Request:
        headers = {"Accept": "application/json", **dict(call.headers)}
        return http.build_request(
            call.method,
            self.settings.rest_url + call.path,
            params=call.params or None,
            content=call.content(),
            headers=headers,
            timeout=self.settings.timeout,
        )

    def _judge(self, call: _Call, response: httpx.Response) -> None:
        """Return when ``call.passes`` the answer; else raise its typed error."""
        log.debug(
            "%s %s: HTTP %d with %d bytes",
            call.method,
            call.path,
            response.status_code,
            len(response.content),
        )
        if call.passes(response):
            return
        error = errors.rest_error(
            response,
            operation=call.operation,
            job_id=call.job_id,
            about_job=call.about_job,
            auth_hint=getattr(self.auth, "auth_hint", None),
        )
        if call.submit and not call.idempotent and error.transient:
            answered = errors.error_body(response) is not None or response.status_code in (429, 503)
            if not answered:
                raise SubmitOutcomeUnknownError(call.operation, error)
        raise error

    def _failure(self, call: _Call, error: Exception) -> NetSuiteError:
        """The typed error for a request that got no answer (or whose token could not be had)."""
        if isinstance(error, NetSuiteError):
            return error  # from the auth flow: the request itself was not sent (or answered 401)
        failure = translate(error, call.operation, call.job_id)
        if call.submit and not call.idempotent and failure.transient:
            if not isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout)):
                return SubmitOutcomeUnknownError(call.operation, failure)
        return failure

    # ---- operations as flows -----------------------------------------------------------------

    def _submit_flow(
        self,
        record_type: str,
        records: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
        operation: str,
        idempotency_key: str | None,
        record_id: str | None,
        external_id: str | None,
    ) -> _Flow[RestSubmitted]:
        call = _submit_call(record_type, records, operation, idempotency_key, record_id, external_id)
        response = yield call
        status = response.status_code
        location = response.headers.get("location")
        if status == 202:
            return RestSubmitted(job_id_from_location(location), location or "", replayed=False)
        if status == 400:  # passes() let only IDEMPOTENCY_ERROR through
            if not location:
                raise NetSuiteResponseError(
                    "NetSuite answered IDEMPOTENCY_ERROR (a request with this idempotency key was "
                    "submitted before) without the earlier job's Location, so that job cannot be named",
                    operation=call.operation,
                    hint="Find the job in NetSuite's Web Services Usage Log; no REST endpoint looks a "
                    "job up by its idempotency key.",
                )
            return RestSubmitted(job_id_from_location(location), location, replayed=True)
        if response.content.strip() and errors.error_body(response) is None:
            try:
                errors.read_json(response)
            except ValueError:  # a proxy's or maintenance page, not NetSuite's synchronous answer
                raise errors.not_netsuite_json(
                    response, operation=call.operation, wanted="202 Accepted with the job's Location"
                ) from None
        raise NetSuiteResponseError(
            f"NetSuite answered the submit with HTTP {status} instead of 202 Accepted: it ran the "
            "request synchronously (Prefer: respond-async not applied), so there is no job to follow",
            operation=call.operation,
            hint=errors.BASE_URL_HINT,
        )

    def _job_flow(self, job_id: str, *, tasks: bool | None) -> _Flow[RestJob]:
        """The job; its tasks too when ``tasks`` is True, or (None) when the job is completed."""
        job_id = _require_rest_job_id(job_id)
        path = f"{JOB_PATH}/{quote(job_id, safe='')}"
        call = _Call("REST job status", "GET", path, job_id=job_id, about_job=True)
        data = _json((yield call), call, "a job")
        job = parse_job(data, job_id=job_id)
        if tasks is False or (tasks is None and not job.completed):
            return job
        task_ids = yield from self._task_ids_flow(job_id)
        read = []
        for task_id in task_ids:
            task_path = f"{path}/task/{quote(task_id, safe='')}"
            call = _Call("REST task", "GET", task_path, job_id=job_id, about_job=True)
            read.append(parse_task(_json((yield call), call, "a task"), job_id=job_id, task_id=task_id))
        return replace(job, tasks=tuple(read))

    def _status_flow(self, job_id: str, progress: bool) -> _Flow[AsyncJobStatus]:
        job = yield from self._job_flow(job_id, tasks=True if progress else None)
        if job.completed and job.tasks and not all(task.completed for task in job.tasks):
            # NetSuite says the job is completed while a task is not: read it as still running
            # rather than fail a record that may yet succeed (UNVERIFIED whether this happens).
            return replace(job, completed=False, progress="processing").to_status()
        return job.to_status()

    def _task_ids_flow(self, job_id: str) -> _Flow[list[str]]:
        path = f"{JOB_PATH}/{quote(job_id, safe='')}/task"
        ids: list[str] = []
        while True:
            params = (("offset", str(len(ids))), ("limit", str(TASK_PAGE_SIZE)))
            call = _Call("REST task list", "GET", path, params=params, job_id=job_id, about_job=True)
            page = parse_task_page(_json((yield call), call, "a task list"), job_id=job_id)
            ids.extend(page.task_ids)
            if not page.has_more:
                return ids
            if not page.task_ids:
                raise NetSuiteResponseError(
                    "NetSuite's task list says more tasks follow (hasMore) but this page has none",
                    operation="REST task list",
                    job_id=job_id,
                )

    def _result_flow(self, job_id: str, task_id: str) -> _Flow[RestTaskResult]:
        job_id = _require_rest_job_id(job_id)
        task = _require_rest_job_id(task_id, name="task_id")
        path = f"{JOB_PATH}/{quote(job_id, safe='')}/task/{quote(task, safe='')}/result"
        call = _Call("REST task result", "GET", path, job_id=job_id, about_job=True, passes=_result_passes)
        response = yield call
        if response.status_code == 204 or not response.content.strip():
            return parse_task_result(None, task_id=task)
        try:
            data = errors.read_json(response)
        except ValueError:
            raise errors.not_netsuite_json(
                response, operation=call.operation, job_id=job_id, wanted="a task result (JSON)"
            ) from None
        return parse_task_result(data, task_id=task)

    def _server_time_flow(self) -> _Flow[datetime]:
        call = _Call("REST serverTime", "GET", SERVER_TIME_PATH)
        data = _json((yield call), call, "serverTime")
        text = data.get("serverTime") if isinstance(data, dict) else None
        try:
            return _parse_instant(text)
        except (TypeError, ValueError):
            raise NetSuiteResponseError(
                f"serverTime answered {str(data)[:120]!r}, not an ISO-8601 instant",
                operation="REST serverTime",
                hint=errors.BASE_URL_HINT,
            ) from None

    def _governance_flow(self) -> _Flow[dict[str, Any] | None]:
        call = _Call("REST governanceLimits", "GET", GOVERNANCE_LIMITS_PATH, passes=_governance_passes)
        response = yield call
        if response.status_code != 200:
            return None  # refused (not an administrator) or not served (before 2025.2): not an error
        data = _json(response, call, "governance limits")
        if not isinstance(data, dict):
            raise errors.not_netsuite_json(response, operation=call.operation, wanted="governance limits")
        return data


class RestClient(_RestBase):
    """NetSuite REST async jobs from synchronous code (poke and reschedule modes, operators).

    Args:
        settings: the account's RestSettings (``max_in_flight`` does not apply here).
        retry: the RetryPolicy for transient failures (default ``RetryPolicy()``).
        transport: an httpx transport to use instead of the network (tests: httpx.MockTransport).

    Use it as a context manager, or call ``close()``. Every method raises a NetSuiteError
    subclass (see faults.py and rest/errors.py) and nothing else.
    """

    def __init__(
        self,
        settings: RestSettings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(settings, retry=retry)
        self.http = httpx.Client(verify=settings.verify_tls, timeout=settings.timeout, transport=transport)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def submit(
        self,
        record_type: str,
        records: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
        *,
        operation: str = "add",
        idempotency_key: str | None,
        record_id: str | None = None,
        external_id: str | None = None,
    ) -> RestSubmitted:
        """Submit one REST async request: one record (a mapping) or a batch (a sequence of 1..100).

        One record: ``add`` POSTs ``/record/v1/{record_type}``; ``update`` PATCHes and ``delete``
        DELETEs ``.../{record_id}``; ``upsert`` PUTs ``.../eid:{external_id}``. A batch sends the
        same method to ``/record/v1/{record_type}`` with the collection content type and
        ``{"items": [...]}`` (each item carrying its own id for update/upsert/delete). Always
        ``Prefer: respond-async``; ``X-NetSuite-Idempotency-Key`` when a key is given (a UUID;
        the hook derives one from the task instance, stable across its tries).

        Returns:
            RestSubmitted: the job id from the 202's ``Location``, or, for a key NetSuite has
            seen (400 IDEMPOTENCY_ERROR with a Location), the earlier job with ``replayed=True``.

        Raises:
            ConfigurationError: a bad record type, operation, id, key, or over 100 records.
            SubmitOutcomeUnknownError: no key, and sent without a usable answer: the job may exist.
            NetSuiteResponseError: a 202 without a job URL in Location (the job may exist), a
                synchronous answer, or an answer that is not NetSuite's.
            NetSuiteError: NetSuite refused the request (AuthenticationError, ...).
        """
        return self._drive(
            self._submit_flow(record_type, records, operation, idempotency_key, record_id, external_id)
        )

    def check_async_status(self, job_id: str, *, progress: bool = False) -> AsyncJobStatus:
        """The job's status as AsyncJobStatus (see ``RestJob.to_status``).

        One request while the job is not completed; 2 + N (N tasks) on the poll that sees it
        completed, or on every poll with ``progress=True`` (task counts while running).

        Raises:
            InvalidJobIdError: NetSuite does not know the job (404 NONEXISTENT_ID).
            NetSuiteResponseError: a completed job with an empty task list; JSON not NetSuite's.
            NetSuiteError: any other failure (after retries for transient ones).
        """
        return self._drive(self._status_flow(job_id, progress))

    def job(self, job_id: str) -> RestJob:
        """The job with all its tasks (2 + N requests)."""
        return self._drive(self._job_flow(job_id, tasks=True))

    def task_ids(self, job_id: str) -> list[str]:
        """The job's task ids in NetSuite's order (1 request per 1000 tasks)."""
        return self._drive(self._task_ids_flow(_require_rest_job_id(job_id)))

    def task_result(self, job_id: str, task_id: str) -> RestTaskResult:
        """One task's result (1 request): NetSuite's error body makes it a failure.

        Raises:
            NetSuiteFault: TASK_NOT_COMPLETED (the task is still running).
            InvalidJobIdError: unknown job or task.
        """
        return self._drive(self._result_flow(job_id, task_id))

    def iter_task_results(self, job_id: str) -> Iterator[RestTaskResult]:
        """Every task's result, in task order (1 + N requests, read as iterated)."""
        for task_id in self.task_ids(job_id):
            yield self.task_result(job_id, task_id)

    def server_time(self) -> datetime:
        """NetSuite's clock (``GET /services/rest/system/v1/serverTime``, any role), timezone-aware."""
        return self._drive(self._server_time_flow())

    def governance_limits(self) -> dict[str, Any] | None:
        """``GET /services/rest/system/v1/governanceLimits`` (2025.2+, administrators only):
        ``{"accountConcurrencyLimit", "accountUnallocatedConcurrencyLimit",
        "integrationConcurrencyLimit", "limitType"}``, or None when NetSuite refuses (403) or does
        not serve it (404)."""
        return self._drive(self._governance_flow())

    def _drive(self, flow: _Flow[T]) -> T:
        call = next(flow)
        while True:
            response = self.retry.retrying(call.operation)(self._attempt, call)
            try:
                call = flow.send(response)
            except StopIteration as stop:
                result: T = stop.value
                return result

    def _attempt(self, call: _Call) -> httpx.Response:
        request = self._build(self.http, call)
        try:
            response = self.http.send(request, auth=self.auth)
        except Exception as error:  # every failure leaves as a typed NetSuiteError
            raise self._failure(call, error) from None
        self._judge(call, response)
        return response


@asynccontextmanager
async def async_rest_client(
    settings: RestSettings, *, retry: RetryPolicy | None = None
) -> AsyncIterator[AsyncRestClient]:
    """Lease an AsyncRestClient on its account's shared channel (the one SOAP async clients use:
    one connection pool and one in-flight limit per account per event loop); release it on exit.
    """
    async with lease_channel(settings) as channel:
        yield AsyncRestClient(settings, channel, retry=retry)


class AsyncRestClient(_RestBase):
    """NetSuite REST async jobs from asyncio (triggers); obtain one with ``async_rest_client``.

    Each HTTP attempt (a token request it needs included) holds one slot of the channel's
    limiter; 429 or a concurrency code halves the limit (``limiter.throttled``), answers widen
    it again, and the request is retried (see RetryPolicy). Same methods, answers and errors as
    RestClient.
    """

    def __init__(
        self, settings: RestSettings, channel: AccountChannel, *, retry: RetryPolicy | None = None
    ) -> None:
        super().__init__(settings, retry=retry)
        self.channel = channel

    async def submit(
        self,
        record_type: str,
        records: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
        *,
        operation: str = "add",
        idempotency_key: str | None,
        record_id: str | None = None,
        external_id: str | None = None,
    ) -> RestSubmitted:
        """See RestClient.submit."""
        return await self._drive(
            self._submit_flow(record_type, records, operation, idempotency_key, record_id, external_id)
        )

    async def check_async_status(
        self, job_id: str, *, progress: bool = False, retry_refused: bool = True
    ) -> AsyncJobStatus:
        """See RestClient.check_async_status (1 request per poll while running).

        Args:
            retry_refused: False to get a concurrency refusal (429, ConcurrencyLimitError) at
                once, for a caller that polls again in its own time (the trigger), as the SOAP
                client's ``check_async_status`` does.
        """
        return await self._drive(self._status_flow(job_id, progress), retry_refused=retry_refused)

    async def job(self, job_id: str) -> RestJob:
        """See RestClient.job."""
        return await self._drive(self._job_flow(job_id, tasks=True))

    async def task_ids(self, job_id: str) -> list[str]:
        """See RestClient.task_ids."""
        return await self._drive(self._task_ids_flow(_require_rest_job_id(job_id)))

    async def task_result(self, job_id: str, task_id: str) -> RestTaskResult:
        """See RestClient.task_result."""
        return await self._drive(self._result_flow(job_id, task_id))

    async def iter_task_results(self, job_id: str) -> AsyncIterator[RestTaskResult]:
        """See RestClient.iter_task_results."""
        for task_id in await self.task_ids(job_id):
            yield await self.task_result(job_id, task_id)

    async def server_time(self) -> datetime:
        """See RestClient.server_time."""
        return await self._drive(self._server_time_flow())

    async def governance_limits(self) -> dict[str, Any] | None:
        """See RestClient.governance_limits."""
        return await self._drive(self._governance_flow())

    async def _drive(self, flow: _Flow[T], *, retry_refused: bool = True) -> T:
        call = next(flow)
        while True:
            slot = self.channel.limiter.slot(call.job_id)
            await slot.reserve()  # in line before the retry controller exists (see Slot)
            try:
                retrying = self.retry.async_retrying(call.operation, retry_refused=retry_refused)
                response: httpx.Response = await retrying(self._attempt, call, slot)
            finally:
                slot.release()  # held only if the first attempt never started
            try:
                call = flow.send(response)
            except StopIteration as stop:
                result: T = stop.value
                return result

    async def _attempt(self, call: _Call, slot: Slot) -> httpx.Response:
        http = self.channel.http
        limiter = self.channel.limiter
        async with slot as epoch:
            request = self._build(http, call)
            try:
                response = await http.send(request, auth=self.auth)
            except Exception as error:  # every failure leaves as a typed NetSuiteError
                failure = self._failure(call, error)
                if isinstance(failure, ConcurrencyLimitError):
                    limiter.throttled(epoch, call.job_id)
                raise failure from None
            try:
                self._judge(call, response)
            except ConcurrencyLimitError:
                limiter.throttled(epoch, call.job_id)
                raise
        limiter.succeeded()
        return response


# ---- helpers ---------------------------------------------------------------------------------


def _json(response: httpx.Response, call: _Call, wanted: str) -> Any:
    try:
        return errors.read_json(response)
    except ValueError:
        raise errors.not_netsuite_json(
            response, operation=call.operation, job_id=call.job_id, wanted=f"{wanted} as NetSuite's JSON"
        ) from None


def _result_passes(response: httpx.Response) -> bool:
    """A task result: 200/204, or a 4xx carrying the record's own error body (our reading of how
    a failed task's result may come; UNVERIFIED), but not one about the request itself."""
    status = response.status_code
    if status in (200, 204):
        return True
    if not 400 <= status < 500 or status in (401, 403, 404, 429):
        return False
    body = errors.error_body(response)
    return body is not None and body.code not in _REQUEST_ERROR_CODES


def _governance_passes(response: httpx.Response) -> bool:
    return response.status_code == 200 or (
        response.status_code in (403, 404) and errors.error_body(response) is not None
    )


def _submit_passes(response: httpx.Response) -> bool:
    status = response.status_code
    if status in (200, 201, 202, 204):
        return True
    if status != 400:
        return False
    body = errors.error_body(response)
    return body is not None and body.code == errors.IDEMPOTENCY_ERROR


_REQUEST_ERROR_CODES = (
    {errors.TASK_NOT_COMPLETED}
    | errors.INVALID_LOGIN_CODES
    | errors.PERMISSION_CODES
    | errors.NONEXISTENT_CODES
    | {"CONCURRENCY_LIMIT_EXCEEDED", "SSS_REQUEST_LIMIT_EXCEEDED"}
)


def _parse_instant(text: Any) -> datetime:
    if not isinstance(text, str):
        raise TypeError(text)
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    instant = datetime.fromisoformat(value)
    return instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)


def _require_rest_job_id(job_id: Any, *, name: str = "job_id") -> str:
    value = require_job_id(job_id, name=name)
    if any(ch in value for ch in "/?#\\") or any(ch.isspace() for ch in value):
        raise ConfigurationError(
            f"{name} {value[:80]!r} is not a REST async job id: give the id at the end of the "
            f"submit's Location ({JOB_PATH}/<id>), not a URL or path."
        )
    return value


def _idempotency_key(key: Any) -> str | None:
    if key is None:
        return None
    try:
        return str(uuid.UUID(str(key).strip()))
    except ValueError:
        raise ConfigurationError(
            f"idempotency_key {str(key)[:60]!r} is not a UUID: NetSuite's X-NetSuite-Idempotency-Key "
            "must be an RFC 4122 UUID (e.g. uuid.uuid5 of the task instance's key)."
        ) from None


def _submit_call(
    record_type: str,
    records: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
    operation: str,
    idempotency_key: str | None,
    record_id: str | None,
    external_id: str | None,
) -> _Call:
    if operation not in SUBMIT_METHODS:
        raise ConfigurationError(
            f"operation {str(operation)[:40]!r} is not a REST submit operation: use one of "
            f"{', '.join(SUBMIT_METHODS)}."
        )
    if not isinstance(record_type, str) or not _RECORD_TYPE.match(record_type.strip()):
        raise ConfigurationError(
            f"record_type {str(record_type)[:60]!r} is not a REST record type: use its script id as "
            "in /services/rest/record/v1/metadata-catalog (e.g. 'customer', 'salesOrder', "
            "'customrecord_shipment')."
        )
    record_type = record_type.strip()
    key = _idempotency_key(idempotency_key)
    method = SUBMIT_METHODS[operation]
    path = f"{RECORD_PATH}/{record_type}"
    headers = [("Prefer", "respond-async")]
    if key is not None:
        headers.append((IDEMPOTENCY_HEADER, key))
    body: Any = _NO_BODY
    if records is None or isinstance(records, Mapping):
        if records is None and operation != "delete":
            raise ConfigurationError(f"records is None: {operation} needs the record (a mapping) or a batch.")
        if operation in ("update", "delete"):
            path += "/" + _path_id(record_id, "record_id", operation)
        elif operation == "upsert":
            path += "/eid:" + _path_id(external_id, "external_id", operation)
        if operation != "delete":
            body = dict(records or {})
            headers.append(("Content-Type", "application/json"))
    elif isinstance(records, Sequence) and not isinstance(records, (str, bytes)):
        items = list(records)
        if not 1 <= len(items) <= MAX_BATCH_RECORDS:
            raise ConfigurationError(
                f"a REST batch request takes 1 to {MAX_BATCH_RECORDS} records of one type, got "
                f"{len(items)}: split the records into batches of {MAX_BATCH_RECORDS}."
            )
        bad = next((i for i, item in enumerate(items) if not isinstance(item, Mapping)), None)
        if bad is not None:
            raise ConfigurationError(
                f"record {bad} of the batch is a {type(items[bad]).__name__}, not a mapping of fields."
            )
        if record_id is not None or external_id is not None:
            raise ConfigurationError(
                "record_id and external_id are for one record; in a batch each item carries its own id."
            )
        body = {"items": [dict(item) for item in items]}
        headers.append(("Content-Type", COLLECTION_CONTENT_TYPE))
    else:
        raise ConfigurationError(
            f"records is a {type(records).__name__}: give one record (a mapping) or a list of "
            f"1..{MAX_BATCH_RECORDS} records."
        )
    return _Call(
        f"REST submit ({operation} {record_type})",
        method,
        path,
        body=body,
        headers=tuple(headers),
        submit=True,
        idempotent=key is not None,
        passes=_submit_passes,
    )


def _path_id(value: Any, name: str, operation: str) -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ConfigurationError(f"{name} is missing: {operation} of one record names it in the URL.")
    return quote(text, safe="")
