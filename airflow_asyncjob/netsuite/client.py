"""NetSuite SOAP clients, sync and async: zeep over the compact schema we ship, token-based auth.

- The schema is read once per process per endpoint version and shared by every client.
- ``NetSuiteClient`` (sync: poke and reschedule modes, operators): one zeep service per process
  per (endpoint version, service URL, time-out), reused by every call.
- ``async_client(...)`` (async: triggers): in one event loop, every client of one account shares
  one httpx connection pool and one AIMD limit on in-flight requests; the pool closes when the
  last client of the account is released.
- Every HTTP request gets a fresh tokenPassport (new nonce, timestamp and signature), retries
  included. Transient failures are retried with tenacity (exponential backoff with full jitter).

Imports nothing from Airflow.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any

import httpx
import requests
import tenacity
import zeep
import zeep.cache
import zeep.proxy
import zeep.wsdl
from urllib3.exceptions import NewConnectionError

from airflow_asyncjob.netsuite import auth, endpoints
from airflow_asyncjob.netsuite.faults import (
    ConcurrencyLimitError,
    ConfigurationError,
    NetSuiteError,
    NetSuiteFault,
    SubmitOutcomeUnknownError,
    excerpt,
)
from airflow_asyncjob.netsuite.limiter import AimdLimiter
from airflow_asyncjob.netsuite.models import (
    AsyncJobStatus,
    AsyncResultPage,
    parse_async_result,
    parse_async_status,
    parse_server_time,
)
from airflow_asyncjob.netsuite.records import RecordBuilder, build_request
from airflow_asyncjob.netsuite.schema import compact_wsdl
from airflow_asyncjob.netsuite.transports import AsyncTransport, NotSoapAnswer, SyncTransport, translate

log = logging.getLogger(__name__)

#: In-flight requests per account from one process, below NetSuite's smallest account limit (5).
DEFAULT_MAX_IN_FLIGHT = 4


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried.

    Attributes:
        max_attempts: attempts in all, the first included (>= 1).
        max_delay: seconds after the first attempt past which no new attempt starts.
        initial_wait: seconds; the backoff's first upper bound (doubles per attempt, full jitter).
        max_wait: seconds; the largest single wait.
    """

    max_attempts: int = 5
    max_delay: float = 120.0
    initial_wait: float = 1.0
    max_wait: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_delay < 0 or self.initial_wait < 0 or self.max_wait < 0:
            raise ConfigurationError(
                f"invalid retry policy {self}: max_attempts must be >= 1 and the times >= 0 seconds."
            )


def _retrying(policy: RetryPolicy) -> dict[str, Any]:
    """tenacity arguments for a policy. Concurrency faults do not use up attempts: the limiter
    steps down on them, and only ``max_delay`` ends their retries."""
    attempts = tenacity.stop_after_attempt(policy.max_attempts)
    delay = tenacity.stop_after_delay(policy.max_delay)

    def stop(state: tenacity.RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, ConcurrencyLimitError):
            return delay(state)
        return attempts(state) or delay(state)

    return dict(
        retry=tenacity.retry_if_exception(_is_transient),
        stop=stop,
        wait=tenacity.wait_random_exponential(multiplier=policy.initial_wait, max=policy.max_wait),
        before_sleep=_log_retry,
        reraise=True,
    )


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, NetSuiteError) and error.transient


