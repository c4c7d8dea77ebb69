"""HTTP for the emulator: a Starlette app served by uvicorn on 127.0.0.1, in a background thread
(``with Emulator() as emu``) or in the foreground (the CLI).

Routes:
    POST /services/NetSuitePort_<V>          the SOAP port of endpoint version V (YYYY_N)
    GET  /services/NetSuitePort_<V>?wsdl     the compact WSDL for V, soap:address = this port
    GET  /wsdl/v<V>_0/netsuite.wsdl          the same WSDL at NetSuite's WSDL path
    POST /_emulator/jobs                     create a job from a JSON job spec -> {"job_id"}
    POST /_emulator/faults                   queue an injection (JSON, see Injection.from_dict)
    GET  /_emulator/stats                    counters (see Emulator.stats)
    GET  /_emulator/requests?limit=N         the last SOAP requests, raw
    POST /_emulator/reset                    forget jobs, nonces, injections, stats, requests

A SOAP request goes: parse (soapenv:Client fault when malformed) -> concurrency admission
(ExceededConcurrentRequestLimitFault WS_REQUEST_BLOCKED when ``concurrency_limit`` requests are
already in flight; Help Center "Web Services and RESTlet Concurrency Governance") -> a queued
injection for the operation, if any -> tokenPassport check -> the operation.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from os import PathLike
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from airflow_asyncjob.netsuite.auth import TokenCredentials
from airflow_asyncjob.netsuite.endpoints import (
    DEFAULT_ENDPOINT_VERSION,
    normalize_account_id,
    service_url,
    validate_endpoint_version,
)
from airflow_asyncjob.testing.emulator import soap
from airflow_asyncjob.testing.emulator.exceptions import (
    ClientFault,
    EmulatedFault,
    concurrency_limit_exceeded,
)
from airflow_asyncjob.testing.emulator.jobs import Clock, JobSpec, JobStore, TokenPassportChecker
from airflow_asyncjob.testing.emulator.scenario import Scenario, job_spec_from_dict

HOST = "127.0.0.1"
DEFAULT_ACCOUNT_ID = "1234567_SB1"
DEFAULT_CREDENTIALS = {"consumer_key": "ck", "consumer_secret": "cs", "token_id": "tk", "token_secret": "ts"}
DEFAULT_CONCURRENCY_LIMIT = 5
"""The smallest service tier's limit (developer accounts, base tiers without SuiteCloud Plus)."""
CONNECTION_TYPE = "netsuite_soap"

INJECTION_KINDS = ("soap_fault", "http_error", "delay", "drop", "raw")
_INJECTION_FIELDS = {
    "soap_fault": ("code", "message", "fault_type"),
    "http_error": ("status", "body"),
    "delay": ("seconds",),
    "drop": (),
    "raw": ("body", "status", "content_type"),
}


