"""A limit on in-flight requests that adapts to NetSuite's concurrency faults (AIMD).

NetSuite caps the requests one account may have in flight (Help Center "SOAP Web Services
Governance Overview", section_3771740553: 5 or 15 by service tier plus 10 per SuiteCloud Plus
licence, shared by SOAP, REST and RESTlets). Over it, a request fails with
WS_CONCUR_SESSION_DISALLWD or WS_REQUEST_BLOCKED (ExceededConcurrentRequestLimitFault). The
limiter keeps our own requests below a ceiling and, on such a fault, halves its window
(multiplicative decrease); each success then widens it again (additive increase) back up to the
ceiling, as TCP congestion control does.

The increase is slow right after a refusal and speeds up the longer no request is refused:
``PROBE_INCREASE`` of a slot per window of successes at first, growing by as much again every
``PROBE_RAMP`` successes in a row, up to one slot per window. Several triggerers sharing one
account limit (each with its own limiter, none knowing of the others) thus probe for a free
slot rarely, and the account refuses few requests (issue 14: 3 triggerers on 5 slots refused
40-55 % of requests with one slot per window); a limiter alone on the account, refused once by
another integration, still climbs back to its ceiling within a few hundred answers. A limiter
that is never refused stays at its ceiling.

A request the account refused keeps its place in the line: when its key (the job id of a
poll) comes back for a slot, it is served before every waiter that was never refused. Without
that, a refused first poll went to the back of a line of hundreds of polls and its job was
seen a whole round of the line later (issue 14: with 3 triggerers, jobs kept ending for 40 s
after the line had emptied). Imports nothing from Airflow.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from contextlib import suppress
from types import TracebackType

from airflow_asyncjob.netsuite.faults import ConfigurationError

#: Slots added per window of successes right after a refusal (the additive increase's start).
PROBE_INCREASE = 1 / 32
#: Successes in a row after which the additive increase has grown by PROBE_INCREASE again.
PROBE_RAMP = 64
#: Keys of refused requests remembered for their next attempt; past this the oldest are dropped.
MAX_REFUSED_KEYS = 4096


class AimdLimiter:
    """An asyncio semaphore whose size moves between ``minimum`` and ``ceiling``.

    Waiters are served first come, first served, those whose key was refused (see
    :meth:`throttled`) before the others. Use one limiter per account per event loop.

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
        self.streak = 0  # successes since the last decrease
        self._window = float(ceiling)
        self._epoch = 0  # bumped on each decrease: one burst of faults counts once
        self._refused: dict[str, bool] = {}  # keys refused, oldest first, for their next attempt
        self._first: deque[asyncio.Future[None]] = deque()  # waiters whose key was refused
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def limit(self) -> int:
        """The number of requests allowed in flight now."""
        return max(self.minimum, int(self._window))

    @property
    def waiting(self) -> int:
        """The number of requests waiting for a slot."""
        return len(self._first) + len(self._waiters)

    def __repr__(self) -> str:
        return f"AimdLimiter(limit={self.limit}, ceiling={self.ceiling}, in_flight={self.in_flight})"

    def slot(self, key: str | None = None) -> Slot:
        """One request's Slot: ``async with limiter.slot(key) as epoch`` holds an in-flight slot
        for one attempt and yields the epoch to hand back to :meth:`throttled`.

        ``key`` names what the request is for (a poll's job id); if a request with this key was
        refused (``throttled(epoch, key)``), this one waits ahead of the never-refused ones.
        """
        return Slot(self, key)

    def succeeded(self) -> None:
        """A request got an answer: widen the window, up to the ceiling, by
        ``step / window`` slots, where ``step`` (slots per window of successes) is
        PROBE_INCREASE right after a refusal, grows by PROBE_INCREASE every PROBE_RAMP successes
        in a row, and is at most 1."""
        self.streak += 1
        if self._window < self.ceiling:
            step = min(1.0, PROBE_INCREASE * (1 + self.streak / PROBE_RAMP))
            self._window = min(float(self.ceiling), self._window + step / self._window)
            self._wake()

    def lower_ceiling(self, ceiling: int) -> None:
        """Cap the window at ``ceiling`` (>= minimum) from now on; requests in flight finish."""
        self.ceiling = max(self.minimum, min(self.ceiling, ceiling))
        self._window = min(self._window, float(self.ceiling))

    def throttled(self, epoch: int, key: str | None = None) -> None:
        """A request sent in ``epoch`` met a concurrency fault: halve the window, once per epoch
        (the requests in flight when it shrank do not count again). The next request for
        ``key``, if given, is served ahead of the waiters never refused."""
        if key is not None:
            self._refused.pop(key, None)  # refused again: now the newest, the last to be dropped
            self._refused[key] = True
            if len(self._refused) > MAX_REFUSED_KEYS:
                del self._refused[next(iter(self._refused))]
        if epoch != self._epoch:
            return  # already stepped down for this burst
        self._epoch += 1
        self.decreases += 1
        self.streak = 0
        self._window = max(float(self.minimum), self._window / 2)

    async def _acquire(self, first: bool = False) -> int:
        if self.in_flight < self.limit and not self.waiting:
            self.in_flight += 1
            return self._epoch
        waiter = asyncio.get_running_loop().create_future()
        line = self._first if first else self._waiters
        line.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot was handed over just as we were cancelled
            else:
                with suppress(ValueError):  # _wake drops a done waiter it meets before we run
                    line.remove(waiter)
            raise
        return self._epoch

    def _release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        # A slot is handed over by counting it before the waiter runs, so nobody can jump the queue.
        while self.in_flight < self.limit and (self._first or self._waiters):
            waiter = (self._first or self._waiters).popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)