def _log_retry(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning("%s; attempt %d failed, retrying in %.1f s", error, state.attempt_number, wait)


_ZEEP_SETTINGS = zeep.Settings(
    strict=False,  # unknown extra elements in answers are ignored rather than fatal
    xml_huge_tree=False,
    forbid_dtd=True,
    forbid_entities=True,
    forbid_external=True,
)

_lock = threading.Lock()
_documents: dict[tuple[str, bool], zeep.wsdl.Document] = {}

#: Operations whose messages need no record type: their clients read the schema without them.
STATUS_OPERATIONS = frozenset({"checkAsyncStatus", "getServerTime"})
_services: dict[tuple[str, str, float, bool, str | None, bool], Any] = {}
_official_documents: dict[tuple[str, str], zeep.wsdl.Document] = {}


def _document(endpoint_version: str, records: bool = True) -> zeep.wsdl.Document:
    """The parsed compact schema for an endpoint version, built once per process (caller holds _lock)."""
    document = _documents.get((endpoint_version, records))
    if document is None:
        loader = SyncTransport()  # never fetches: the document has no imports
        document = zeep.wsdl.Document(
            BytesIO(compact_wsdl(endpoint_version, records=records)),
            loader,  # type: ignore[arg-type]  # zeep annotates a class, wants an instance
            settings=_ZEEP_SETTINGS,
        )
        _documents[(endpoint_version, records)] = document
    return document


def wsdl_cache_path() -> str:
    """Where WSDL/XSD files loaded over HTTP are kept (zeep's SqliteCache, no expiry):
    ``$XDG_CACHE_HOME/airflow-provider-asyncjob/wsdl.sqlite`` (``~/.cache`` without XDG_CACHE_HOME)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "airflow-provider-asyncjob", "wsdl.sqlite")


def _official_document(endpoint_version: str, wsdl: str) -> zeep.wsdl.Document:
    """NetSuite's own WSDL at ``wsdl`` (a URL, fetched once and then read from the disk cache,
    or a local path), built once per process (caller holds _lock).

    Raises:
        ConfigurationError: it cannot be loaded, or has no NetSuiteBinding of ``endpoint_version``.
    """
    document = _official_documents.get((endpoint_version, wsdl))
    if document is not None:
        return document
    cache = None
    if wsdl.startswith(("http://", "https://")):
        os.makedirs(os.path.dirname(wsdl_cache_path()), exist_ok=True)
        cache = zeep.cache.SqliteCache(path=wsdl_cache_path(), timeout=None)
    loader = SyncTransport(cache=cache, timeout=120)
    try:
        # NetSuite's WSDL imports its XSDs by URL: allowed while loading it, never in answers.
        settings = zeep.Settings(
            strict=False, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=False
        )
        document = zeep.wsdl.Document(wsdl, loader, settings=settings)  # type: ignore[arg-type]
    except Exception as error:  # zeep raises lxml, requests, OS and its own errors while loading
        raise ConfigurationError(
            f"could not load the WSDL {wsdl!r} ({type(error).__name__}: {excerpt(str(error))}).",
            hint="Set the connection's extra 'wsdl' to NetSuite's WSDL URL "
            "(https://webservices.netsuite.com/wsdl/v<V>_0/netsuite.wsdl) or a local copy, or remove it.",
        ) from None
    if _binding(endpoint_version) not in document.bindings:
        raise ConfigurationError(
            f"the WSDL {wsdl!r} has no NetSuiteBinding for endpoint version {endpoint_version} "
            f"(it has {', '.join(map(str, document.bindings)) or 'none'}).",
            hint="Use the WSDL of the connection's endpoint_version, or set endpoint_version to the WSDL's.",
        )
    _official_documents[(endpoint_version, wsdl)] = document
    return document


def _binding(endpoint_version: str) -> str:
    return f"{{{endpoints.namespaces(endpoint_version).wsdl}}}NetSuiteBinding"


def zeep_service(
    endpoint_version: str,
    url: str,
    timeout: float,
    verify_tls: bool = True,
    wsdl: str | None = None,
    records: bool = True,
) -> Any:
    """The process-wide sync zeep service proxy for (endpoint version, service URL, timeout,
    TLS check, WSDL, records): over the compact schema (without its record types when
    ``records`` is false: what status polls need), or over NetSuite's own WSDL at ``wsdl``.

    Raises:
        ConfigurationError: ``wsdl`` cannot be loaded or is of another endpoint version.
    """
    records = records or wsdl is not None
    key = (endpoint_version, url, timeout, verify_tls, wsdl, records)
    service = _services.get(key)
    if service is None:
        with _lock:
            service = _services.get(key)
            if service is None:
                transport = SyncTransport(
                    timeout=timeout, operation_timeout=timeout, endpoint_version=endpoint_version
                )
                transport.session.verify = verify_tls
                document = (
                    _document(endpoint_version, records)
                    if wsdl is None
                    else _official_document(endpoint_version, wsdl)
                )
                client = zeep.Client(document, transport=transport, settings=_ZEEP_SETTINGS)
                service = _services[key] = client.create_service(_binding(endpoint_version), url)
    return service


def _passport(credentials: auth.TokenCredentials, on_signature: Callable[[str], None] | None) -> Any:
    passport = auth.token_passport(credentials)
    if on_signature is not None:
        on_signature(passport["signature"]["_value_1"])  # type: ignore[index]
    return passport


# -- operations: arguments checked and answers parsed the same way for both clients ---------------


@dataclass(frozen=True)
class _Call:
    operation: str
    job_id: str | None
    body: dict[str, Any]
    parse: Callable[[Any], Any]


def _check_async_status(job_id: str) -> _Call:
    job_id = _require_job_id(job_id)
    return _Call(
        "checkAsyncStatus",
        job_id,
        {"jobId": job_id},
        lambda answer: parse_async_status(answer, requested_job_id=job_id),
    )


def _get_async_result(job_id: str, page_index: int) -> _Call:
    job_id = _require_job_id(job_id)
    if isinstance(page_index, bool) or not isinstance(page_index, int) or page_index < 1:
        raise ConfigurationError(
            f"page_index must be an integer >= 1 (pages are 1-based), got {page_index!r}."
        )
    return _Call(
        "getAsyncResult",
        job_id,
        {"jobId": job_id, "pageIndex": page_index},
        lambda answer: parse_async_result(answer, job_id=job_id, page_index=page_index),
    )


def _get_server_time() -> _Call:
    return _Call("getServerTime", None, {}, parse_server_time)


class _Endpoint:
    """What both clients hold: credentials, the service URL of an endpoint version, time-out,
    retry policy and the signature callback (arguments as documented on NetSuiteClient)."""

    def __init__(
        self,
        credentials: auth.TokenCredentials,
        *,
        endpoint_version: str = endpoints.DEFAULT_ENDPOINT_VERSION,
        base_url: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        on_signature: Callable[[str], None] | None = None,
    ) -> None:
        self.credentials = credentials
        self.endpoint_version = endpoints.validate_endpoint_version(endpoint_version)
        self.url = endpoints.service_url(credentials.account, self.endpoint_version, base_url)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.on_signature = on_signature

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account={self.credentials.account}, url={self.url!r})"


class NetSuiteClient(_Endpoint):
    """Authenticated NetSuite SOAP calls for one account and endpoint version (sync).

    Args:
        credentials: the TBA credentials (account id already normalised).
        endpoint_version: e.g. ``"2025_2"``; sets the namespaces and the service path.
        base_url: replaces ``https://<account host>.suitetalk.api.netsuite.com`` (emulator, proxy).
        timeout: seconds for one HTTP request (connect and read).
        retry: the RetryPolicy for transient failures.
        verify_tls: check the server's TLS certificate (default True).
        on_signature: called with each tokenPassport signature before it is sent (the hook
            registers it with Airflow's secrets masker).
        wsdl: NetSuite's WSDL for ``endpoint_version`` (URL or local path) instead of the compact
            schema shipped here: every record type and field of that version can then be sent.

    Every method raises a NetSuiteError subclass (see faults.py) and nothing else.
    """

    def __init__(
        self,
        credentials: auth.TokenCredentials,
        *,
        endpoint_version: str = endpoints.DEFAULT_ENDPOINT_VERSION,
        base_url: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        verify_tls: bool = True,
        on_signature: Callable[[str], None] | None = None,
        wsdl: str | None = None,
    ) -> None:
        super().__init__(
            credentials,
            endpoint_version=endpoint_version,
            base_url=base_url,
            timeout=timeout,
            retry=retry,
            on_signature=on_signature,
        )
        self.verify_tls = verify_tls
        self.wsdl = (wsdl or "").strip() or None

    def check_async_status(self, job_id: str) -> AsyncJobStatus:
        """checkAsyncStatus(jobId) -> AsyncJobStatus (Help Center: "checkAsyncStatus")."""
        return self._run(_check_async_status(job_id))

    def get_async_result(self, job_id: str, page_index: int = 1) -> AsyncResultPage:
        """getAsyncResult(jobId, pageIndex) -> one AsyncResultPage (pageIndex is 1-based).

        NetSuite allows 20 calls per job within 30 days; each call here is one of them.
        """
        return self._run(_get_async_result(job_id, page_index))

    def get_server_time(self) -> datetime:
        """getServerTime -> NetSuite's clock (a cheap authenticated call)."""
        return self._run(_get_server_time())

    def submit(
        self,
        operation: str,
        items: Any,
        *,
        record_type: str | None = None,
        deletion_reason: dict[str, Any] | None = None,
    ) -> AsyncJobStatus:
        """Submit one async job: asyncAddList / asyncUpdateList / asyncUpsertList (records),
        asyncDeleteList / asyncGetList (baseRefs), asyncInitializeList (initializeRecords) or
        asyncSearch (one search record). See records.py for the dict shapes.

        Returns the job's first status (``pending`` with its job id). The record count is checked
        before sending. Retried only where NetSuite cannot have created the job: a fault answer
        (WS_REQUEST_BLOCKED, ...), HTTP 429/503, or no connection made.

        Raises:
            RecordCountError / ConfigurationError: bad items or over the operation's limit.
            SubmitOutcomeUnknownError: sent, but no usable answer (time-out, dropped connection,
                gateway error, cut-off body): the job may exist; not retried.
            NetSuiteError: any other failure.
        """
        body = build_request(
            self.record_builder(), operation, items, record_type=record_type, deletion_reason=deletion_reason
        )
        once = copy.copy(self)  # _call's own retries would resend after an unknown outcome
        once.retry = RetryPolicy(max_attempts=1, max_delay=0.0)
        retrying = _retrying(self.retry)
        retrying["retry"] = tenacity.retry_if_exception(_safe_to_resend)
        try:
            answer = tenacity.Retrying(**retrying)(once._call, operation, None, **body)
        except NetSuiteError as error:
            if error.transient and not _safe_to_resend(error):
                raise SubmitOutcomeUnknownError(operation, error) from error
            raise
        return parse_async_status(answer, requested_job_id="")

    def record_builder(self) -> RecordBuilder:
        """The RecordBuilder over the schema this client sends with (compact or ``wsdl``)."""
        zeep_client = zeep_service(
            self.endpoint_version, self.url, self.timeout, self.verify_tls, self.wsdl
        )._client
        builder = getattr(zeep_client, "_asyncjob_records", None)
        if builder is None:
            builder = RecordBuilder(zeep_client, endpoints.namespaces(self.endpoint_version).core)
            zeep_client._asyncjob_records = builder
        return builder

    def _run(self, call: _Call) -> Any:
        return call.parse(self._call(call.operation, call.job_id, **call.body))

    def _call(self, operation: str, job_id: str | None, **body: Any) -> Any:
        """One operation with retries; returns the answer's SOAP body as zeep objects."""
        return tenacity.Retrying(**_retrying(self.retry))(self._attempt, operation, job_id, body)

    def _attempt(self, operation: str, job_id: str | None, body: dict[str, Any]) -> Any:
        service = zeep_service(
            self.endpoint_version,
            self.url,
            self.timeout,
            self.verify_tls,
            self.wsdl,
            records=operation not in STATUS_OPERATIONS,
        )
        # A fresh passport on every attempt: NetSuite rejects a reused nonce.
        headers = {"tokenPassport": _passport(self.credentials, self.on_signature)}
        try:
            return getattr(service, operation)(**body, _soapheaders=headers).body
        except Exception as error:  # every failure leaves as a typed NetSuiteError
            raise translate(error, operation, job_id) from None


# -- async: one pool and one limit per account per event loop -------------------------------------


@dataclass(eq=False)
class AccountChannel:
    """What the async clients of one account share in one event loop.

    Attributes:
        account: the passport account id (e.g. ``1234567_SB1``).
        limiter: the AIMD limit on this account's in-flight requests.
        http: the httpx connection pool.
        leases: the clients holding this channel; it closes when the last one goes.
    """

    account: str
    limiter: AimdLimiter
    http: httpx.AsyncClient
    leases: int = 0
    _services: dict[tuple[str, str, float, bool], Any] = field(default_factory=dict)

    def service(self, endpoint_version: str, url: str, timeout: float, records: bool = True) -> Any:
        key = (endpoint_version, url, timeout, records)
        service = self._services.get(key)
        if service is None:
            with _lock:
                document = _document(endpoint_version, records)
            client = zeep.AsyncClient(
                document,
                transport=AsyncTransport(self.http, timeout, endpoint_version),
                settings=_ZEEP_SETTINGS,
            )
            binding = document.bindings[_binding(endpoint_version)]
            service = self._services[key] = zeep.proxy.AsyncServiceProxy(client, binding, address=url)
        return service


_channels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AccountChannel]] = (
    weakref.WeakKeyDictionary()
)