@dataclass(frozen=True)
class Injection:
    """A misbehaviour for the next ``times`` SOAP requests (of ``operation``, or any), once
    ``after`` such requests have been let through unchanged.

    With ``probability`` below 1 it is a random injection: each matching request is replaced
    with that probability (a fault soak: ``probability=0.1, times=None`` replaces about one answer
    in ten until reset). ``times`` then counts the requests it replaced; None means no limit.
    The draws come from ``random.Random`` seeded with ``seed`` and the injection's position in the
    queue since the last reset: the same queue of injections meeting the same sequence of requests
    replaces the same ones, and two injections given the same seed still draw independently.
    Injections are considered in the order queued; one whose draw misses lets the next one be
    considered, so the first that applies replaces the answer.

    Kinds:
        soap_fault: answer ``fault`` (HTTP 500) instead of the operation's answer.
        http_error: answer an HTML error page with ``status`` (a proxy's 503, a wrong URL's 404).
        delay: wait ``seconds`` and then answer normally (the request stays in flight).
        drop: close the connection without any answer (the client sees the server disconnect).
        raw: answer ``body`` with ``status`` and ``content_type`` as given.
    """

    kind: str
    operation: str | None = None
    times: int | None = 1
    after: int = 0
    fault: EmulatedFault | None = None
    status: int = 503
    body: str | None = None
    content_type: str = "text/html; charset=utf-8"
    seconds: float = 0.0
    probability: float = 1.0
    seed: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Injection:
        """The JSON form: ``{"kind", "operation"?, "times"? (null: no limit), "after"?,
        "probability"? (0 < p <= 1, default 1), "seed"? (an integer, default 0), ...}`` plus, per kind,
        soap_fault: ``code``, ``message``?, ``fault_type``? (known codes such as WS_REQUEST_BLOCKED,
        UNEXPECTED_ERROR, ACCT_TEMP_UNAVAILABLE fill in NetSuite's type and text); http_error:
        ``status``? (503), ``body``?; delay: ``seconds``; raw: ``body``, ``status``? (200),
        ``content_type``? (text/xml).

        Raises:
            ValueError: unknown kind, key or operation, times < 1, after < 0, a probability outside
                (0, 1], a seed that is not an integer, an HTTP status Python does not know, negative
                seconds, an unknown fault code without fault_type and message.
        """
        kind = data.get("kind")
        if kind not in INJECTION_KINDS:
            raise ValueError(f"kind must be one of {', '.join(INJECTION_KINDS)}, not {kind!r}")
        allowed = {"kind", "operation", "times", "after", "probability", "seed", *_INJECTION_FIELDS[kind]}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"a {kind} injection does not take {unknown}; it takes {sorted(allowed)}")
        times = data.get("times", 1)
        if times is not None:
            times = int(times)
            if times < 1:
                raise ValueError("times must be >= 1, or null for no limit")
        after = int(data.get("after", 0))
        if after < 0:
            raise ValueError("after must be >= 0")
        operation = data.get("operation")
        if operation is not None and operation not in soap.OPERATIONS:
            raise ValueError(f"operation {operation!r} is not one of {', '.join(soap.OPERATIONS)}")
        status = int(data.get("status", 200 if kind == "raw" else 503))
        HTTPStatus(status)  # raises ValueError for a status uvicorn could not send either
        probability = data.get("probability", 1.0)
        if isinstance(probability, bool) or not isinstance(probability, (int, float)):
            raise ValueError(f"probability must be a number within (0, 1], not {probability!r}")
        if not (math.isfinite(probability) and 0 < probability <= 1):
            raise ValueError(f"probability must be within (0, 1], not {probability!r}")
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an integer, not {seed!r}")
        common = {
            "kind": kind,
            "operation": operation,
            "times": times,
            "after": after,
            "probability": float(probability),
            "seed": seed,
        }
        if kind == "soap_fault":
            if not data.get("code"):
                raise ValueError("a soap_fault injection needs a code")
            fault = EmulatedFault.well_known(data["code"], data.get("message"), data.get("fault_type"))
            return cls(**common, fault=fault)
        if kind == "http_error":
            return cls(**common, status=status, body=data.get("body"))
        if kind == "delay":
            seconds = float(data.get("seconds", 0))
            if seconds < 0:
                raise ValueError("seconds must be >= 0")
            return cls(**common, seconds=seconds)
        if kind == "raw":
            return cls(
                **common,
                status=status,
                body=str(data.get("body", "")),
                content_type=data.get("content_type", soap.CONTENT_TYPE),
            )
        return cls(**common)


def _html_page(status: int) -> str:
    """A bare error page like a load balancer's; the phrase comes from the stdlib, not a request."""
    phrase = HTTPStatus(status).phrase
    return (
        f"<!DOCTYPE html><html><head><title>{status} {phrase}</title></head>"
        f"<body><h1>{phrase}</h1><p>The server cannot serve this request right now.</p></body></html>"
    )


