"""AsyncNetSuiteClient: authenticated NetSuite SOAP calls from asyncio (triggers), leased with
``async_client(settings)``.

In one event loop, every client of one account shares that account's channel (one httpx
connection pool and one AIMD limit on in-flight requests, see ``channels``); the pool closes
when the last client of the account is released. Same operations, errors and retries as
NetSuiteClient.

Imports nothing from Airflow.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

from airflow_asyncjob.netsuite import operations
from airflow_asyncjob.netsuite.channels import AccountChannel, lease_channel
from airflow_asyncjob.netsuite.faults import ConcurrencyLimitError, NetSuiteError
from airflow_asyncjob.netsuite.limiter import Slot
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncResultPage, ConcurrencyGovernance
from airflow_asyncjob.netsuite.process_state import PROCESS_STATE
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.netsuite.settings import ClientSettings
from airflow_asyncjob.netsuite.transports import translate

T = TypeVar("T")
#: Seconds a process keeps what NetSuite said of an account's concurrency limit (or that it did
#: not tell) before a new channel asks again: the limit changes only when licences do.
GOVERNANCE_MAX_AGE = 3600.0
log = logging.getLogger(__name__)


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

    The first lease of a channel asks NetSuite for the account's concurrency limit (see
    ``AsyncNetSuiteClient.cap_to_account_limit``) and caps the channel's ceiling to it. What
    NetSuite said (or that it did not tell) is kept for ``GOVERNANCE_MAX_AGE`` seconds per process,
    so that channels opened often (a worker's wait, the UI's live fetch) do not ask again each time.

    The last lease of an account to exit (normally, by an error or by cancellation) closes the
    account's connection pool.
    """
    async with lease_channel(settings) as channel:
        client = AsyncNetSuiteClient(settings, channel, retry=retry, on_signature=on_signature)
        if not channel.governance_read:  # once per channel open: the first lease asks
            channel.governance_read = True
            known, ceiling = PROCESS_STATE.governance_ceiling(channel.account, GOVERNANCE_MAX_AGE)
            if not known:
                await client.cap_to_account_limit()
            elif ceiling is not None:
                channel.limiter.lower_ceiling(ceiling)
        yield client


class AsyncNetSuiteClient(operations.ClientBase):
    """Authenticated NetSuite SOAP calls from asyncio; obtain one with ``async_client(...)``.

    Each HTTP attempt holds one slot of the channel's limiter; a concurrency fault
    (WS_REQUEST_BLOCKED, WS_CONCUR_SESSION_DISALLWD) halves the limit, answers widen it again
    (see ``limiter``), and the request is retried (see RetryPolicy), unless the caller asked
    for the fault back (``check_async_status(..., retry_refused=False)``, the trigger's poll).

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

    async def check_async_status(self, job_id: str, *, retry_refused: bool = True) -> AsyncJobStatus:
        """checkAsyncStatus(jobId) -> AsyncJobStatus (Help Center: "checkAsyncStatus").

        Args:
            retry_refused: False to get a concurrency fault (ConcurrencyLimitError) at once,
                for a caller that polls again in its own time, rather than retry it with the
                RetryPolicy's backoff (up to ``max_wait`` seconds per wait).

        Raises:
            NetSuiteError: a typed failure, once the RetryPolicy's retries are used up.
        """
        return await self._run(operations.check_async_status(job_id), retry_refused=retry_refused)

    async def get_async_result(self, job_id: str, page_index: int = 1) -> AsyncResultPage:
        """getAsyncResult(jobId, pageIndex) -> one AsyncResultPage (1-based; 20 calls per job)."""
        return await self._run(operations.get_async_result(job_id, page_index))

    async def get_server_time(self) -> datetime:
        """getServerTime -> NetSuite's clock."""
        return await self._run(operations.get_server_time())

    async def get_concurrency_governance(self) -> ConcurrencyGovernance:
        """getIntegrationGovernanceInfo, then getAccountGovernanceInfo, each tried once ->
        what NetSuite says of this integration's concurrency limit (``ceiling``).

        Raises:
            NetSuiteError: either call failed (PermissionDeniedError when the role may not call
                them: NetSuite answers them for administrators only).
        """
        once = RetryPolicy(max_attempts=1, max_delay=0.0)
        integration = await self._run(operations.get_integration_governance_info(), policy=once)
        account = await self._run(operations.get_account_governance_info(), policy=once)
        return dataclasses.replace(
            account, integration_limit=integration.integration_limit, limit_type=integration.limit_type
        )

    async def cap_to_account_limit(self) -> int | None:
        """Lower the channel's limiter ceiling to the limit NetSuite tells (see
        ``get_concurrency_governance``), when lower than the configured ``max_in_flight``;
        the new ceiling, or None when NetSuite did not tell (the configured ceiling stays).

        A failure (a role that may not call the governance operations, a busy account) is no
        error: it is logged once at INFO and the configured ceiling kept.
        """
        try:
            governance = await self.get_concurrency_governance()
        except NetSuiteError as error:
            PROCESS_STATE.remember_governance(self.channel.account, None)
            log.info(
                "NetSuite did not tell the account's concurrency limit (%s); keeping max_in_flight=%d.",
                error.summary.rstrip("."),
                self.channel.limiter.ceiling,
            )
            return None
        ceiling = governance.ceiling
        PROCESS_STATE.remember_governance(self.channel.account, ceiling)
        if ceiling is None:
            return None
        if ceiling < self.channel.limiter.ceiling:
            log.info(
                "NetSuite allows this integration %d requests in flight (%s); "
                "capping max_in_flight=%d to it.",
                ceiling,
                governance,
                self.channel.limiter.ceiling,
            )
            self.channel.limiter.lower_ceiling(ceiling)
        return self.channel.limiter.ceiling

    async def _run(
        self, call: operations.Call[T], *, retry_refused: bool = True, policy: RetryPolicy | None = None
    ) -> T:
        slot = self.channel.limiter.slot(call.job_id)
        await slot.reserve()  # in line before the retry controller exists (see Slot)
        try:
            retrying = (policy or self.retry).async_retrying(call.operation, retry_refused=retry_refused)
            answer: Any = await retrying(self._attempt, call, slot)
        finally:
            slot.release()  # held only if the first attempt never started
        return call.parse(answer)

    async def _attempt(self, call: operations.Call[Any], slot: Slot) -> Any:
        s = self.settings
        limiter = self.channel.limiter
        async with slot as epoch:
            # Inside the slot: whatever fails here gives the slot back before any retry's wait.
            service = self.channel.service(s.endpoint_version, s.url, s.timeout, records=call.records)
            # The passport is made once a slot is held, so its timestamp is fresh when sent.
            headers = operations.soap_headers(service, s.endpoint_version, s.credentials, self.on_signature)
            try:
                answer = await getattr(service, call.operation)(**call.body, _soapheaders=headers)
            except Exception as error:  # every failure leaves as a typed NetSuiteError
                failure = translate(error, call.operation, call.job_id)
                if isinstance(failure, ConcurrencyLimitError):
                    limiter.throttled(epoch, call.job_id)
                raise failure from None
        limiter.succeeded()
        return answer.body