def open_channels() -> dict[str, AccountChannel]:
    """The channels open in the running event loop, by account (for tests and diagnostics)."""
    return dict(_channels.get(asyncio.get_running_loop(), {}))


@asynccontextmanager
async def async_client(
    credentials: auth.TokenCredentials,
    *,
    endpoint_version: str = endpoints.DEFAULT_ENDPOINT_VERSION,
    base_url: str | None = None,
    timeout: float = 60.0,
    retry: RetryPolicy | None = None,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    verify_tls: bool = True,
    on_signature: Callable[[str], None] | None = None,
) -> AsyncIterator[AsyncNetSuiteClient]:
    """Lease an AsyncNetSuiteClient on its account's shared channel; release it on exit.

    Args:
        credentials: the TBA credentials (account id already normalised).
        endpoint_version: e.g. ``"2025_2"``.
        base_url: replaces ``https://<account host>.suitetalk.api.netsuite.com``.
        timeout: seconds for one HTTP request.
        retry: the RetryPolicy for transient failures.
        max_in_flight: the most requests this account may have in flight from this event loop.
            Clients that ask for different values share the lowest.
        verify_tls: check the server's TLS certificate (default True).
        on_signature: called with each tokenPassport signature before it is sent.

    Raises:
        ConfigurationError: a bad endpoint version, base URL or ``max_in_flight``.

    The last lease of an account to exit (normally, by an error or by cancellation) closes the
    account's connection pool.
    """
    client = AsyncNetSuiteClient(
        credentials,
        endpoint_version=endpoint_version,
        base_url=base_url,
        timeout=timeout,
        retry=retry,
        on_signature=on_signature,
    )
    limiter = AimdLimiter(max_in_flight)  # validates max_in_flight before anything is opened
    channels = _channels.setdefault(asyncio.get_running_loop(), {})
    account = credentials.account.passport
    key = account if verify_tls else f"{account} (TLS unchecked)"
    channel = channels.get(key)
    if channel is None:
        pool = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
        http = httpx.AsyncClient(limits=pool, verify=verify_tls)
        channel = channels[key] = AccountChannel(account, limiter, http)
    elif max_in_flight < channel.limiter.ceiling:
        channel.limiter.lower_ceiling(max_in_flight)
    channel.leases += 1
    client.channel = channel
    try:
        yield client
    finally:
        channel.leases -= 1
        if channel.leases == 0:
            if channels.get(key) is channel:
                del channels[key]  # a lease taken while we close gets a fresh channel
            await channel.http.aclose()