class _Service:
    """The HTTP-level state of one emulator: in-flight count, injections, stats, request log.
    Thread-safe (the app runs on uvicorn's loop; the Python API is called from other threads)."""

    def __init__(
        self,
        jobs: JobStore,
        checker: TokenPassportChecker,
        concurrency_limit: int,
        max_logged_requests: int,
        latency: float = 0.0,
    ) -> None:
        if concurrency_limit < 1:
            raise ValueError("concurrency_limit must be >= 1")
        if not 0 <= latency <= 60:
            raise ValueError(f"latency must be within 0..60 seconds, got {latency!r}")
        self.default_latency = self.latency = latency
        self.jobs = jobs
        self.checker = checker
        self.concurrency_limit = concurrency_limit
        self._lock = threading.Lock()
        self._log: deque[dict[str, Any]] = deque(maxlen=max_logged_requests)
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.latency = self.default_latency
            self._in_flight = self._max_in_flight = 0
            self._over_limit = 0
            self._queued = 0  # injections queued since reset: part of each random one's seed
            self._requests: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()
            self._applied: Counter[str] = Counter()
            # [Injection, times left (None: no limit), requests to let through, Random or None]
            self._injections: list[list[Any]] = []
            self._log.clear()
        self.jobs.reset()
        self.checker.reset()

    def admit(self) -> bool:
        with self._lock:
            if self._in_flight >= self.concurrency_limit:
                self._over_limit += 1
                return False
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            return True

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def queue(self, injection: Injection) -> None:
        with self._lock:
            draws = None
            if injection.probability < 1:
                draws = random.Random(f"{injection.seed}/{self._queued}")
            self._queued += 1
            self._injections.append([injection, injection.times, injection.after, draws])

    def take_injection(self, operation: str) -> Injection | None:
        """The first queued injection for ``operation`` (or for any) that applies, using up one
        of its times (or, while it still lets requests through, one of those, and then none
        applies). A random injection whose draw misses lets the next one be considered."""
        with self._lock:
            for entry in self._injections:
                injection, _, _, draws = entry
                if injection.operation in (None, operation):
                    if entry[2] > 0:
                        entry[2] -= 1
                        return None
                    if draws is not None and draws.random() >= injection.probability:
                        continue
                    if entry[1] is not None:
                        entry[1] -= 1
                        if entry[1] == 0:
                            self._injections.remove(entry)
                    self._applied[injection.kind] += 1
                    return injection
        return None

    def record(
        self, operation: str | None, endpoint_version: str, soap_action: str | None, body: bytes
    ) -> None:
        with self._lock:
            self._requests[operation or "(unparsed)"] += 1
            self._log.append(
                {
                    "operation": operation,
                    "endpoint_version": endpoint_version,
                    "soap_action": soap_action,
                    "body": body.decode("utf-8", "replace"),
                }
            )

    def count_fault(self, code: str) -> None:
        with self._lock:
            self._faults[code] += 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "concurrency_limit": self.concurrency_limit,
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "refused_over_limit": self._over_limit,
                "requests": dict(self._requests),
                "faults": dict(self._faults),
                "injections_applied": dict(self._applied),
                "injections_pending": sum(entry[1] or 0 for entry in self._injections),
                "injections_unlimited": sum(entry[1] is None for entry in self._injections),
                "jobs": len(self.jobs.job_ids()),
            }

    def requests(self, limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            entries = list(self._log)
        return entries if limit is None else entries[-limit:] if limit > 0 else []


_TRANSPORT_KEY = "airflow_asyncjob.emulator.transport"


class _ExposeTransport:
    """Outermost ASGI layer: puts uvicorn's asyncio transport into the scope so that a drop
    injection can close the socket before any byte of an answer (ASGI has no message for that)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            # uvicorn's send is a bound method of its request cycle, which holds the transport.
            scope[_TRANSPORT_KEY] = getattr(getattr(send, "__self__", None), "transport", None)
        await self.app(scope, receive, send)


class _ServerDate:
    """Sends the HTTP ``Date`` header from the emulator's clock, as a server's own clock would
    (RFC 9110, section 6.6.1): a client comparing clocks sees the skew the passport check sees."""

    def __init__(self, app: Callable[..., Any], clock: Callable[[], float]) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_date(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                date = formatdate(self.clock(), usegmt=True).encode("latin-1")
                message = {**message, "headers": [*message.get("headers", []), (b"date", date)]}
            await send(message)

        await self.app(scope, receive, send_with_date)


class _DropConnection(Response):
    """Closes the connection instead of answering: the client sees "Server disconnected without
    sending a response" (httpx) or RemoteDisconnected (http.client / requests)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        transport = scope.get(_TRANSPORT_KEY)
        if transport is None:
            raise RuntimeError("a drop injection needs uvicorn's HTTP transport (h11 or httptools)")
        transport.close()
        # One loop turn lets uvicorn register the disconnect, so it does not send a 500 itself.
        await asyncio.sleep(0)


def _xml(body: bytes, status_code: int = 200) -> Response:
    return Response(body, status_code=status_code, media_type=soap.CONTENT_TYPE)


def build_app(service: _Service) -> Starlette:
    """The Starlette app of one emulator."""

    def fault(endpoint_version: str, error: EmulatedFault) -> Response:
        service.count_fault(error.code)
        return _xml(soap.fault_response(endpoint_version, error), 500)

    def client_fault(error: ClientFault) -> Response:
        service.count_fault("Client")
        return _xml(soap.client_fault_response(error), 500)

    def dispatch(request: soap.SoapRequest) -> Response:
        version, operation, jobs = request.endpoint_version, request.operation, service.jobs
        try:
            service.checker.check(soap.read_token_passport(request))
            if operation == "getServerTime":
                return _xml(soap.server_time_response(version, jobs.clock()))
            if operation == "checkAsyncStatus":
                status = jobs.check_status(soap.read_job_id(request))
                return _xml(soap.async_status_response(version, operation, status))
            if operation == "getAsyncResult":
                page = jobs.get_result(soap.read_job_id(request), soap.read_page_index(request))
                return _xml(soap.async_result_response(version, page))
            status = jobs.submit(
                operation, soap.read_record_refs(request), soap.read_search_record_type(request)
            )
            return _xml(soap.async_status_response(version, operation, status))
        except EmulatedFault as error:
            return fault(version, error)
        except ClientFault as error:
            return client_fault(error)

    async def injected(injection: Injection, version: str) -> Response | None:
        if injection.kind == "delay":
            await asyncio.sleep(injection.seconds)
            return None
        if injection.kind == "soap_fault":
            assert injection.fault is not None
            return fault(version, injection.fault)
        if injection.kind == "drop":
            return _DropConnection()
        if injection.kind == "http_error":
            return HTMLResponse(injection.body or _html_page(injection.status), status_code=injection.status)
        # The content type goes in as a header so that Starlette adds no charset to it.
        return Response(
            injection.body, status_code=injection.status, headers={"content-type": injection.content_type}
        )

    def not_found() -> Response:
        return HTMLResponse(_html_page(404), status_code=404)

    def wsdl(request: Request, version: str) -> Response:
        location = f"{str(request.base_url).rstrip('/')}/services/NetSuitePort_{version}"
        return _xml(soap.render_wsdl(version, location))

    def path_version(request: Request) -> str | None:
        try:
            return validate_endpoint_version(request.path_params["version"])
        except ValueError:
            return None

    async def soap_port(request: Request) -> Response:
        version = path_version(request)
        if version is None:
            return not_found()
        if request.method == "GET":
            return wsdl(request, version) if "wsdl" in request.query_params else not_found()
        body = await request.body()
        soap_action = request.headers.get("soapaction")
        try:
            soap_request = soap.parse_request(body, version, soap_action)
        except ClientFault as error:
            service.record(None, version, soap_action, body)
            return client_fault(error)
        service.record(soap_request.operation, version, soap_action, body)
        if not service.admit():
            return fault(version, concurrency_limit_exceeded())
        try:
            if service.latency:  # NetSuite takes a while to answer; requests overlap meanwhile
                await asyncio.sleep(service.latency)
            injection = service.take_injection(soap_request.operation)
            response = await injected(injection, version) if injection else None
            return dispatch(soap_request) if response is None else response
        finally:
            service.release()

    async def wsdl_file(request: Request) -> Response:
        version = path_version(request)
        return not_found() if version is None else wsdl(request, version)

    async def admin_json(request: Request, action: Callable[[Any], Any]) -> Response:
        try:
            return JSONResponse(action(await request.json() if await request.body() else {}))
        except (ValueError, TypeError) as error:  # JSONDecodeError is a ValueError
            return JSONResponse({"error": str(error)}, status_code=400)

    async def create_job(request: Request) -> Response:
        return await admin_json(
            request, lambda data: {"job_id": service.jobs.create_job(job_spec_from_dict(data))}
        )

    async def queue_fault(request: Request) -> Response:
        def queue(data: Any) -> dict[str, Any]:
            if not isinstance(data, Mapping):
                raise ValueError("the injection must be a JSON object")
            service.queue(Injection.from_dict(data))
            return {"injections_pending": service.stats()["injections_pending"]}

        return await admin_json(request, queue)

    async def stats(request: Request) -> Response:
        return JSONResponse(service.stats())

    async def requests(request: Request) -> Response:
        limit = request.query_params.get("limit")
        try:
            return JSONResponse(service.requests(int(limit) if limit else None))
        except ValueError:
            return JSONResponse({"error": f"limit must be an integer, not {limit!r}"}, status_code=400)

    async def reset(request: Request) -> Response:
        service.reset()
        return JSONResponse({"reset": True})

    return Starlette(
        routes=[
            Route("/services/NetSuitePort_{version}", soap_port, methods=["GET", "POST"]),
            Route("/wsdl/v{version}_0/netsuite.wsdl", wsdl_file, methods=["GET"]),
            Route("/_emulator/jobs", create_job, methods=["POST"]),
            Route("/_emulator/faults", queue_fault, methods=["POST"]),
            Route("/_emulator/stats", stats, methods=["GET"]),
            Route("/_emulator/requests", requests, methods=["GET"]),
            Route("/_emulator/reset", reset, methods=["POST"]),
        ]
    )


def _as_scenario(scenario: Scenario | Mapping[str, Any] | str | PathLike[str] | None) -> Scenario:
    if scenario is None:
        return Scenario()
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Mapping):
        return Scenario.from_dict(scenario)
    return Scenario.load(scenario)


