"""SoapAsyncJobHook: an Airflow connection of type ``netsuite_soap`` -> authenticated NetSuite SOAP calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from airflow_asyncjob.netsuite.auth import TokenCredentials
from airflow_asyncjob.netsuite.client import (
    DEFAULT_MAX_IN_FLIGHT,
    AsyncNetSuiteClient,
    NetSuiteClient,
    RetryPolicy,
    async_client,
)
from airflow_asyncjob.netsuite.endpoints import DEFAULT_ENDPOINT_VERSION, normalize_account_id
from airflow_asyncjob.netsuite.faults import ConfigurationError, NetSuiteError
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncResultPage

if TYPE_CHECKING:
    from airflow.sdk import Connection

CONN_TYPE = "netsuite_soap"
SECRET_EXTRAS = ("consumer_secret", "token_secret")


class SoapAsyncJobHook(BaseHook):
    """Calls NetSuite's SOAP async job operations with token-based authentication.

    The connection (type ``netsuite_soap``) holds in its extra: ``account_id`` (``1234567`` or
    ``1234567_SB1``; spaces, quotes and a lower-case suffix are tolerated), ``consumer_key``,
    ``consumer_secret``, ``token_id``, ``token_secret`` and ``endpoint_version`` (default
    ``"2025_2"``), and optionally ``max_in_flight`` (requests in flight per account from one
    triggerer, default 4) and ``wsdl``: NetSuite's WSDL for that version (its URL, fetched once
    and cached on disk, or a local copy), for record types and fields beyond the compact schema
    shipped here (used by submits). Its ``host``, when set, is a base URL (``http://127.0.0.1:8765``) that replaces
    ``https://<account>.suitetalk.api.netsuite.com``: an emulator or a proxy.

    Transient failures (WS_REQUEST_BLOCKED, WS_CONCUR_SESSION_DISALLWD, ACCT_TEMP_UNAVAILABLE,
    UNEXPECTED_ERROR, HTTP 5xx, HTML pages, connection errors, time-outs) are retried per
    ``retry``; permanent ones raise at once. Every method raises a subclass of
    ``airflow_asyncjob.netsuite.faults.NetSuiteError``.

    Args:
        netsuite_conn_id: the Airflow connection id.
        timeout: seconds allowed for one HTTP request.
        retry: attempts, total seconds and backoff for transient failures.
    """

    conn_name_attr = "netsuite_conn_id"
    default_conn_name = "netsuite_default"
    conn_type = CONN_TYPE
    hook_name = "NetSuite SOAP (async jobs)"

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

    @cached_property
    def client(self) -> NetSuiteClient:
        """The sync protocol client for this connection (the zeep client under it is shared per process)."""
        conn = self.get_connection(self.netsuite_conn_id)
        settings = self._settings(conn)
        settings.pop("max_in_flight")
        wsdl = str((conn.extra_dejson or {}).get("wsdl") or "").strip() or None
        return NetSuiteClient(**settings, timeout=self.timeout, retry=self.retry, wsdl=wsdl)

    @asynccontextmanager
    async def async_client(self) -> AsyncIterator[AsyncNetSuiteClient]:
        """Lease the async protocol client, reading the connection with Airflow's async API.

        Every lease for one account in one event loop (a triggerer) shares one connection pool
        and one limit on in-flight requests: the connection extra ``max_in_flight`` (default 4,
        below NetSuite's smallest account limit of 5). Closing the last lease closes the pool.
        """
        settings = self._settings(await self.aget_connection(self.netsuite_conn_id))
        async with async_client(**settings, timeout=self.timeout, retry=self.retry) as client:
            yield client

    def _settings(self, conn: Connection) -> dict[str, Any]:
        """Client arguments from a connection; secrets are registered with the masker first."""
        extra = conn.extra_dejson or {}
        for name in SECRET_EXTRAS:
            if extra.get(name):
                mask_secret(extra[name], name)
        missing = [
            name
            for name in ("account_id", "consumer_key", "consumer_secret", "token_id", "token_secret")
            if not extra.get(name)
        ]
        if missing:
            raise ConfigurationError(
                f"connection {self.netsuite_conn_id!r} lacks {', '.join(missing)} in its extra. "
                "Set them from the integration record and access token in NetSuite."
            )
        credentials = TokenCredentials(
            account=normalize_account_id(str(extra["account_id"])),
            consumer_key=str(extra["consumer_key"]).strip(),
            consumer_secret=str(extra["consumer_secret"]).strip(),
            token_id=str(extra["token_id"]).strip(),
            token_secret=str(extra["token_secret"]).strip(),
        )
        return {
            "credentials": credentials,
            "endpoint_version": str(extra.get("endpoint_version") or DEFAULT_ENDPOINT_VERSION),
            "base_url": _base_url(conn.host, conn.port),
            "max_in_flight": _max_in_flight(self.netsuite_conn_id, extra.get("max_in_flight")),
        }

    def get_conn(self) -> NetSuiteClient:
        """The NetSuiteClient (Airflow's conventional accessor)."""
        return self.client

    def check_async_status(self, job_id: str) -> AsyncJobStatus:
        """checkAsyncStatus: the job's status, percent completed and estimated seconds remaining.

        Raises:
            InvalidJobIdError: the job id is unknown or purged (30 days).
            NetSuiteError: any other failure, after retries for transient ones.
        """
        return self.client.check_async_status(job_id)

    def get_async_result(self, job_id: str, page_index: int = 1) -> AsyncResultPage:
        """getAsyncResult: one 1-based page of per-record results (20 calls per job in 30 days).

        Raises:
            InvalidJobIdError: unknown, purged, or over 20 calls.
            NetSuiteFault: JOB_NOT_COMPLETE, INVALID_PAGE_INDEX, or another fault.
        """
        return self.client.get_async_result(job_id, page_index)

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
        return self.client.submit(operation, items, record_type=record_type, deletion_reason=deletion_reason)

    def test_connection(self) -> tuple[bool, str]:
        """Call getServerTime: ``(True, "... server time ...")`` or ``(False, reason and hint)``."""
        try:
            server_time = self.client.get_server_time()
        except NetSuiteError as error:
            return False, str(error)
        return True, f"Connected to {self.client.url}; NetSuite server time is {server_time.isoformat()}."


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


def _max_in_flight(conn_id: str, value: Any) -> int:
    if value in (None, ""):
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