class Slot:
    """A request's place in an AimdLimiter's line, used attempt after attempt (from
    :meth:`AimdLimiter.slot`): ``async with slot as epoch`` holds one in-flight slot for one
    attempt and yields the epoch to hand back to :meth:`AimdLimiter.throttled`.

    ``await slot.reserve()`` waits in line before the first attempt is even set up, and holds
    the slot it gets until the next ``async with slot`` uses it; ``release()`` gives back a
    reserved slot that no attempt used. A client reserves before it builds its retry
    controller, so that a request queued behind thousands of others (10,000 waiting triggers)
    holds only its own coroutine and future while it waits, not a tenacity controller and the
    chain of coroutines under it: fewer objects for each full garbage collection to walk
    (docs/performance.md).
    """

    __slots__ = ("_limiter", "_key", "_epoch")

    def __init__(self, limiter: AimdLimiter, key: str | None = None) -> None:
        self._limiter = limiter
        self._key = key
        self._epoch: int | None = None  # the epoch it was acquired in, while held

    async def reserve(self) -> int:
        """Wait for an in-flight slot, unless one is already held; the epoch it was acquired in.
        Served first when this key was refused last time (see :meth:`AimdLimiter.throttled`)."""
        if self._epoch is None:
            key, limiter = self._key, self._limiter
            first = key is not None and limiter._refused.pop(key, False)
            self._epoch = await limiter._acquire(first)
        return self._epoch

    def release(self) -> None:
        """Give back the slot held, if one is (a reserved slot no attempt used, too)."""
        if self._epoch is not None:
            self._epoch = None
            self._limiter._release()

    async def __aenter__(self) -> int:
        return await self.reserve()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()


def refused_poll_interval(
    *, refusals: int, min_interval: float, max_interval: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait after a poll the account refused (a concurrency fault), before polling
    again: drawn uniformly from ``[min_interval, min(max_interval, min_interval * 2 ** refusals)]``
    (the sensor's ``poke_interval`` and ``max_poll_interval``, seconds).

    The jitter spreads the refused polls of many triggers, so that they do not come back at
    once; the cap doubles with each refusal in a row but never passes ``max_interval``, so a
    refused poll is tried again within the trigger's own bounds. ``refusals`` counts the
    refused polls in a row, this one included (>= 1).
    """
    high = min(max_interval, min_interval * 2 ** min(max(refusals, 1), 32))
    return (rng or random).uniform(min_interval, high)
