"""AimdLimiter: the in-flight bound, FIFO hand-over, cancellation, and the AIMD steps."""

from __future__ import annotations

import asyncio
import random

import pytest

from airflow_asyncjob.netsuite.faults import ConfigurationError
from airflow_asyncjob.netsuite.limiter import AimdLimiter, refused_poll_interval


async def test_never_more_in_flight_than_the_limit():
    limiter, peak = AimdLimiter(3), 0

    async def request():
        nonlocal peak
        async with limiter.slot():
            peak = max(peak, limiter.in_flight)
            await asyncio.sleep(0.001)

    await asyncio.gather(*(request() for _ in range(200)))
    assert peak == 3
    assert limiter.in_flight == 0


async def test_waiters_are_served_first_come_first_served():
    limiter, order = AimdLimiter(1), []

    async def request(n):
        async with limiter.slot():
            order.append(n)
            await asyncio.sleep(0)

    await asyncio.gather(*(request(n) for n in range(20)))
    assert order == list(range(20))


async def test_a_cancelled_waiter_leaks_no_slot():
    limiter = AimdLimiter(1)
    async with limiter.slot():
        waiter = asyncio.create_task(limiter.slot().__aenter__())
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
    assert limiter.in_flight == 0
    async with limiter.slot():  # still usable
        assert limiter.in_flight == 1


async def test_a_waiter_cancelled_as_a_slot_frees_raises_cancelled_error_and_leaks_nothing():
    # Many triggers cancelled at once (triggerer shutdown, tasks cleared) while requests finish:
    # the release drops the cancelled waiter before the waiter's task runs its handler.
    limiter = AimdLimiter(1)
    held = limiter.slot()
    await held.__aenter__()
    waiter = asyncio.create_task(limiter.slot().__aenter__())
    await asyncio.sleep(0)  # queued behind the held slot
    waiter.cancel()
    await held.__aexit__(None, None, None)  # same loop turn: the slot frees before the waiter runs
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert limiter.in_flight == 0
    async with limiter.slot():  # still usable
        assert limiter.in_flight == 1


def test_throttle_halves_once_per_burst_and_successes_climb_back():
    limiter = AimdLimiter(8)
    epoch = 0
    limiter.throttled(epoch)
    limiter.throttled(epoch)  # same burst: counted once
    assert limiter.limit == 4
    limiter.throttled(epoch + 1)
    assert limiter.limit == 2
    for _ in range(3):
        limiter.throttled(limiter._epoch)
    assert limiter.limit == 1  # never below the minimum
    steps = []
    while limiter.limit < 8:
        limiter.succeeded()
        steps.append(limiter.limit)
    assert steps == sorted(steps)  # additive: one step at a time, no jump
    assert len(steps) > 8  # slowly: far less than one more slot per success
    limiter.succeeded()
    assert limiter.limit == 8  # capped at the ceiling


async def test_widening_the_window_wakes_waiters():
    limiter = AimdLimiter(4)
    limiter.throttled(0)
    limiter.throttled(1)
    assert limiter.limit == 1
    async with limiter.slot():
        waiter = asyncio.create_task(limiter.slot().__aenter__())
        await asyncio.sleep(0)
        assert not waiter.done()
        while limiter.limit < 2:
            limiter.succeeded()  # window 1 -> 2: one more slot
        await asyncio.sleep(0)
        assert waiter.done()


def test_lower_ceiling_caps_the_window():
    limiter = AimdLimiter(10)
    limiter.lower_ceiling(3)
    assert (limiter.limit, limiter.ceiling) == (3, 3)


@pytest.mark.parametrize("ceiling", [0, -1, 1.5, True, "4"])
def test_bad_limit_is_a_configuration_error(ceiling):
    with pytest.raises(ConfigurationError, match="in-flight request limit"):
        AimdLimiter(ceiling)


def test_the_increase_is_slow_after_a_refusal_and_speeds_up_without_one():
    """A refusal means the account is shared: probe for a slot rarely; then faster the longer
    nothing is refused, so a limiter alone on the account gets its ceiling back."""
    limiter = AimdLimiter(4)
    limiter.throttled(0)  # window 2
    successes_to_three = 0
    while limiter.limit < 3:
        limiter.succeeded()
        successes_to_three += 1
    successes_to_four = 0
    while limiter.limit < 4:
        limiter.succeeded()
        successes_to_four += 1
    assert successes_to_three > 20  # at one slot per window it would be 2
    assert successes_to_four < successes_to_three  # the streak speeds the climb
    assert successes_to_three + successes_to_four < 400  # back at the ceiling within a few hundred


