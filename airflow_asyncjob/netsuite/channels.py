"""Account channels: what the async clients of one account share in one event loop (one httpx
connection pool, one AIMD limit on in-flight requests, the async zeep services); the registry
itself lives in ``process_state.PROCESS_STATE``.

Imports nothing from Airflow.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import zeep
import zeep.proxy

from airflow_asyncjob.netsuite import wsdl
from airflow_asyncjob.netsuite.limiter import AimdLimiter
from airflow_asyncjob.netsuite.process_state import PROCESS_STATE
from airflow_asyncjob.netsuite.settings import ClientSettings
from airflow_asyncjob.netsuite.transports import AsyncTransport

if TYPE_CHECKING:
    from airflow_asyncjob.netsuite.rest.settings import RestSettings


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
        """The async zeep service proxy over the compact schema, on this channel's pool."""
        key = (endpoint_version, url, timeout, records)
        service = self._services.get(key)
        if service is None:
            document = PROCESS_STATE.document(endpoint_version, records)
            client = zeep.AsyncClient(
                document,
                transport=AsyncTransport(self.http, timeout, endpoint_version),
                settings=wsdl.ZEEP_SETTINGS,
            )
            binding = document.bindings[wsdl.binding_name(endpoint_version)]
            service = self._services[key] = zeep.proxy.AsyncServiceProxy(client, binding, address=url)
        return service


def open_channels() -> dict[str, AccountChannel]:
    """The channels open in the running event loop, by account (for tests and diagnostics)."""
    return PROCESS_STATE.open_channels(asyncio.get_running_loop())


@asynccontextmanager
async def lease_channel(settings: ClientSettings | RestSettings) -> AsyncIterator[AccountChannel]:
    """Hold the channel of ``settings``' account in the running event loop, opening it if none is
    open; the last lease to exit (normally, by an error or by cancellation) closes its pool.

    SOAP (ClientSettings) and REST (RestSettings) clients of one account lease the same channel:
    one connection pool and one limiter, as NetSuite counts both against one concurrency limit.

    A channel opens with ``settings.max_in_flight`` as its limit; a lease asking for less
    lowers the open channel's limit to it.
    """
    max_in_flight = settings.max_in_flight
    channels = PROCESS_STATE.channels(asyncio.get_running_loop())
    account = settings.credentials.account.passport
    key = account if settings.verify_tls else f"{account} (TLS unchecked)"
    channel = channels.get(key)
    if channel is None:
        pool = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
        http = httpx.AsyncClient(limits=pool, verify=settings.verify_tls)
        channel = channels[key] = AccountChannel(account, AimdLimiter(max_in_flight), http)
    elif max_in_flight < channel.limiter.ceiling:
        channel.limiter.lower_ceiling(max_in_flight)
    channel.leases += 1
    try:
        yield channel
    finally:
        channel.leases -= 1
        if channel.leases == 0:
            if channels.get(key) is channel:
                del channels[key]  # a lease taken while we close gets a fresh channel
            await channel.http.aclose()