class AsyncNetSuiteClient(_Endpoint):
    """Authenticated NetSuite SOAP calls from asyncio; obtain one with ``async_client(...)``.

    Same operations, errors and retries as NetSuiteClient. Each HTTP attempt holds one slot of
    the account's limiter; a concurrency fault (WS_REQUEST_BLOCKED, WS_CONCUR_SESSION_DISALLWD)
    halves the limit, answers widen it again, and the request is retried (see ``_retrying``).
    """

    channel: AccountChannel

    async def check_async_status(self, job_id: str) -> AsyncJobStatus:
        """checkAsyncStatus(jobId) -> AsyncJobStatus (Help Center: "checkAsyncStatus")."""
        return await self._run(_check_async_status(job_id))

    async def get_async_result(self, job_id: str, page_index: int = 1) -> AsyncResultPage:
        """getAsyncResult(jobId, pageIndex) -> one AsyncResultPage (1-based; 20 calls per job)."""
        return await self._run(_get_async_result(job_id, page_index))

    async def get_server_time(self) -> datetime:
        """getServerTime -> NetSuite's clock."""
        return await self._run(_get_server_time())

    async def _run(self, call: _Call) -> Any:
        retrying = tenacity.AsyncRetrying(**_retrying(self.retry))
        answer: Any = await retrying(self._attempt, call.operation, call.job_id, call.body)
        return call.parse(answer)

    async def _attempt(self, operation: str, job_id: str | None, body: dict[str, Any]) -> Any:
        service = self.channel.service(
            self.endpoint_version, self.url, self.timeout, records=operation not in STATUS_OPERATIONS
        )
        limiter = self.channel.limiter
        async with limiter.slot() as epoch:
            # The passport is made once a slot is held, so its timestamp is fresh when sent.
            headers = {"tokenPassport": _passport(self.credentials, self.on_signature)}
            try:
                answer = await getattr(service, operation)(**body, _soapheaders=headers)
            except Exception as error:  # every failure leaves as a typed NetSuiteError
                failure = translate(error, operation, job_id)
                if isinstance(failure, ConcurrencyLimitError):
                    limiter.throttled(epoch)
                raise failure from None
        limiter.succeeded()
        return answer.body