def test_a_limiter_never_refused_stays_at_its_ceiling():
    limiter = AimdLimiter(5)
    for _ in range(1000):
        limiter.succeeded()
    assert limiter.limit == 5


@pytest.mark.parametrize("refusals", [1, 2, 5, 40])
def test_a_refused_poll_waits_within_the_bounds(refusals):
    rng = random.Random(refusals)
    waits = [
        refused_poll_interval(refusals=refusals, min_interval=1.5, max_interval=10.0, rng=rng)
        for _ in range(200)
    ]
    assert all(1.5 <= wait <= min(10.0, 1.5 * 2**refusals) for wait in waits)
    assert len(set(waits)) > 100  # jittered: the refused polls of many triggers spread out


async def test_a_refused_request_keeps_its_place_ahead_of_the_never_refused():
    """A refused first poll that went to the back of a long line would see its job a whole
    round of the line late; its retry goes first instead, and only its next one."""
    limiter, order = AimdLimiter(1), []
    held = limiter.slot()
    await held.__aenter__()
    limiter.throttled(limiter._epoch, "job-9")  # job-9's poll was refused

    async def request(key):
        async with limiter.slot(key):
            order.append(key)
            await asyncio.sleep(0)

    tasks = [asyncio.create_task(request(f"job-{n}")) for n in range(10)]
    await asyncio.sleep(0)  # job-0 .. job-9 all wait for the held slot
    await held.__aexit__(None, None, None)
    await asyncio.gather(*tasks)
    assert order == ["job-9"] + [f"job-{n}" for n in range(9)]
    assert limiter.waiting == 0 and limiter.in_flight == 0
    order.clear()
    held = limiter.slot()
    await held.__aenter__()
    tasks = [asyncio.create_task(request(key)) for key in ("job-1", "job-9")]
    await asyncio.sleep(0)
    await held.__aexit__(None, None, None)
    await asyncio.gather(*tasks)
    assert order == ["job-1", "job-9"]  # ahead once, for the retry of its refusal; then in turn


async def test_a_reserved_slot_is_the_one_the_next_attempt_uses_and_only_once():
    limiter = AimdLimiter(1)
    slot = limiter.slot()

    async def attempts():
        epoch = await slot.reserve()
        assert limiter.in_flight == 1
        assert await slot.reserve() == epoch  # already held: no second slot, no wait
        async with slot as held:  # the attempt uses the reserved slot (a second one would never come)
            assert held == epoch and limiter.in_flight == 1
        assert limiter.in_flight == 0
        slot.release()  # nothing held: nothing given back twice
        assert limiter.in_flight == 0
        async with slot:  # the next attempt waits in line again
            assert limiter.in_flight == 1

    await asyncio.wait_for(attempts(), timeout=10)
    assert limiter.in_flight == 0


async def test_a_reserved_slot_no_attempt_used_goes_to_the_next_in_line():
    limiter, order = AimdLimiter(1), []
    unused = limiter.slot()
    await unused.reserve()

    async def request(n):
        async with limiter.slot():
            order.append(n)

    waiters = [asyncio.create_task(request(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert limiter.waiting == 3
    unused.release()
    await asyncio.wait_for(asyncio.gather(*waiters), timeout=10)
    assert order == [0, 1, 2] and limiter.in_flight == 0 and limiter.waiting == 0


async def test_a_refused_key_reserves_ahead_of_the_line():
    limiter, order = AimdLimiter(1), []
    held = limiter.slot()
    await held.reserve()
    limiter.throttled(limiter._epoch, "job-2")

    async def request(key):
        slot = limiter.slot(key)
        await slot.reserve()
        order.append(key)
        slot.release()

    tasks = [asyncio.create_task(request(f"job-{n}")) for n in range(3)]
    await asyncio.sleep(0)
    held.release()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
    assert order == ["job-2", "job-0", "job-1"]
