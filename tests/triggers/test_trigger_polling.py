"""The trigger's loop carries what the last answer said into the next wait (adaptive polling,
docs/sensor.md): estimates that keep time make it wait until close to the expected end."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import TypeVar

import pytest

from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncStatus
from airflow_asyncjob.triggers import async_job_status as trigger_module
from airflow_asyncjob.triggers.async_job_status import AsyncJobStatusTrigger


class Clock:
    """Stands in for the trigger module's ``asyncio``: sleeping moves a virtual clock on."""

    def __init__(self) -> None:
        self.now, self.waits = 0.0, list[float]()
        loop = types.SimpleNamespace(time=lambda: self.now)
        self.get_running_loop = lambda: loop

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


J = TypeVar("J")


class Job:
    """A job that ends at ``end`` s on the clock; NetSuite's estimate is exact; percent fixed."""

    def __init__(self, clock: Clock, end: float) -> None:
        self.clock, self.end, self.calls = clock, end, 0

    async def check_async_status(self, job_id: str, **options: object) -> AsyncJobStatus:
        self.calls += 1
        left = self.end - self.clock.now
        if left <= 0:
            return AsyncJobStatus(job_id, AsyncStatus.FINISHED, 100.0, 0.0)
        return AsyncJobStatus(job_id, AsyncStatus.PROCESSING, 50.0, left)


def wait(monkeypatch, make_job: Callable[[Clock], J]) -> tuple[Clock, J]:
    """Run the trigger's loop (poke 10 s, max 3600 s) on the virtual clock against
    ``make_job(clock)`` until the job is seen finished."""
    clock = Clock()
    monkeypatch.setattr(trigger_module, "asyncio", clock)
    job = make_job(clock)
    trigger = AsyncJobStatusTrigger(job_id="JOB", poke_interval=10.0, max_poll_interval=3600.0)
    coroutine = trigger.wait(job)  # type: ignore[arg-type]
    try:
        coroutine.send(None)  # never suspends: every await is the clock's or the job's
    except StopIteration as done:
        assert done.value.status == "finished"
    else:  # pragma: no cover - the loop awaited something real
        raise AssertionError("the trigger's wait suspended")
    return clock, job


def test_estimates_that_keep_time_bring_the_poll_to_the_expected_end(monkeypatch):
    clock, job = wait(monkeypatch, lambda clock: Job(clock, end=2000.0))
    # First answer: 2000 s left, a quarter of it (one estimate says nothing about its accuracy);
    # second: 1500 s left, as predicted, so the wait goes most of the way to the end.
    assert clock.waits[0] == 500.0
    assert clock.waits[1] > 1500.0 / 4
    # The job is seen within poke_interval of its end, with fewer calls than a quarter of the
    # seconds left at a time would take (waits of 500, 375, 281, ... s, then 10 s: 19 calls).
    assert clock.now - 2000.0 <= 10.0
    assert job.calls < 10


class ProgressOnlyJob:
    """A job with no estimate from NetSuite (estRemainingDuration 0.0, as in its documented
    answers): pending for ``pending`` s, then through ``stretches`` of (seconds, percent gained)
    at an even pace within each."""

    def __init__(self, clock: Clock, pending: float, stretches: list[tuple[float, float]]) -> None:
        self.clock, self.pending, self.stretches, self.calls = clock, pending, stretches, 0
        self.end = pending + sum(seconds for seconds, _gained in stretches)

    async def check_async_status(self, job_id: str, **options: object) -> AsyncJobStatus:
        self.calls += 1
        t = self.clock.now
        if t < self.pending:
            return AsyncJobStatus(job_id, AsyncStatus.PENDING, 0.0, 0.0)
        if t >= self.end:
            return AsyncJobStatus(job_id, AsyncStatus.FINISHED, 100.0, 0.0)
        into, percent = t - self.pending, 0.0
        for seconds, gained in self.stretches:
            if into < seconds:
                percent += gained * into / seconds
                break
            into, percent = into - seconds, percent + gained
        return AsyncJobStatus(job_id, AsyncStatus.PROCESSING, round(percent, 2), 0.0)


@pytest.mark.parametrize(
    ("pending", "stretches", "late", "calls"),
    [
        # A slow first half, then five times as fast: seen 13.6 s late in 10 calls; a quarter of
        # the slow half's pace overshot the end by 79 s.
        (15.0, [(1000.0, 50.0), (100.0, 50.0)], 20.0, 12),
        # Even pace after a short queue: 1 s late in 9 calls; a few hundredths of a percent over
        # seconds mostly spent queued extrapolated to hours (88 s late).
        (29.0, [(60.0, 100.0)], 10.0, 10),
        # Even pace after ten minutes in the queue: 6 s late in 27 calls; the wait backed off in
        # the queue, carried over, saw it 310 s late.
        (600.0, [(360.0, 100.0)], 10.0, 30),
    ],
    ids=["speeds-up", "short-queue", "long-queue"],
)
def test_with_percent_alone_a_job_is_seen_soon_after_its_end(monkeypatch, pending, stretches, late, calls):
    clock, job = wait(monkeypatch, lambda clock: ProgressOnlyJob(clock, pending, stretches))
    assert clock.now - job.end <= late
    assert job.calls <= calls  # polling every poke_interval (10 s) would take 10, 97 or 113
