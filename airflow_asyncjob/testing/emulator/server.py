"""The emulator's lifecycle: ``Emulator`` builds the state, the Starlette app and a uvicorn
server on 127.0.0.1, and serves it in a background thread (``with Emulator() as emu``) or in the
foreground (the CLI, ``run``). It also hands out the addresses and the Airflow connection.

The layout follows moto's split of a service: ``jobs`` (the account's state), ``auth`` (the
tokenPassport check), ``injections`` (misbehaviour and its queue), ``service`` (in-flight
requests, stats, request log), ``soap`` (the wire format), ``responses`` (one function per SOAP
action), ``routes`` (the HTTP paths and the admin API), ``asgi`` (layers around the app) and
``__main__`` (the CLI). The routes are listed in ``routes``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from os import PathLike
from typing import Any

import uvicorn

from airflow_asyncjob.get_provider_info import CONNECTION_TYPE
from airflow_asyncjob.netsuite.auth import TokenCredentials
from airflow_asyncjob.netsuite.endpoints import (
    DEFAULT_ENDPOINT_VERSION,
    normalize_account_id,
    service_url,
    validate_endpoint_version,
)
from airflow_asyncjob.testing.emulator import asgi
from airflow_asyncjob.testing.emulator.auth import TokenPassportChecker
from airflow_asyncjob.testing.emulator.injections import Injection
from airflow_asyncjob.testing.emulator.jobs import Clock, JobSpec, JobStore
from airflow_asyncjob.testing.emulator.rest import TOKEN_PATH
from airflow_asyncjob.testing.emulator.rest_auth import (
    DEFAULT_REST_CLIENT,
    TOKEN_SECONDS,
    ClientCredentialsServer,
    RestAuthenticator,
    RestClient,
    TbaChecker,
    load_public_key,
)
from airflow_asyncjob.testing.emulator.routes import build_app
from airflow_asyncjob.testing.emulator.scenario import Scenario, job_spec_from_dict
from airflow_asyncjob.testing.emulator.service import Service, check_latency

HOST = "127.0.0.1"
DEFAULT_ACCOUNT_ID = "1234567_SB1"
DEFAULT_CREDENTIALS = {
    "consumer_key": "62da13dbb869ad327c793806ac7dfc634baf12d8164387a301fb0081775f3d6d",
    "consumer_secret": "cc1cfb82914e49ac18b81d4a0717c16636fd3f02e0317bc34377e8cb250aea03",
    "token_id": "57ed686954de05eb71b362b15031479bdab2ef6d3ff0a5d92c05fec09ebd9cf3",
    "token_secret": "4fbb6222b2b54d5f8aa349deb95c3848d0a0ce5a6c870ad1372e7c06358fff94",
}
"""The TBA credentials accepted when neither the arguments nor the scenario give them: 64 hex
digits each, the shape of NetSuite's own (an integration record's consumer key and secret, an
access token's id and secret), and long enough for Airflow's secrets masker to mask them."""
DEFAULT_CONCURRENCY_LIMIT = 5
"""The smallest service tier's limit (developer accounts, base tiers without SuiteCloud Plus)."""
REST_CONNECTION_TYPE = "netsuite_rest"
REST_AUTH_METHODS = ("oauth2", "tba")


def _as_scenario(scenario: Scenario | Mapping[str, Any] | str | PathLike[str] | None) -> Scenario:
    if scenario is None:
        return Scenario()
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Mapping):
        return Scenario.from_dict(scenario)
    return Scenario.load(scenario)


