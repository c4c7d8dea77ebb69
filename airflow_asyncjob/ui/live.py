"""Live checkAsyncStatus calls for the UI: at most one per job per refresh period, shared by every
viewer of one API server process, through the account's shared in-flight limit.

The tab asks for a live status only when what the task recorded is older than the refresh
period while the task still waits (see ``airflow_asyncjob.ui.app``). Answers, and failures, are
kept for the refresh period: ten people watching one job cost what one costs, and a NetSuite
that is down is not asked again until the period is over. The call goes through the hook's
async client, so it shares the account's connection pool and AIMD limit with every other call
this process makes (``max_in_flight`` of the connection).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from airflow_asyncjob.netsuite.faults import NetSuiteError
from airflow_asyncjob.netsuite.models import AsyncJobStatus
from airflow_asyncjob.ui import journal

Fetch = Callable[[str, str], Awaitable[tuple[AsyncJobStatus, dict | None]]]
"""``(conn_id, job_id) -> (status, limiter snapshot or None)``; raises NetSuiteError."""


@dataclass
class Answer:
    """One live answer: a status or an error, when it was fetched (Unix seconds), the limiter."""

    fetched_at: float
    status: AsyncJobStatus | None = None
    error: NetSuiteError | None = None
    limiter: dict | None = None


async def fetch_with_hook(conn_id: str, job_id: str) -> tuple[AsyncJobStatus, dict | None]:
    """One status poll through the connection's hook's async client (two attempts within 10 s):
    checkAsyncStatus for ``netsuite_soap``; for ``netsuite_rest`` the job alone while it runs
    (one request: its task counts stay those the sensor recorded), its tasks too once completed."""
    from airflow_asyncjob.hooks.dispatch import ajob_hook
    from airflow_asyncjob.netsuite.retry import RetryPolicy

    hook = await ajob_hook(conn_id, timeout=10.0, retry=RetryPolicy(max_attempts=2, max_delay=10.0))
    async with hook.get_async_conn() as client:
        status = await client.check_async_status(job_id)
        return status, journal.limiter_snapshot(client)


class LiveStatus:
    """A per-process cache of live statuses keyed by (connection id, job id), single-flight.

    Args:
        refresh_seconds: how long an answer (or a failure) is served before NetSuite is asked again.
        fetch: the call to make (``fetch_with_hook`` by default; tests pass a counting one).
    """

    def __init__(self, refresh_seconds: float, fetch: Fetch = fetch_with_hook) -> None:
        self.refresh_seconds = refresh_seconds
        self.fetch = fetch
        self.calls = 0
        self._answers: dict[tuple[str, str], Answer] = {}
        self._pending: dict[tuple[str, str], asyncio.Task[Answer]] = {}

    def cached(self, conn_id: str, job_id: str) -> Answer | None:
        """The last answer for this job, however old (None if never asked)."""
        return self._answers.get((conn_id, job_id))

    async def get(self, conn_id: str, job_id: str, wait: float = 3.0) -> Answer | None:
        """The live answer, fetching it if the cached one is older than the refresh period.

        Waits at most ``wait`` seconds for a call in flight (it goes on in the background and the
        next look gets it); returns the previous answer, or None, meanwhile.
        """
        key = (conn_id, job_id)
        answer = self._answers.get(key)
        if answer is not None and time.time() - answer.fetched_at < self.refresh_seconds:
            return answer
        task = self._pending.get(key)
        if task is None:
            task = self._pending[key] = asyncio.ensure_future(self._call(key))
        try:
            return await asyncio.wait_for(asyncio.shield(task), wait)
        except asyncio.TimeoutError:
            return answer

    async def _call(self, key: tuple[str, str]) -> Answer:
        self.calls += 1
        try:
            status, limiter = await self.fetch(*key)
            answer = Answer(time.time(), status=status, limiter=limiter)
        except NetSuiteError as error:
            answer = Answer(time.time(), error=error)
        except Exception as error:  # a broken connection definition, say: shown, not raised
            answer = Answer(time.time(), error=NetSuiteError(f"{type(error).__name__}: {error}"))
        finally:
            self._pending.pop(key, None)
        self._answers[key] = answer
        if len(self._answers) > 10_000:  # jobs long gone: forget the oldest half
            for old in sorted(self._answers, key=lambda k: self._answers[k].fetched_at)[:5_000]:
                del self._answers[old]
        return answer
