"""A limit on in-flight requests that adapts to NetSuite's concurrency faults (AIMD).

NetSuite caps the requests one account may have in flight (Help Center "SOAP Web Services
Governance Overview", section_3771740553: 5 or 15 by service tier plus 10 per SuiteCloud Plus
licence, shared by SOAP, REST and RESTlets). Over it, a request fails with
WS_CONCUR_SESSION_DISALLWD or WS_REQUEST_BLOCKED (ExceededConcurrentRequestLimitFault). The
limiter keeps our own requests below a ceiling and, on such a fault, halves its window
(multiplicative decrease); each success then widens it by 1/window (additive increase: about one
more slot per window of successes) back up to the ceiling, as TCP congestion control does.
Imports nothing from Airflow.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from airflow_asyncjob.netsuite.faults import ConfigurationError


class AimdLimiter:
    """An asyncio semaphore whose size moves between ``minimum`` and ``ceiling``.

    Waiters are served first come, first served. Use one limiter per account per event loop.

    Args:
        ceiling: the most requests in flight at once (>= 1); also the starting window.
        minimum: the window never shrinks below this (>= 1).

    Raises:
        ConfigurationError: a bound below 1, or ``minimum`` above ``ceiling``.
    """

    def __init__(self, ceiling: int, *, minimum: int = 1) -> None:
        if isinstance(ceiling, bool) or not isinstance(ceiling, int) or ceiling < 1:
            raise ConfigurationError(f"the in-flight request limit must be an integer >= 1, got {ceiling!r}.")
        if not 1 <= minimum <= ceiling:
            raise ConfigurationError(f"the limiter's minimum must be within 1..{ceiling}, got {minimum!r}.")
        self.ceiling = ceiling
        self.minimum = minimum
        self.in_flight = 0
        self.decreases = 0
        self._window = float(ceiling)
        self._epoch = 0  # bumped on each decrease: one burst of faults counts once
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def limit(self) -> int:
        """The number of requests allowed in flight now."""
        return max(self.minimum, int(self._window))

    def __repr__(self) -> str:
        return f"AimdLimiter(limit={self.limit}, ceiling={self.ceiling}, in_flight={self.in_flight})"

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[int]:
        """Hold one in-flight slot; yields the epoch to hand back to :meth:`throttled`."""
        epoch = await self._acquire()
        try:
            yield epoch
        finally:
            self._release()

    def succeeded(self) -> None:
        """A request got an answer: widen the window by 1/window, up to the ceiling."""
        if self._window < self.ceiling:
            self._window = min(float(self.ceiling), self._window + 1.0 / self._window)
            self._wake()

    def lower_ceiling(self, ceiling: int) -> None:
        """Cap the window at ``ceiling`` (>= minimum) from now on; requests in flight finish."""
        self.ceiling = max(self.minimum, min(self.ceiling, ceiling))
        self._window = min(self._window, float(self.ceiling))

    def throttled(self, epoch: int) -> None:
        """A request sent in ``epoch`` met a concurrency fault: halve the window once per epoch."""
        if epoch != self._epoch:
            return  # already stepped down for this burst
        self._epoch += 1
        self.decreases += 1
        self._window = max(float(self.minimum), self._window / 2)

    async def _acquire(self) -> int:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return self._epoch
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot was handed over just as we were cancelled
            else:
                with suppress(ValueError):  # _wake drops a done waiter it meets before we run
                    self._waiters.remove(waiter)
            raise
        return self._epoch

    def _release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        # A slot is handed over by counting it before the waiter runs, so nobody can jump the queue.
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)