class Emulator:
    """A NetSuite SOAP async-job emulator on 127.0.0.1, for tests and CI.

        with Emulator(port=0, scenario=Scenario.example()) as emu:
            emu.base_url                   # "http://127.0.0.1:PORT"
            emu.airflow_connection_json()  # for AIRFLOW_CONN_NETSUITE_DEFAULT
            emu.inject("soap_fault", code="WS_REQUEST_BLOCKED", operation="checkAsyncStatus")

    Args:
        port: TCP port; 0 picks a free one (see ``port`` after start).
        scenario: a Scenario, its JSON dict, or a path to a scenario file.
        account_id: the account it serves; None takes the scenario's, else ``1234567_SB1``.
        consumer_key: accepted consumer key; None: the scenario's, else ``ck``.
        consumer_secret: accepted consumer secret; None: the scenario's, else ``cs``.
        token_id: accepted token id; None: the scenario's, else ``tk``.
        token_secret: accepted token secret; None: the scenario's, else ``ts``.
        concurrency_limit: in-flight SOAP requests allowed (None: scenario's, else 5).
        endpoint_version: the version used by ``service_url`` and ``airflow_connection``; the
            server answers every version.
        clock: Unix seconds; jobs' timelines, passport timestamps, getServerTime and the HTTP
            Date header of every answer read it.
        log_level: uvicorn's log level, critical..debug (debug adds an access log).
        max_logged_requests: how many raw requests ``requests()`` keeps.
        latency: seconds each admitted SOAP request takes before it is answered (0..60), so that
            requests overlap as they do against NetSuite; settable later as ``latency``.

    Raises:
        ValueError / ConfigurationError: a bad scenario, account id or limit.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        scenario: Scenario | Mapping[str, Any] | str | PathLike[str] | None = None,
        account_id: str | None = None,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        token_id: str | None = None,
        token_secret: str | None = None,
        concurrency_limit: int | None = None,
        endpoint_version: str = DEFAULT_ENDPOINT_VERSION,
        clock: Clock = time.time,
        log_level: str = "warning",
        max_logged_requests: int = 100,
        latency: float = 0.0,
    ) -> None:
        scenario = _as_scenario(scenario)

        def pick(name: str, value: Any, default: Any) -> Any:
            for candidate in (value, getattr(scenario, name)):
                if candidate is not None:
                    return candidate
            return default

        self.credentials = TokenCredentials(
            account=normalize_account_id(pick("account_id", account_id, DEFAULT_ACCOUNT_ID)),
            consumer_key=pick("consumer_key", consumer_key, DEFAULT_CREDENTIALS["consumer_key"]),
            consumer_secret=pick("consumer_secret", consumer_secret, DEFAULT_CREDENTIALS["consumer_secret"]),
            token_id=pick("token_id", token_id, DEFAULT_CREDENTIALS["token_id"]),
            token_secret=pick("token_secret", token_secret, DEFAULT_CREDENTIALS["token_secret"]),
        )
        self.endpoint_version = validate_endpoint_version(endpoint_version)
        self.jobs = JobStore(
            account_id=self.credentials.account.passport,
            clock=clock,
            submit_defaults=scenario.submit_defaults,
            submit_rules=scenario.submit_rules,
            preset_jobs=scenario.jobs,
        )
        self._service = _Service(
            self.jobs,
            TokenPassportChecker(self.credentials, clock),
            pick("concurrency_limit", concurrency_limit, DEFAULT_CONCURRENCY_LIMIT),
            max_logged_requests,
            latency,
        )
        self.app = build_app(self._service)
        self._requested_port = port
        self._log_level = log_level
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # ---- running ------------------------------------------------------------------------------

    def _bind(self) -> tuple[uvicorn.Server, socket.socket]:
        if self._server is not None:
            raise RuntimeError("this emulator is already running")
        # A socket listening before uvicorn starts: the port is known at once (port 0) and
        # clients connecting early wait in the backlog instead of being refused.
        sock = socket.create_server((HOST, self._requested_port))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            # jobs.clock is read per answer: tests may swap it on a running emulator.
            _ExposeTransport(_ServerDate(self.app, lambda: self.jobs.clock())),
            log_level=self._log_level,
            log_config=None,
            access_log=self._log_level == "debug",
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            date_header=False,  # _ServerDate sends it from the emulator's clock
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        return self._server, sock

    def start(self, timeout: float = 10.0) -> Emulator:
        """Serve in a daemon thread; returns once uvicorn accepts connections.

        Raises:
            RuntimeError: already running, or uvicorn stopped during startup.
            TimeoutError: not started within ``timeout`` seconds.
        """
        server, sock = self._bind()
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"netsuite-emulator-{self._port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive():
                self.stop()
                sock.close()
                raise RuntimeError(f"the emulator stopped while starting on {HOST}:{self._port}; see the log")
            if time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise TimeoutError(f"the emulator did not start on {HOST}:{self._port} in {timeout} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and join the thread; the port is free afterwards. Idempotent."""
        server, thread = self._server, self._thread
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout)
        self._server = self._thread = None

    def run(self, ready: Callable[[Emulator], None] | None = None) -> None:
        """Serve in this thread until SIGINT/SIGTERM (the CLI). ``ready`` is called once the
        port is bound and listening, before serving."""
        server, sock = self._bind()
        try:
            if ready is not None:
                ready(self)
            server.run(sockets=[sock])
        finally:
            sock.close()
            self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- addresses ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator is not started: use start() or a with block")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{HOST}:{self.port}"

    def service_url(self, endpoint_version: str | None = None) -> str:
        """``<base_url>/services/NetSuitePort_<V>``."""
        return service_url(self.credentials.account, endpoint_version or self.endpoint_version, self.base_url)

    def wsdl_url(self, endpoint_version: str | None = None) -> str:
        """``<base_url>/wsdl/v<V>_0/netsuite.wsdl``."""
        version = validate_endpoint_version(endpoint_version or self.endpoint_version)
        return f"{self.base_url}/wsdl/v{version}_0/netsuite.wsdl"

    def airflow_connection(self, endpoint_version: str | None = None) -> dict[str, Any]:
        """The Airflow connection (type ``netsuite_soap``) for this emulator, as a dict."""
        creds = self.credentials
        return {
            "conn_type": CONNECTION_TYPE,
            "host": self.base_url,
            "extra": {
                "account_id": creds.account.passport,
                "consumer_key": creds.consumer_key,
                "consumer_secret": creds.consumer_secret,
                "token_id": creds.token_id,
                "token_secret": creds.token_secret,
                "endpoint_version": validate_endpoint_version(endpoint_version or self.endpoint_version),
            },
        }

    def airflow_connection_json(self, endpoint_version: str | None = None) -> str:
        """The connection as JSON, for ``AIRFLOW_CONN_<ID>`` environment variables."""
        return json.dumps(self.airflow_connection(endpoint_version), separators=(",", ":"))

    # ---- state and injections -----------------------------------------------------------------

    def create_job(self, spec: JobSpec | Mapping[str, Any]) -> str:
        """Add a job (a JobSpec or its JSON form); returns its id. Raises ValueError."""
        return self.jobs.create_job(spec if isinstance(spec, JobSpec) else job_spec_from_dict(spec))

    @property
    def latency(self) -> float:
        """Seconds each admitted SOAP request takes; ``reset()`` restores the value given at start."""
        return self._service.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if not 0 <= seconds <= 60:
            raise ValueError(f"latency must be within 0..60 seconds, got {seconds!r}")
        self._service.latency = seconds

    def inject(
        self,
        kind: str,
        *,
        operation: str | None = None,
        times: int | None = 1,
        after: int = 0,
        probability: float = 1.0,
        seed: int = 0,
        **params: Any,
    ) -> Injection:
        """Queue an injection (see Injection) for the next ``times`` requests of ``operation``
        (or of any operation; ``times=None``: no limit), after letting ``after`` of them through;
        with ``probability`` < 1 each such request is replaced only with that probability (drawn
        from ``seed``). Returns it. Raises ValueError for bad parameters.

            emu.inject("http_error", status=503, probability=0.02, seed=7, times=None)
        """
        injection = Injection.from_dict(
            {
                "kind": kind,
                "operation": operation,
                "times": times,
                "after": after,
                "probability": probability,
                "seed": seed,
                **params,
            }
        )
        self._service.queue(injection)
        return injection

    def stats(self) -> dict[str, Any]:
        """``{"concurrency_limit", "in_flight", "max_in_flight" (among admitted requests),
        "refused_over_limit" (requests refused with WS_REQUEST_BLOCKED by the limit itself, not by
        an injection), "requests": {operation or "(unparsed)": n}, "faults": {code or "Client": n},
        "injections_applied": {kind: n}, "injections_pending" (requests that queued injections
        with a limit will still replace), "injections_unlimited" (injections with no limit), "jobs"}``."""
        return self._service.stats()

    def requests(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The last SOAP requests, oldest first: ``{"operation" (None if unparsable),
        "endpoint_version", "soap_action", "body"}``."""
        return self._service.requests(limit)

    def reset(self) -> None:
        """Forget jobs (preset jobs come back with fresh timelines), call counts, nonces,
        injections, stats and logged requests."""
        self._service.reset()