MAX_JOB_ID_LENGTH = 256


def _safe_to_resend(error: BaseException) -> bool:
    """True when a failed submit cannot have created a job, so sending it again is safe:
    NetSuite answered with a transient fault (it refused the request), HTTP 429 or 503 (the
    service refused it), or no connection was made at all."""
    if not isinstance(error, NetSuiteError) or not error.transient:
        return False
    if isinstance(error, NetSuiteFault):
        return True
    cause = error.__cause__ or error.__context__
    if isinstance(cause, NotSoapAnswer):
        return cause.status in (429, 503)
    return _no_connection_made(cause)


def _no_connection_made(error: BaseException | None) -> bool:
    """Walks requests' ConnectionError -> urllib3's MaxRetryError -> NewConnectionError."""
    for _ in range(8):
        if error is None:
            return False
        if isinstance(error, (requests.exceptions.ConnectTimeout, NewConnectionError)):
            return True
        reason = getattr(error, "reason", None)
        error = (
            reason
            if isinstance(reason, BaseException)
            else next((arg for arg in error.args if isinstance(arg, BaseException)), None)
        )
    return False


def _require_job_id(job_id: Any) -> str:
    value = job_id.strip() if isinstance(job_id, str) else ""
    if not value or len(value) > MAX_JOB_ID_LENGTH or not value.isprintable():
        shown = repr(job_id) if len(repr(job_id)) <= 80 else repr(job_id)[:80] + "..."
        raise ConfigurationError(
            f"job_id must be NetSuite's jobId from an async* call: a non-empty printable string of at "
            f"most {MAX_JOB_ID_LENGTH} characters, got {shown}."
        )
    return value
