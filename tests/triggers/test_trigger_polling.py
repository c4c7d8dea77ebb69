"""The trigger's loop carries what the last answer said into the next wait (adaptive polling,
docs/sensor.md): estimates that keep time make it wait until close to the expected end."""

from __future__ import annotations

import math
import types

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


def wait(monkeypatch, end: float) -> tuple[Clock, Job]:
    clock = Clock()
    monkeypatch.setattr(trigger_module, "asyncio", clock)
    job = Job(clock, end)
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
    clock, job = wait(monkeypatch, end=2000.0)
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
    ("pending", "stretches"),
    [
        # a slow first half, then five times as fast: a quarter of the slow half's pace overshoots
        (15.0, [(1000.0, 50.0), (100.0, 50.0)]),
        # even pace after a short queue: a few hundredths of a percent over seconds mostly spent
        # queued extrapolate to hours
        (29.0, [(60.0, 100.0)]),
        # even pace after ten minutes in the queue: the backed-off wait must not carry over
        (600.0, [(360.0, 100.0)]),
    ],
    ids=["speeds-up", "short-queue", "long-queue"],
)
def test_with_percent_alone_a_job_is_seen_soon_after_its_end(monkeypatch, pending, stretches):
    clock = Clock()
    monkeypatch.setattr(trigger_module, "asyncio", clock)
    job = ProgressOnlyJob(clock, pending, stretches)
    trigger = AsyncJobStatusTrigger(job_id="JOB", poke_interval=10.0, max_poll_interval=3600.0)
    coroutine = trigger.wait(job)  # type: ignore[arg-type]
    try:
        coroutine.send(None)
    except StopIteration as done:
        assert done.value.status == "finished"
    else:  # pragma: no cover - the loop awaited something real
        raise AssertionError("the trigger's wait suspended")
    # Seen soon after the end (a quarter of the slow half's pace: 79 s late; the pace from the
    # pending answer: 88 s; the wait backed off in the queue: 310 s), with no more calls than
    # polling every poke_interval from the start would take.
    assert clock.now - job.end <= 2 * 10.0
    assert job.calls <= math.ceil(job.end / 10.0) + 1