class Emulator:
    """A NetSuite SOAP and REST async-job emulator on 127.0.0.1, for tests and CI.

        with Emulator(port=0, scenario=Scenario.example()) as emu:
            emu.base_url                   # "http://127.0.0.1:PORT"
            emu.airflow_connection_json()  # for AIRFLOW_CONN_NETSUITE_DEFAULT
            emu.airflow_rest_connection_json(auth="oauth2")  # for AIRFLOW_CONN_NETSUITE_REST_DEFAULT
            emu.inject("soap_fault", code="WS_REQUEST_BLOCKED", operation="checkAsyncStatus")
            emu.inject("rest_error", status=429, operation="job")

    Args:
        port: TCP port; 0 picks a free one (see ``port`` after start).
        scenario: a Scenario, its JSON dict, or a path to a scenario file.
        account_id: the account it serves; None takes the scenario's, else ``1234567_SB1``.
        consumer_key, consumer_secret, token_id, token_secret: the TBA credentials accepted;
            None: the scenario's, else DEFAULT_CREDENTIALS' (64 hex digits each).
        concurrency_limit: in-flight SOAP and REST requests allowed, together (None: scenario's,
            else 5).
        endpoint_version: the version used by ``service_url`` and ``airflow_connection``; the
            server answers every version.
        clock: Unix seconds; jobs' timelines, passport timestamps, getServerTime and the HTTP
            Date header of every answer read it.
        log_level: uvicorn's log level, critical..debug (debug adds an access log).
        max_logged_requests: how many raw requests ``requests()`` keeps.
        latency: seconds each admitted SOAP or REST request takes before it is answered (0..60),
            so that requests overlap as they do against NetSuite; settable later as ``latency``.
        oauth2_public_key: PEM of the public key (or certificate) REST token requests' JWTs must
            verify with; None: DEFAULT_REST_CLIENT's (a key pair generated per process, whose
            private key ``airflow_rest_connection`` hands out).
        oauth2_client_id, oauth2_certificate_id: the OAuth 2.0 client id and certificate id
            accepted (None: DEFAULT_REST_CLIENT's).
        rest_token_seconds: how long an issued REST access token is valid (NetSuite: 3600).
        rest_governance_limits: False makes governanceLimits answer 403 (not an administrator).

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
        oauth2_public_key: str | bytes | None = None,
        oauth2_client_id: str | None = None,
        oauth2_certificate_id: str | None = None,
        rest_token_seconds: float = TOKEN_SECONDS,
        rest_governance_limits: bool = True,
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
        default = DEFAULT_REST_CLIENT
        self.rest_client = RestClient(
            client_id=oauth2_client_id or default.client_id,
            certificate_id=oauth2_certificate_id or default.certificate_id,
            public_key=default.public_key
            if oauth2_public_key is None
            else load_public_key(oauth2_public_key),
            private_key=default.private_key if oauth2_public_key is None else None,
            algorithm=default.algorithm,
        )
        self._oauth2 = ClientCredentialsServer(self.rest_client, clock, rest_token_seconds)
        self._service = Service(
            self.jobs,
            TokenPassportChecker(self.credentials, clock),
            pick("concurrency_limit", concurrency_limit, DEFAULT_CONCURRENCY_LIMIT),
            max_logged_requests,
            latency,
            rest_auth=RestAuthenticator(TbaChecker(self.credentials, clock), self._oauth2),
        )
        self._service.default_rest_governance_limits = rest_governance_limits
        self._service.reset()
        self.app = build_app(self._service, self.airflow_connections)
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
            asgi.wrap(self.app, lambda: self.jobs.clock()),
            log_level=self._log_level,
            log_config=None,
            access_log=self._log_level == "debug",
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            date_header=False,  # asgi.ServerDate sends it from the emulator's clock
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

    @property
    def rest_url(self) -> str:
        """The REST services' root: the base URL (paths start ``/services/rest/``)."""
        return self.base_url

    @property
    def rest_token_url(self) -> str:
        """``<base_url>/services/rest/auth/oauth2/v1/token``: the JWT's ``aud``."""
        return self.base_url + TOKEN_PATH

    def airflow_rest_connection(self, auth: str = "oauth2") -> dict[str, Any]:
        """An Airflow connection (type ``netsuite_rest``) for this emulator, as a dict: extras
        ``account_id``, ``auth_method``, ``base_url`` and either the OAuth 2.0 client's
        ``client_id``, ``certificate_id``, ``private_key`` (PEM), ``algorithm`` (ES256: the default
        client's key is EC P-256) and ``scope``, or the TBA ``consumer_key``, ``consumer_secret``,
        ``token_id``, ``token_secret``.

        Raises:
            ValueError: ``auth`` not oauth2 / tba; oauth2 when the emulator was given only a public
                key (it has no private key to hand out).
        """
        if auth not in REST_AUTH_METHODS:
            raise ValueError(f"auth must be one of {', '.join(REST_AUTH_METHODS)}, not {auth!r}")
        creds = self.credentials
        extra: dict[str, Any] = {
            "account_id": creds.account.passport,
            "auth_method": auth,
            "base_url": self.base_url,
        }
        if auth == "tba":
            extra.update(
                consumer_key=creds.consumer_key,
                consumer_secret=creds.consumer_secret,
                token_id=creds.token_id,
                token_secret=creds.token_secret,
            )
        else:
            client = self.rest_client
            if client.private_key is None:
                raise ValueError(
                    "this emulator verifies JWTs with a public key it was given: it has no private key for a "
                    "connection; build the connection with your private key, or use auth='tba'"
                )
            extra.update(
                client_id=client.client_id,
                certificate_id=client.certificate_id,
                private_key=client.private_key,
                algorithm=client.algorithm,
                scope="rest_webservices",
            )
        return {"conn_type": REST_CONNECTION_TYPE, "extra": extra}

    def airflow_connections(self) -> dict[str, dict[str, Any]]:
        """Every Airflow connection for this emulator by a conn id: ``netsuite_default`` (SOAP),
        ``netsuite_rest_default`` (REST, OAuth 2.0; absent when the emulator holds no private
        key) and ``netsuite_rest_tba`` (REST, TBA). ``GET /_emulator/connections`` answers it."""
        found = {"netsuite_default": self.airflow_connection()}
        if self.rest_client.private_key is not None:
            found["netsuite_rest_default"] = self.airflow_rest_connection("oauth2")
        found["netsuite_rest_tba"] = self.airflow_rest_connection("tba")
        return found

    def airflow_rest_connection_json(self, auth: str = "oauth2") -> str:
        """``airflow_rest_connection(auth)`` as JSON, for ``AIRFLOW_CONN_<ID>``."""
        return json.dumps(self.airflow_rest_connection(auth), separators=(",", ":"))

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
        self._service.latency = check_latency(seconds)

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
        self._service.injections.add(injection)
        return injection

    @property
    def rest_relative_location(self) -> bool:
        """REST submits answer ``Location: /services/rest/async/v1/job/<id>`` (relative) instead of
        an absolute URL; Oracle's examples show both. Default False."""
        return self._service.rest_relative_location

    @rest_relative_location.setter
    def rest_relative_location(self, relative: bool) -> None:
        self._service.rest_relative_location = bool(relative)

    @property
    def rest_governance_limits(self) -> bool:
        """governanceLimits answers 200 (True) or 403 INSUFFICIENT_PERMISSION (False)."""
        return self._service.rest_governance_limits

    @rest_governance_limits.setter
    def rest_governance_limits(self, allowed: bool) -> None:
        self._service.rest_governance_limits = bool(allowed)

    @property
    def rest_token_seconds(self) -> float:
        """Validity of REST access tokens issued from now on, seconds (``reset()`` restores the
        value given at start)."""
        return self._oauth2.token_seconds

    @rest_token_seconds.setter
    def rest_token_seconds(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("rest_token_seconds must be > 0")
        self._oauth2.token_seconds = seconds

    def expire_rest_tokens(self) -> int:
        """Expire every REST access token issued so far (the next call with one gets 401
        INVALID_LOGIN); returns how many there were."""
        return self._oauth2.expire_tokens()

    def stats(self) -> dict[str, Any]:
        """``{"concurrency_limit" (SOAP and REST together), "in_flight", "max_in_flight" (among
        admitted requests), "refused_over_limit" (requests refused by the limit itself, not by an
        injection: WS_REQUEST_BLOCKED for SOAP, 429 for REST), "requests": {SOAP operation or
        "(unparsed)": n}, "rest_requests": {kind: n} (submit, job, task_list, task, result, token,
        server_time, governance_limits), "rest_errors": {o:errorCode or OAuth error: n},
        "idempotent_replays" (REST submits answered IDEMPOTENCY_ERROR), "faults": {code or "Client": n},
        "injections_applied": {kind: n}, "injections_pending" (requests that queued injections
        with a limit will still replace), "injections_unlimited" (injections with no limit), "jobs"}``."""
        return self._service.stats()

    def requests(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The last requests, oldest first: SOAP ``{"api": "soap", "operation" (None if
        unparsable), "endpoint_version", "soap_action", "body"}``; REST ``{"api": "rest", "kind",
        "method", "path", "body"}``."""
        return self._service.requests(limit)

    def reset(self) -> None:
        """Forget jobs (preset jobs come back with fresh timelines), call counts, nonces,
        idempotency keys, REST access tokens, injections, stats and logged requests; restore the
        latency, ``rest_relative_location``, ``rest_governance_limits`` and ``rest_token_seconds``
        given at start."""
        self._service.reset()
