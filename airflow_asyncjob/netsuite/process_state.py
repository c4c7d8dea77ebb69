"""ProcessState: what NetSuite clients share within one process, in one object.

- the parsed compact schema, per (endpoint version, with or without record types);
- NetSuite's own WSDL documents, per (endpoint version, WSDL URL or path);
- the sync zeep service proxies, per (endpoint version, service URL, time-out, TLS check, WSDL,
  record types), and the RecordBuilder over each one's schema;
- the async account channels (connection pool and limiter), per event loop and account.

Lifetime: one instance, ``PROCESS_STATE``, made at import and kept until the process exits;
everything in it is safe to share between clients, threads and tasks (documents and services
are built under one lock; channels belong to one event loop each). ``reset()`` forgets it all,
as a new process would start: for tests, with no async client leased.

Imports nothing from Airflow.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

import zeep
import zeep.wsdl

from airflow_asyncjob.netsuite import endpoints, wsdl
from airflow_asyncjob.netsuite.records import RecordBuilder
from airflow_asyncjob.netsuite.transports import SyncTransport

if TYPE_CHECKING:
    from airflow_asyncjob.netsuite.channels import AccountChannel

#: (endpoint version, service URL, time-out in seconds, TLS check, WSDL or None, record types)
ServiceKey = tuple[str, str, float, bool, "str | None", bool]


class ProcessState:
    """The process-wide caches of the NetSuite clients (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._documents: dict[tuple[str, bool], zeep.wsdl.Document] = {}
        self._official_documents: dict[tuple[str, str], zeep.wsdl.Document] = {}
        self._services: dict[ServiceKey, Any] = {}
        self._transports: list[SyncTransport] = []  # the services' HTTP sessions, closed by reset()
        self._record_builders: dict[ServiceKey, RecordBuilder] = {}
        self._channels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AccountChannel]] = (
            weakref.WeakKeyDictionary()
        )
        # account -> (monotonic seconds when read, the ceiling NetSuite told or None when it did not)
        self._governance: dict[str, tuple[float, int | None]] = {}

    def reset(self) -> None:
        """Forget every document, service, record builder and channel, as in a new process.

        For tests; call it with no async client leased (open channels are forgotten, not closed;
        the sync services' HTTP sessions are closed).
        """
        with self._lock:
            for transport in self._transports:
                transport.session.close()
            self._transports.clear()
            self._documents.clear()
            self._official_documents.clear()
            self._services.clear()
            self._record_builders.clear()
            self._channels = weakref.WeakKeyDictionary()
            self._governance.clear()

    def governance_ceiling(self, account: str, max_age: float) -> tuple[bool, int | None]:
        """``(known, ceiling)``: whether the account's governance was read in this process within
        ``max_age`` seconds, and the ceiling it gave (None: NetSuite did not tell)."""
        with self._lock:
            seen = self._governance.get(account)
        if seen is None or time.monotonic() - seen[0] > max_age:
            return False, None
        return True, seen[1]

    def remember_governance(self, account: str, ceiling: int | None) -> None:
        """Remember what the governance read of ``account`` gave (see ``governance_ceiling``)."""
        with self._lock:
            self._governance[account] = (time.monotonic(), ceiling)

    def forget_governance(self) -> None:
        """Forget every governance read (for tests: each starts as a new process would)."""
        with self._lock:
            self._governance.clear()

    def document(self, endpoint_version: str, records: bool = True) -> zeep.wsdl.Document:
        """The parsed compact schema of an endpoint version, built on first use."""
        with self._lock:
            return self._document(endpoint_version, records)

    def _document(self, endpoint_version: str, records: bool) -> zeep.wsdl.Document:
        document = self._documents.get((endpoint_version, records))
        if document is None:
            document = self._documents[(endpoint_version, records)] = wsdl.compact_document(
                endpoint_version, records
            )
        return document

    def _official_document(self, endpoint_version: str, location: str) -> zeep.wsdl.Document:
        document = self._official_documents.get((endpoint_version, location))
        if document is None:
            document = self._official_documents[(endpoint_version, location)] = wsdl.official_document(
                endpoint_version, location
            )
        return document

    def service(
        self,
        endpoint_version: str,
        url: str,
        timeout: float,
        verify_tls: bool = True,
        wsdl_location: str | None = None,
        records: bool = True,
    ) -> Any:
        """The sync zeep service proxy for these arguments, built on first use: over the compact
        schema (without its record types when ``records`` is false), or over NetSuite's own WSDL
        at ``wsdl_location`` (which always has them).

        Raises:
            ConfigurationError: ``wsdl_location`` cannot be loaded or is of another endpoint version.
        """
        key = self._key(endpoint_version, url, timeout, verify_tls, wsdl_location, records)
        service = self._services.get(key)
        if service is None:
            with self._lock:
                service = self._services.get(key)
                if service is None:
                    service = self._services[key] = self._new_service(key)
        return service

    def record_builder(
        self, endpoint_version: str, url: str, timeout: float, verify_tls: bool, wsdl_location: str | None
    ) -> RecordBuilder:
        """The RecordBuilder over the schema of that sync service (compact or ``wsdl_location``)."""
        key = self._key(endpoint_version, url, timeout, verify_tls, wsdl_location, True)
        builder = self._record_builders.get(key)
        if builder is None:
            zeep_client = self.service(*key)._client
            with self._lock:
                builder = self._record_builders.get(key)
                if builder is None:
                    core = endpoints.namespaces(endpoint_version).core
                    builder = self._record_builders[key] = RecordBuilder(zeep_client, core)
        return builder

    def channels(self, loop: asyncio.AbstractEventLoop) -> dict[str, AccountChannel]:
        """The account channels of ``loop``, by channel key (mutable: ``channels`` leases them)."""
        return self._channels.setdefault(loop, {})

    def open_channels(self, loop: asyncio.AbstractEventLoop) -> dict[str, AccountChannel]:
        """A copy of the channels open in ``loop``, by channel key."""
        return dict(self._channels.get(loop, {}))

    @staticmethod
    def _key(
        endpoint_version: str,
        url: str,
        timeout: float,
        verify_tls: bool,
        wsdl_location: str | None,
        records: bool,
    ) -> ServiceKey:
        return (
            endpoint_version,
            url,
            timeout,
            verify_tls,
            wsdl_location,
            records or wsdl_location is not None,
        )

    def _new_service(self, key: ServiceKey) -> Any:
        endpoint_version, url, timeout, verify_tls, wsdl_location, records = key
        transport = SyncTransport(
            timeout=timeout, operation_timeout=timeout, endpoint_version=endpoint_version
        )
        transport.session.verify = verify_tls
        transport.settle_environment(url)
        self._transports.append(transport)
        document = (
            self._document(endpoint_version, records)
            if wsdl_location is None
            else self._official_document(endpoint_version, wsdl_location)
        )
        client = zeep.Client(document, transport=transport, settings=wsdl.ZEEP_SETTINGS)
        return client.create_service(wsdl.binding_name(endpoint_version), url)


#: The one ProcessState of this process.
PROCESS_STATE = ProcessState()


def zeep_service(
    endpoint_version: str,
    url: str,
    timeout: float,
    verify_tls: bool = True,
    wsdl: str | None = None,
    records: bool = True,
) -> Any:
    """``PROCESS_STATE.service(...)``: the process-wide sync zeep service proxy (see there)."""
    return PROCESS_STATE.service(endpoint_version, url, timeout, verify_tls, wsdl, records)
