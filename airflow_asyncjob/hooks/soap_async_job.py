"""SoapAsyncJobHook: an Airflow connection of type ``netsuite_soap`` -> authenticated NetSuite SOAP calls."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from airflow_asyncjob.get_provider_info import CONNECTION_TYPE, HOOK_NAME
from airflow_asyncjob.netsuite.async_client import AsyncNetSuiteClient, async_client
from airflow_asyncjob.netsuite.auth import TokenCredentials
from airflow_asyncjob.netsuite.client import NetSuiteClient
from airflow_asyncjob.netsuite.diagnostics import (
    CLOCK_WARNING,
    clock_offset,
    describe_offset,
    explain_login_refusal,
)
from airflow_asyncjob.netsuite.endpoints import DEFAULT_ENDPOINT_VERSION, AccountId, normalize_account_id
from airflow_asyncjob.netsuite.faults import AuthenticationError, ConfigurationError, NetSuiteError
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncResultPage
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.netsuite.settings import DEFAULT_MAX_IN_FLIGHT, ClientSettings

if TYPE_CHECKING:
    from airflow.sdk import Connection

CONN_TYPE = CONNECTION_TYPE
SECRET_EXTRAS = ("consumer_secret", "token_secret")
REQUIRED_EXTRAS = ("account_id", "consumer_key", "consumer_secret", "token_id", "token_secret")
LEGACY_EXTRA_PREFIX = f"extra__{CONN_TYPE}__"
"""Airflow 2's connection form stored custom fields as ``extra__<conn type>__<field>``; such
connections still exist (exports, secrets backends), so the hook reads that layout too."""
TEST_CONNECTION_RETRY = RetryPolicy(max_attempts=2, max_delay=15.0, initial_wait=1.0, max_wait=5.0)
"""The Test button waits for an answer: at most one retry, within 15 seconds."""


def extra_value(extra: Mapping[str, Any], name: str) -> Any:
    """The value of extra key ``name``, or of its Airflow 2 form ``extra__netsuite_soap__<name>``.

    The plain key wins; None, empty and blank values count as missing (the UI stores an empty
    field as null).
    """
    for key in (name, f"{LEGACY_EXTRA_PREFIX}{name}"):
        value = extra.get(key)
        if value is not None and str(value).strip():
            return value
    return None


class SoapAsyncJobHook(BaseHook):
    """Calls NetSuite's SOAP async job operations with token-based authentication.

    The connection (type ``netsuite_soap``) holds in its extra: ``account_id`` (``1234567`` or
    ``1234567_SB1``; spaces, quotes and a lower-case suffix are tolerated), ``consumer_key``,
    ``consumer_secret``, ``token_id``, ``token_secret`` and ``endpoint_version`` (default
    ``"2025_2"``), optionally ``verify_tls`` (default true; false logs a warning),
    ``max_in_flight`` (requests in flight per account from one triggerer, default 4) and ``wsdl``:
    NetSuite's WSDL for that version (its URL, fetched once and cached on disk, or a local copy),
    for record types and fields beyond the compact schema shipped here (used by submits). Each
    may also be under Airflow 2's ``extra__netsuite_soap__<name>``. Its ``host``, when set, is a
    base URL (``http://127.0.0.1:8765``) that replaces
    ``https://<account>.suitetalk.api.netsuite.com``: an emulator or a proxy. The connection form
    (labelled fields, secrets as password fields) is declared in ``get_provider_info``.

    Transient failures (WS_REQUEST_BLOCKED, WS_CONCUR_SESSION_DISALLWD, ACCT_TEMP_UNAVAILABLE,
    UNEXPECTED_ERROR, HTTP 5xx, HTML pages, connection errors, time-outs) are retried per
    ``retry``; permanent ones raise at once. Every method raises a subclass of
    ``airflow_asyncjob.netsuite.faults.NetSuiteError``.

    One shape for both sides: the connection is read once into a ClientSettings
    (``get_settings()``, or ``aget_settings()`` in the triggerer), from which ``get_conn()``
    builds the sync NetSuiteClient and ``async with hook.get_async_conn() as client`` leases the
    AsyncNetSuiteClient. ``check_async_status``, ``get_async_result`` and ``submit`` are
    ``get_conn()``'s, for DAG code.

    Args:
        netsuite_conn_id: the Airflow connection id.
        timeout: seconds allowed for one HTTP request.
        retry: attempts, total seconds and backoff for transient failures.
    """

    conn_name_attr = "netsuite_conn_id"
    default_conn_name = "netsuite_default"
    conn_type = CONN_TYPE
    hook_name = HOOK_NAME

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
        self._settings: ClientSettings | None = None
        self._client: NetSuiteClient | None = None

    @property
    def settings_read(self) -> ClientSettings | None:
        """The ClientSettings if the connection was read already, else None (never reads it)."""
        return self._settings

    def get_settings(self) -> ClientSettings:
        """The ClientSettings of the connection, read once (Airflow's sync connection API).

        Raises:
            ConfigurationError: a missing credential, or a malformed account id or option.
        """
        if self._settings is None:
            self._settings = self._read_settings(self.get_connection(self.netsuite_conn_id))
        return self._settings

    async def aget_settings(self) -> ClientSettings:
        """``get_settings()`` through Airflow's async connection API (for the triggerer)."""
        if self._settings is None:
            self._settings = self._read_settings(await self.aget_connection(self.netsuite_conn_id))
        return self._settings

    def get_conn(self) -> NetSuiteClient:
        """The sync protocol client of this connection, built once per hook (the zeep service
        under it is shared per process).

        Signatures are not registered with the secrets masker, as in ``get_async_conn``: nothing
        logs a request body, and registering a value that changes on every request costs the
        masker a recompiled regular expression each time (a poke-mode sensor polls for hours).

        Raises:
            ConfigurationError: as ``get_settings()``.
        """
        if self._client is None:
            self._client = NetSuiteClient(self.get_settings(), retry=self.retry)
        return self._client

    @asynccontextmanager
    async def get_async_conn(self) -> AsyncIterator[AsyncNetSuiteClient]:
        """Lease the async protocol client of this connection: ``async with hook.get_async_conn() as client``.

        Every lease for one account in one event loop (a triggerer) shares one connection pool
        and one limit on in-flight requests: the connection extra ``max_in_flight`` (default 4,
        below NetSuite's smallest account limit of 5). Closing the last lease closes the pool.

        Signatures made here are not registered with the secrets masker: Airflow's masker
        recompiles one regular expression of every secret on each registration (1,000
        registrations took 87 s of CPU on Airflow 3.3.2), which would stall a triggerer polling
        thousands of jobs. Nothing logs a request body (our transports log sizes only), and a
        signature is single-use (nonce) and expires within minutes.

        Raises:
            ConfigurationError: as ``get_settings()``.
        """
        async with async_client(await self.aget_settings(), retry=self.retry) as client:
            yield client

    def _read_settings(self, conn: Connection) -> ClientSettings:
        """ClientSettings from a connection's host and extra; secrets are registered with the masker first.

        Raises:
            ConfigurationError: a missing credential, or a malformed account id or option.
        """
        extra = conn.extra_dejson or {}
        for name in SECRET_EXTRAS:
            secret = extra_value(extra, name)
            if secret is not None:
                mask_secret(str(secret), name)
        values = {name: extra_value(extra, name) for name in REQUIRED_EXTRAS}
        missing = [name for name, value in values.items() if value is None]
        if missing:
            raise ConfigurationError(
                f"connection {self.netsuite_conn_id!r} lacks {', '.join(missing)} in its extra. "
                "Set them from the integration record and access token in NetSuite."
            )
        credentials = TokenCredentials(
            account=normalize_account_id(str(values["account_id"])),
            consumer_key=str(values["consumer_key"]).strip(),
            consumer_secret=str(values["consumer_secret"]).strip(),
            token_id=str(values["token_id"]).strip(),
            token_secret=str(values["token_secret"]).strip(),
        )
        wsdl = extra_value(extra, "wsdl")
        return ClientSettings(
            credentials=credentials,
            endpoint_version=str(extra_value(extra, "endpoint_version") or DEFAULT_ENDPOINT_VERSION),
            base_url=_base_url(conn.host, conn.port),
            timeout=self.timeout,
            verify_tls=self._verify_tls(extra_value(extra, "verify_tls")),
            wsdl=str(wsdl) if wsdl else None,
            max_in_flight=_max_in_flight(self.netsuite_conn_id, extra_value(extra, "max_in_flight")),
        )

    def _verify_tls(self, value: Any) -> bool:
        """The ``verify_tls`` extra: true unless explicitly false, which logs a warning."""
        return verify_tls(self, value, exposed="the token passport")

    def get_account_id(self) -> AccountId:
        """The connection's account id, normalised; needs no other credential.

        Raises:
            ConfigurationError: no account_id in the extra, or one that is not an account id.
        """
        value = extra_value(self.get_connection(self.netsuite_conn_id).extra_dejson or {}, "account_id")
        if value is None:
            raise ConfigurationError(f"connection {self.netsuite_conn_id!r} lacks account_id in its extra.")
        return normalize_account_id(str(value))

    def check_async_status(self, job_id: str) -> AsyncJobStatus:
        """checkAsyncStatus: the job's status, percent completed and estimated seconds remaining.

        Raises:
            InvalidJobIdError: the job id is unknown or purged (30 days).
            NetSuiteError: any other failure, after retries for transient ones.
        """
        return self.get_conn().check_async_status(job_id)

    def get_async_result(self, job_id: str, page_index: int = 1) -> AsyncResultPage:
        """getAsyncResult: one 1-based page of per-record results (20 calls per job in 30 days).

        Raises:
            InvalidJobIdError: unknown, purged, or over 20 calls.
            NetSuiteFault: JOB_NOT_COMPLETE, INVALID_PAGE_INDEX, or another fault.
        """
        return self.get_conn().get_async_result(job_id, page_index)

    def explain_error(self, error: NetSuiteError) -> str:
        """``str(error)``; for a refused login, NetSuite's fault code and text with the likely cause.

        The cause (this machine's clock or the credentials) costs one unauthenticated request to
        read NetSuite's clock; see ``netsuite.diagnostics``.
        """
        if isinstance(error, AuthenticationError) and self._settings is not None:
            return self._explain_refusal(self._settings, error)
        return str(error)

    def _explain_refusal(self, settings: ClientSettings, error: AuthenticationError) -> str:
        offset = clock_offset(settings.url, timeout=min(settings.timeout, 10.0))
        return explain_login_refusal(error, account=settings.credentials.account, offset=offset)

    def submit(
        self,
        operation: str,
        items: Any,
        *,
        record_type: str | None = None,
        deletion_reason: dict[str, Any] | None = None,
    ) -> AsyncJobStatus:
        """Submit one async job (asyncAddList ... asyncSearch); returns its first status with the job id.

        ``items``: a list of record / baseRef / initializeRecord dicts, or one search record dict
        (shapes in ``airflow_asyncjob.netsuite.records``).

        Raises:
            RecordCountError: more records than the operation's per-request limit (nothing sent).
            SubmitOutcomeUnknownError: sent without a usable answer; the job may exist (not retried).
            NetSuiteError: any other failure, after retries where NetSuite cannot have created a job.
        """
        return self.get_conn().submit(
            operation, items, record_type=record_type, deletion_reason=deletion_reason
        )

    def test_connection(self) -> tuple[bool, str]:
        """Call getServerTime, as Airflow's Test button does (``[core] test_connection = Enabled``).

        Returns ``(True, "Connected to <url> as account <id>; NetSuite server time is <ISO 8601>.")``,
        with a warning when this machine's clock is more than a minute off, or ``(False, reason)``:
        a configuration error names the field (no request is sent); a refused login gives NetSuite's
        fault code and text and whether this machine's clock is off (read from the Date header of
        an unauthenticated request) or the credentials are wrong; any other error gives its code and
        hint. Retries are bounded (TEST_CONNECTION_RETRY) unless the hook was given a policy.
        """
        try:
            settings = self.get_settings()
        except NetSuiteError as error:
            return False, f"Connection {self.netsuite_conn_id!r}: {error} No request was sent to NetSuite."
        client = NetSuiteClient(settings, retry=self.retry or TEST_CONNECTION_RETRY)
        try:
            server_time = client.get_server_time()
            local_time = time.time()
        except AuthenticationError as error:
            return False, self._explain_refusal(settings, error)
        except NetSuiteError as error:
            return False, str(error)
        message = (
            f"Connected to {client.url} as account {client.credentials.account}; "
            f"NetSuite server time is {server_time.isoformat()}."
        )
        offset = server_time.timestamp() - local_time
        if abs(offset) > CLOCK_WARNING:
            message += (
                f" This machine's clock is {describe_offset(offset)} NetSuite's: set it right (NTP) "
                "before it exceeds what NetSuite accepts for tokenPassport timestamps."
            )
        return True, message


def _base_url(host: str | None, port: int | None) -> str | None:
    """The connection's host as a base URL: ``https://`` is assumed without a scheme."""
    value = (host or "").strip().rstrip("/")
    if not value:
        return None
    if "://" not in value:
        value = f"https://{value}"
    if port and value.count(":") < 2:
        value = f"{value}:{port}"
    return value


def verify_tls(hook: BaseHook, value: Any, *, exposed: str) -> bool:
    """A connection's ``verify_tls`` extra: true unless explicitly false, which logs a warning
    naming what a machine in between could read (``exposed``: "the token passport").

    Raises:
        ConfigurationError: a value that is neither true nor false.
    """
    conn_id = getattr(hook, "netsuite_conn_id", None)
    text = str(value).strip().lower()
    if value is None or value is True or text in ("true", "1", "yes", "on"):
        return True
    if value is False or text in ("false", "0", "no", "off"):
        hook.log.warning(
            "Connection %r has verify_tls=false: NetSuite's TLS certificate is not checked, so "
            "a machine in between could read %s and records. Use it only with "
            "an emulator or a trusted proxy.",
            conn_id,
            exposed,
        )
        return False
    raise ConfigurationError(
        f"connection {conn_id!r} has verify_tls={value!r} in its extra: use true or false."
    )


def _max_in_flight(conn_id: str, value: Any) -> int:
    if value is None:
        return DEFAULT_MAX_IN_FLIGHT
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigurationError(
            f"connection {conn_id!r} has max_in_flight={value!r} in its extra: use a whole number >= 1, "
            f"at most the account's concurrency limit (default {DEFAULT_MAX_IN_FLIGHT})."
        )
    return number
