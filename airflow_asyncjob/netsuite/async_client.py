"""AsyncNetSuiteClient: authenticated NetSuite SOAP calls from asyncio (triggers), leased with
``async_client(settings)``.

In one event loop, every client of one account shares that account's channel (one httpx
connection pool and one AIMD limit on in-flight requests, see ``channels``); the pool closes
when the last client of the account is released. Same operations, errors and retries as
NetSuiteClient.

Imports nothing from Airflow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

from airflow_asyncjob.netsuite import operations
from airflow_asyncjob.netsuite.channels import AccountChannel, lease_channel
from airflow_asyncjob.netsuite.faults import ConcurrencyLimitError
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncResultPage
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.netsuite.settings import ClientSettings
from airflow_asyncjob.netsuite.transports import translate

T = TypeVar("T")


@asynccontextmanager
async def async_client(
    settings: ClientSettings,
    *,
    retry: RetryPolicy | None = None,
    on_signature: Callable[[str], None] | None = None,
) -> AsyncIterator[AsyncNetSuiteClient]:
    """Lease an AsyncNetSuiteClient on its account's shared channel; release it on exit.

    Args:
        settings: the account's ClientSettings; ``max_in_flight`` is the most requests this
            account may have in flight from this event loop (clients that ask for different
            values share the lowest). ``wsdl`` does not apply here (reads only).
        retry: the RetryPolicy for transient failures (default ``RetryPolicy()``).
        on_signature: called with each tokenPassport signature before it is sent.

    The last lease of an account to exit (normally, by an error or by cancellation) closes the
    account's connection pool.
    """
    async with lease_channel(settings) as channel:
        yield AsyncNetSuiteClient(settings, channel, retry=retry, on_signature=on_signature)


class AsyncNetSuiteClient(operations.ClientBase):
    """Authenticated NetSuite SOAP calls from asyncio; obtain one with ``async_client(...)``.

    Each HTTP attempt holds one slot of the channel's limiter; a concurrency fault
    (WS_REQUEST_BLOCKED, WS_CONCUR_SESSION_DISALLWD) halves the limit, answers widen it again,
    and the request is retried (see RetryPolicy).

    Args:
        settings: the account's ClientSettings.
        channel: the account's AccountChannel in the running event loop.
        retry: the RetryPolicy for transient failures (default ``RetryPolicy()``).
        on_signature: called with each tokenPassport signature before it is sent.
    """

    def __init__(
        self,
        settings: ClientSettings,
        channel: AccountChannel,
        *,
        retry: RetryPolicy | None = None,
        on_signature: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(settings, retry=retry, on_signature=on_signature)
        self.channel = channel

    async def check_async_status(self, job_id: str) -> AsyncJobStatus:
        """checkAsyncStatus(jobId) -> AsyncJobStatus (Help Center: "checkAsyncStatus")."""
        return await self._run(operations.check_async_status(job_id))

    async def get_async_result(self, job_id: str, page_index: int = 1) -> AsyncResultPage:
        """getAsyncResult(jobId, pageIndex) -> one AsyncResultPage (1-based; 20 calls per job)."""
        return await self._run(operations.get_async_result(job_id, page_index))

    async def get_server_time(self) -> datetime:
        """getServerTime -> NetSuite's clock."""
        return await self._run(operations.get_server_time())

    async def _run(self, call: operations.Call[T]) -> T:
        retrying = self.retry.async_retrying(call.operation)
        answer: Any = await retrying(self._attempt, call)
        return call.parse(answer)

    async def _attempt(self, call: operations.Call[Any]) -> Any:
        s = self.settings
        service = self.channel.service(s.endpoint_version, s.url, s.timeout, records=call.records)
        limiter = self.channel.limiter
        async with limiter.slot() as epoch:
            # The passport is made once a slot is held, so its timestamp is fresh when sent.
            headers = operations.passport_header(s.credentials, self.on_signature)
            try:
                answer = await getattr(service, call.operation)(**call.body, _soapheaders=headers)
            except Exception as error:  # every failure leaves as a typed NetSuiteError
                failure = translate(error, call.operation, call.job_id)
                if isinstance(failure, ConcurrencyLimitError):
                    limiter.throttled(epoch)
                raise failure from None
        limiter.succeeded()
        return answer.body
