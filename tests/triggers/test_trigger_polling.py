"""The trigger's loop carries what the last answer said into the next wait (adaptive polling,
docs/sensor.md): estimates that keep time make it wait until close to the expected end."""

from __future__ import annotations

import types

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
    answers): pending for 15 s, then 0 to 50 percent in 1,000 s and the rest in 200 s."""

    def __init__(self, clock: Clock) -> None:
        self.clock, self.end, self.calls = clock, 1215.0, 0

    async def check_async_status(self, job_id: str, **options: object) -> AsyncJobStatus:
        self.calls += 1
        t = self.clock.now
        if t < 15.0:
            return AsyncJobStatus(job_id, AsyncStatus.PENDING, 0.0, 0.0)
        if t >= self.end:
            return AsyncJobStatus(job_id, AsyncStatus.FINISHED, 100.0, 0.0)
        percent = (t - 15.0) / 20.0 if t < 1015.0 else 50.0 + (t - 1015.0) / 4.0
        return AsyncJobStatus(job_id, AsyncStatus.PROCESSING, round(percent, 2), 0.0)


def test_with_percent_alone_a_job_that_speeds_up_is_still_seen_soon_after_its_end(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(trigger_module, "asyncio", clock)
    job = ProgressOnlyJob(clock)
    trigger = AsyncJobStatusTrigger(job_id="JOB", poke_interval=10.0, max_poll_interval=3600.0)
    coroutine = trigger.wait(job)  # type: ignore[arg-type]
    try:
        coroutine.send(None)
    except StopIteration as done:
        assert done.value.status == "finished"
    else:  # pragma: no cover - the loop awaited something real
        raise AssertionError("the trigger's wait suspended")
    # Neither the first progress after the pending answers (a few hundredths of a percent over
    # seconds mostly spent queued) nor the slow first half sends a poll far past the end: the
    # job is seen within poke_interval, with a quarter of the calls fixed 10 s polling takes (122).
    assert clock.now - job.end <= 10.0
    assert job.calls < 30
