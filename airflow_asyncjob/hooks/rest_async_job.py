"""RestAsyncJobHook: an Airflow connection of type ``netsuite_rest`` -> authenticated NetSuite REST
async job calls (``Prefer: respond-async`` submits, ``/services/rest/async/v1/job/{id}``, its tasks
and their results).

Sources: Oracle Help Center chapter_161251386312 (asynchronous requests), subsect_164494900632
(idempotency), section_162755359851 (OAuth 2.0 client credentials), section_1534941295 (TBA).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from airflow_asyncjob.get_provider_info import REST_CONNECTION_TYPE, REST_HOOK_NAME
from airflow_asyncjob.hooks.soap_async_job import _base_url, _max_in_flight, verify_tls
from airflow_asyncjob.netsuite.auth import TokenCredentials
from airflow_asyncjob.netsuite.endpoints import AccountId, normalize_account_id
from airflow_asyncjob.netsuite.faults import AuthenticationError, ConfigurationError, NetSuiteError
from airflow_asyncjob.netsuite.models import AsyncJobStatus
from airflow_asyncjob.netsuite.rest.auth import ClientCredentials
from airflow_asyncjob.netsuite.rest.client import AsyncRestClient, RestClient, async_rest_client
from airflow_asyncjob.netsuite.rest.models import RestJob, RestSubmitted, RestTaskResult
from airflow_asyncjob.netsuite.rest.settings import RestSettings
from airflow_asyncjob.netsuite.retry import RetryPolicy

if TYPE_CHECKING:
    from airflow.sdk import Connection

REST_CONN_TYPE = REST_CONNECTION_TYPE
AUTH_METHODS = ("oauth2", "tba")
"""``auth_method`` extra values: OAuth 2.0 client credentials (M2M; NetSuite's preferred method)
or token-based authentication (OAuth 1.0a, HMAC-SHA256)."""
ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
"""JWT algorithms NetSuite accepts for the client assertion (Oracle section_162755359851)."""
SECRET_EXTRAS = ("private_key", "consumer_secret", "token_secret")
REQUIRED_EXTRAS: dict[str, tuple[str, ...]] = {
    "oauth2": ("account_id", "client_id", "certificate_id", "private_key"),
    "tba": ("account_id", "consumer_key", "consumer_secret", "token_id", "token_secret"),
}
WHERE_FROM: dict[str, str] = {
    "oauth2": "Setup > Integration > OAuth 2.0 Client Credentials (M2M) Setup (certificate id) and the "
    "integration record (client id); the private key is the one whose certificate you uploaded there",
    "tba": "the integration record (Setup > Integration > Manage Integrations) and the access token "
    "(Setup > Users/Roles > Access Tokens)",
}
TEST_CONNECTION_RETRY = RetryPolicy(max_attempts=2, max_delay=15.0, initial_wait=1.0, max_wait=5.0)
"""The Test button waits for an answer: at most one retry, within 15 seconds."""


def _extra(extra: Mapping[str, Any], name: str) -> Any:
    """The value of extra ``name`` (or Airflow 2's ``extra__netsuite_rest__<name>``); blank is missing."""
    for key in (name, f"extra__{REST_CONN_TYPE}__{name}"):
        value = extra.get(key)
        if value is not None and str(value).strip():
            return value
    return None


class RestAsyncJobHook(BaseHook):
    """Calls NetSuite's REST web services asynchronously: submits with ``Prefer: respond-async``,
    and the job, task and result resources under ``/services/rest/async/v1/job/{jobId}``.

    The connection (type ``netsuite_rest``, default id ``netsuite_rest_default``) holds in its
    extra ``account_id`` (``1234567`` or ``1234567_SB1``), ``auth_method`` (``"oauth2"``,
    default, or ``"tba"``) and:

    - for ``oauth2`` (OAuth 2.0 client credentials, machine to machine): ``client_id`` (the
      integration record's), ``certificate_id`` (Setup > Integration > OAuth 2.0 Client
      Credentials (M2M) Setup), ``private_key`` (PEM of the certificate's key; a secret),
      ``algorithm`` (default ``PS256``; PS384, PS512, ES256, ES384, ES512) and ``scope``
      (default ``rest_webservices``; a comma-separated list);
    - for ``tba``: ``consumer_key``, ``consumer_secret``, ``token_id``, ``token_secret``, as for
      the SOAP connection;

    optionally ``timeout`` (seconds per request, default 60), ``verify_tls`` (default true),
    ``max_in_flight`` (default 4; one limit per account for SOAP and REST together). Its
    ``host``, when set, is a base URL that replaces ``https://<account>.suitetalk.api.netsuite.com``
    (an emulator or a proxy). Every secret is registered with Airflow's secrets masker when the
    connection is read; the access token is never logged.

    One shape for both sides, as SoapAsyncJobHook: ``get_settings()`` (or ``aget_settings()``)
    reads the connection once into a RestSettings, ``get_conn()`` builds the sync RestClient and
    ``async with hook.get_async_conn() as client`` leases the AsyncRestClient. The methods the
    sensor and operators call (``check_async_status``, ``job``, ``task_result``,
    ``iter_task_results``, ``submit``) are ``get_conn()``'s.

    Every method raises a subclass of ``airflow_asyncjob.netsuite.faults.NetSuiteError``.

    Args:
        netsuite_conn_id: the Airflow connection id.
        timeout: seconds allowed for one HTTP request (the extra ``timeout`` wins when set).
        retry: attempts, total seconds and backoff for transient failures.
    """

    conn_name_attr = "netsuite_conn_id"
    default_conn_name = "netsuite_rest_default"
    conn_type = REST_CONN_TYPE
    hook_name = REST_HOOK_NAME
    api = "rest"

    def __init__(
        self,
        netsuite_conn_id: str = default_conn_name,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.netsuite_conn_id = netsuite_conn_id
        self.timeout = timeout
        self.retry = retry
        self._settings: RestSettings | None = None

    @property
    def settings_read(self) -> RestSettings | None:
        """The RestSettings if the connection was read already, else None (never reads it)."""
        return self._settings

    def get_settings(self) -> RestSettings:
        """The RestSettings of the connection, read once (Airflow's sync connection API).

        Raises:
            ConfigurationError: a missing field, an unknown auth_method or algorithm, a private
                key that does not load or does not fit the algorithm, a malformed account id.
        """
        if self._settings is None:
            self._settings = self.read_settings(self.get_connection(self.netsuite_conn_id))
        return self._settings

    async def aget_settings(self) -> RestSettings:
        """``get_settings()`` through Airflow's async connection API (for the triggerer)."""
        if self._settings is None:
            self._settings = self.read_settings(await self.aget_connection(self.netsuite_conn_id))
        return self._settings

    def get_conn(self) -> RestClient:
        """A new sync protocol client of this connection; close it (``with hook.get_conn() as
        client:``). The hook's own methods open and close one per call: the OAuth 2.0 access token
        is cached per process, so a new client costs no token request.

        Raises:
            ConfigurationError: as ``get_settings()``.
        """
        return RestClient(self.get_settings(), retry=self.retry)

    @asynccontextmanager
    async def get_async_conn(self) -> AsyncIterator[AsyncRestClient]:
        """Lease the async protocol client: ``async with hook.get_async_conn() as client``.

        Every lease for one account in one event loop shares one connection pool and one limit on
        in-flight requests with the SOAP client of the same account (NetSuite's concurrency limit
        is one per account for SOAP, REST and RESTlets: Oracle subsect_1559222360).

        Raises:
            ConfigurationError: as ``get_settings()``.
        """
        async with async_rest_client(await self.aget_settings(), retry=self.retry) as client:
            yield client

    def read_settings(self, conn: Connection) -> RestSettings:
        """RestSettings from a connection's host and extra; secrets go to the masker first.

        Raises:
            ConfigurationError: naming the field and where its value comes from in NetSuite;
                never quoting a secret.
        """
        where = f"connection {self.netsuite_conn_id!r}"
        if conn.conn_type and conn.conn_type != REST_CONN_TYPE:
            raise ConfigurationError(
                f"{where} is of type {conn.conn_type!r}, not {REST_CONN_TYPE!r}: RestAsyncJobHook reads "
                "NetSuite REST connections only."
            )
        extra = conn.extra_dejson or {}
        for name in SECRET_EXTRAS:
            secret = _extra(extra, name)
            if secret is not None:
                mask_secret(str(secret), name)
                if name == "private_key":  # the masker matches whole strings: mask each key line too
                    for line in str(secret).splitlines():
                        if len(line.strip()) >= 16 and not line.startswith("-----"):
                            mask_secret(line.strip(), name)
        method = str(_extra(extra, "auth_method") or "oauth2").strip().lower()
        if method not in AUTH_METHODS:
            raise ConfigurationError(
                f"{where} has auth_method={method!r} in its extra: use 'oauth2' (OAuth 2.0 client "
                "credentials, NetSuite's preferred method) or 'tba' (token-based authentication)."
            )
        values = {name: _extra(extra, name) for name in REQUIRED_EXTRAS[method]}
        missing = [name for name, value in values.items() if value is None]
        if missing:
            sources = (
                [] if missing == ["account_id"] else [f"The credentials come from {WHERE_FROM[method]}."]
            )
            if "account_id" in missing:
                sources.append("The account id is at Setup > Company > Company Information > Account ID.")
            raise ConfigurationError(
                f"{where} (auth_method={method!r}) lacks {', '.join(missing)} in its extra. "
                + " ".join(sources)
            )
        account = normalize_account_id(str(values["account_id"]))
        credentials: TokenCredentials | ClientCredentials
        if method == "oauth2":
            algorithm = str(_extra(extra, "algorithm") or "PS256").strip().upper()
            if algorithm not in ALGORITHMS:
                raise ConfigurationError(
                    f"{where} has algorithm={algorithm!r} in its extra: use one of {', '.join(ALGORITHMS)} "
                    "(PS256 for an RSA key, ES256/ES384/ES512 for an EC key)."
                )
            try:
                credentials = ClientCredentials(
                    account=account,
                    client_id=str(values["client_id"]).strip(),
                    certificate_id=str(values["certificate_id"]).strip(),
                    private_key=_pem(values["private_key"]),
                    algorithm=algorithm,
                    scope=str(_extra(extra, "scope") or "rest_webservices").strip(),
                )
            except ConfigurationError as error:
                raise ConfigurationError(f"{where}: {error}") from None
        else:
            credentials = TokenCredentials(
                account=account,
                consumer_key=str(values["consumer_key"]).strip(),
                consumer_secret=str(values["consumer_secret"]).strip(),
                token_id=str(values["token_id"]).strip(),
                token_secret=str(values["token_secret"]).strip(),
            )
        return RestSettings(
            credentials=credentials,
            base_url=_base_url(
                _extra(extra, "base_url") or conn.host, None if _extra(extra, "base_url") else conn.port
            ),
            timeout=_timeout(where, _extra(extra, "timeout"), self.timeout),
            verify_tls=self._verify_tls(_extra(extra, "verify_tls")),
            max_in_flight=_max_in_flight(self.netsuite_conn_id, _extra(extra, "max_in_flight")),
        )

    def _verify_tls(self, value: Any) -> bool:
        """The ``verify_tls`` extra: true unless explicitly false, which logs a warning."""
        return verify_tls(self, value, exposed="the access token")

    def get_account_id(self) -> AccountId:
        """The connection's account id, normalised; needs no other field.

        Raises:
            ConfigurationError: no account_id in the extra, or one that is not an account id.
        """
        value = _extra(self.get_connection(self.netsuite_conn_id).extra_dejson or {}, "account_id")
        if value is None:
            raise ConfigurationError(f"connection {self.netsuite_conn_id!r} lacks account_id in its extra.")
        return normalize_account_id(str(value))

    def check_async_status(self, job_id: str, *, progress: bool = False) -> AsyncJobStatus:
        """The REST job's status in the SOAP shape: pending/processing while not completed;
        completed: finished (every task succeeded), finishedWithErrors (some failed) or failed
        (all failed); ``percent_completed`` = 100 x tasks completed / tasks.

        Requests: 1 while the job runs (its tasks unread: ``tasks_unread=True``), 2 + N (N
        tasks) on the poll that sees it completed; with ``progress=True`` 2 + N on every poll,
        for the task counts while it runs (AsyncJobStatusSensor's ``rest_task_progress``).

        Raises:
            InvalidJobIdError: NONEXISTENT_ID (unknown job).
            NetSuiteResponseError: a completed job without tasks, or an answer not NetSuite's.
            NetSuiteError: any other failure, after retries for transient ones.
        """
        with self.get_conn() as client:
            return client.check_async_status(job_id, progress=progress)

    def job(self, job_id: str) -> RestJob:
        """The job with its tasks (``GET .../job/{id}`` and its task list and tasks)."""
        with self.get_conn() as client:
            return client.job(job_id)

    def task_result(self, job_id: str, task_id: str) -> RestTaskResult:
        """One task's result: the body the synchronous request would have given, or its error body."""
        with self.get_conn() as client:
            return client.task_result(job_id, task_id)

    def iter_task_results(self, job_id: str) -> Iterator[RestTaskResult]:
        """Every task's result, in task order (read while iterating; the client closes at the end)."""
        with self.get_conn() as client:
            yield from client.iter_task_results(job_id)

    def submit(
        self,
        record_type: str,
        records: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        operation: str = "add",
        idempotency_key: str,
        record_id: str | None = None,
        external_id: str | None = None,
    ) -> RestSubmitted:
        """Submit one record request or a batch (1..100 records of one type) with ``Prefer:
        respond-async`` and ``X-NetSuite-Idempotency-Key``; a replayed key is the earlier job
        (``RestSubmitted.replayed``), not an error.

        Raises:
            ConfigurationError: over 100 records, an unknown operation (nothing sent).
            NetSuiteError: any other failure; resent only where the key makes it safe.
        """
        with self.get_conn() as client:
            return client.submit(
                record_type,
                records,
                operation=operation,
                idempotency_key=idempotency_key,
                record_id=record_id,
                external_id=external_id,
            )

    def failure_details(self, job_id: str, limit: int = 5) -> list[str]:
        """Distinct ``code: detail`` lines of the job's failed tasks' error bodies (at most
        ``limit``; the last says how many more), for a failed job's message.

        Raises:
            NetSuiteError: the tasks or their results could not be read.
        """
        distinct: dict[str, None] = {}
        for result in self.iter_task_results(job_id):
            if not result.succeeded:
                distinct[f"{result.error_code or 'ERROR'}: {result.message or ''}".strip()] = None
        lines = list(distinct)
        if len(lines) > limit:
            return [*lines[:limit], f"(+{len(lines) - limit} more)"]
        return lines

    def explain_error(self, error: NetSuiteError) -> str:
        """``str(error)`` (the client's errors carry NetSuite's code and a hint already)."""
        return str(error)

    def test_connection(self) -> tuple[bool, str]:
        """Authenticate and read NetSuite's clock, as Airflow's Test button does.

        ``GET /services/rest/system/v1/serverTime`` with the connection's authentication (for
        OAuth 2.0 this fetches an access token first, so a refused certificate shows here).
        Returns ``(True, "Connected to <url> as account <id> (<auth>); NetSuite server time is
        <ISO 8601>.")`` or ``(False, reason)``: a configuration error names the field (nothing
        sent); a refused login gives NetSuite's code and the likely causes.
        """
        try:
            settings = self.get_settings()
        except NetSuiteError as error:
            return False, f"Connection {self.netsuite_conn_id!r}: {error} No request was sent to NetSuite."
        auth = "OAuth 2.0" if isinstance(settings.credentials, ClientCredentials) else "TBA"
        try:
            with RestClient(settings, retry=self.retry or TEST_CONNECTION_RETRY) as client:
                server_time = client.server_time()
        except AuthenticationError as error:
            return False, f"NetSuite refused the {auth} login: {error}"
        except NetSuiteError as error:
            return False, str(error)
        return True, (
            f"Connected to {settings.rest_url} as account {settings.account} ({auth}); "
            f"NetSuite server time is {server_time.isoformat()}."
        )


def _pem(value: Any) -> str:
    """A PEM from the extra: a UI text field may hold literal ``\\n`` for line breaks."""
    text = str(value).strip()
    if "\\n" in text and "\n" not in text:
        text = text.replace("\\n", "\n")
    return text + "\n"


def _timeout(where: str, value: Any, default: float) -> float:
    if value is None:
        return float(default)
    try:
        seconds = float(str(value).strip())
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 600:
        raise ConfigurationError(
            f"{where} has timeout={value!r} in its extra: use seconds, 0 < timeout <= 600."
        )
    return seconds
