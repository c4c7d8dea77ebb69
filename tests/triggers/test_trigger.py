"""AsyncJobStatusTrigger against the emulator: one event per outcome, sharing, limits, cancellation."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from typing import Any, cast

import pytest
from airflow.sdk.serde import deserialize, serialize

from airflow_asyncjob.netsuite.channels import open_channels
from airflow_asyncjob.netsuite.faults import ConfigurationError
from airflow_asyncjob.triggers.async_job_status import AsyncJobStatusTrigger

FAST: dict[str, Any] = {"poke_interval": 0.05, "max_poll_interval": 0.2}


def job(emulator, final_status="finished", processing_seconds=0.3, records=None) -> str:
    spec = {
        "operation": "asyncUpsertList",
        "pending_seconds": 0.0,
        "processing_seconds": processing_seconds,
        "start_on_first_request": True,
        "records": records or [{"externalId": "c1", "internalId": "1", "type": "customer"}],
    }
    if final_status == "finishedWithErrors":
        spec["records"] = [
            {"externalId": "c1", "internalId": "1", "type": "customer"},
            {
                "externalId": "c2",
                "type": "customer",
                "success": False,
                "code": "DUP_ENTITY",
                "message": "dup",
            },
        ]
    if final_status == "failed":
        spec["failure"] = {"code": "UNEXPECTED_ERROR", "message": "An unexpected error occurred."}
    return emulator.create_job(spec)


async def events_of(trigger: AsyncJobStatusTrigger) -> list[dict]:
    """Drive run() to its end, as the triggerer does, and return every payload it yielded."""
    return [event.payload async for event in trigger.run()]


def with_conn(monkeypatch, emulator, **extra) -> None:
    conn = emulator.airflow_connection()
    conn["extra"].update(extra)
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))


@pytest.mark.parametrize("final_status", ["finished", "finishedWithErrors", "failed"])
async def test_one_event_per_terminal_status(emulator, final_status):
    job_id = job(emulator, final_status)
    events = await events_of(AsyncJobStatusTrigger(job_id=job_id, **FAST))
    assert len(events) == 1
    assert events[0]["status"] == final_status
    assert events[0]["job"] == {
        "job_id": job_id,
        "status": final_status,
        "percent_completed": 100.0,
        "est_remaining_duration": 0.0,
    }
    assert emulator.stats()["requests"]["checkAsyncStatus"] >= 2  # it polled through processing


async def test_unknown_job_is_one_error_event_with_the_fault_code(emulator):
    events = await events_of(AsyncJobStatusTrigger(job_id="ASYNCWEBSERVICES_NOPE", **FAST))
    assert len(events) == 1
    assert events[0]["status"] == "error"
    assert events[0]["code"] == "INVALID_JOB_ID"
    assert events[0]["transient"] is False
    assert "ASYNCWEBSERVICES_NOPE" in events[0]["message"]


async def test_incomplete_connection_is_an_error_event_naming_what_is_missing(emulator, monkeypatch):
    conn = emulator.airflow_connection()
    del conn["extra"]["token_secret"]
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
    events = await events_of(AsyncJobStatusTrigger(job_id=job(emulator), **FAST))
    assert [e["status"] for e in events] == ["error"]
    assert "token_secret" in events[0]["message"]


async def test_end_time_gives_a_timeout_event_with_the_last_status(emulator):
    job_id = job(emulator, processing_seconds=600)
    events = await events_of(AsyncJobStatusTrigger(job_id=job_id, end_time=time.time() + 0.3, **FAST))
    assert [e["status"] for e in events] == ["timeout"]
    assert events[0]["job"]["status"] == "processing"


def test_serialize_round_trips_through_airflow_and_holds_no_secret(emulator, monkeypatch):
    secrets = {"consumer_secret": "CONSUMER-SECRET-8f2a", "token_secret": "TOKEN-SECRET-77c1"}
    with_conn(monkeypatch, emulator, **secrets)
    trigger = AsyncJobStatusTrigger(job_id="JOB-1", netsuite_conn_id="ns", end_time=1_900_000_000.5, **FAST)
    classpath, kwargs = trigger.serialize()
    stored = json.dumps(serialize(kwargs))  # what the task runner sends and the triggerer reads
    module, _, name = classpath.rpartition(".")
    restored = cast("dict[str, Any]", deserialize(json.loads(stored)))  # typed as object by Airflow
    rebuilt = getattr(importlib.import_module(module), name)(**restored)
    assert rebuilt.serialize() == (classpath, kwargs)
    for secret in secrets.values():
        assert secret not in stored
    assert set(kwargs) == {
        "job_id",
        "netsuite_conn_id",
        "poke_interval",
        "max_poll_interval",
        "end_time",
        "timeout",
        "retry",
        "first_poll_after",
        "rest_task_progress",
    }


def test_a_deferral_after_a_poke_costs_no_extra_call(emulator):
    from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
    from airflow_asyncjob.waiting import status_trigger

    def calls_to_the_end(after_poke: bool) -> int:
        emulator.reset()
        job_id = job(emulator, processing_seconds=1.5)
        hook = SoapAsyncJobHook()
        seen = hook.check_async_status(job_id)  # the sensor's poke
        trigger = status_trigger(
            job_id=job_id,
            netsuite_conn_id="netsuite_default",
            poke_interval=2.5,
            max_poll_interval=2.5,
            end_time=time.time() + 60,
            timeout=10.0,
            retry=None,
            last=seen if after_poke else None,
        )
        events = asyncio.run(events_of(trigger))
        assert [e["status"] for e in events] == ["finished"]
        return emulator.stats()["requests"]["checkAsyncStatus"]

    # The job ends 1.5 s after the poke: the poke, then one poll a poke_interval (2.5 s) later.
    assert calls_to_the_end(after_poke=True) == 2
    assert calls_to_the_end(after_poke=False) == 3  # the trigger polls again at once, then once more


@pytest.mark.parametrize("first_poll_after", [-1.0, float("nan"), True])
def test_first_poll_after_must_be_seconds_from_now(first_poll_after):
    with pytest.raises(ConfigurationError, match="first_poll_after"):
        AsyncJobStatusTrigger(job_id="JOB-1", first_poll_after=first_poll_after, **FAST)


async def test_triggers_of_one_account_share_one_pool_closed_by_the_last_to_go(emulator):
    first, second = (
        AsyncJobStatusTrigger(job_id=job(emulator, processing_seconds=600), **FAST) for _ in "ab"
    )
    tasks = [asyncio.create_task(events_of(t)) for t in (first, second)]
    while emulator.stats()["requests"].get("checkAsyncStatus", 0) < 4:
        await asyncio.sleep(0.02)
    (channel,) = open_channels().values()
    assert channel.leases == 2

    tasks[0].cancel()
    await asyncio.gather(tasks[0], return_exceptions=True)
    assert channel.leases == 1 and not channel.http.is_closed

    tasks[1].cancel()
    await asyncio.gather(tasks[1], return_exceptions=True)
    assert channel.http.is_closed
    assert open_channels() == {}


async def test_in_flight_requests_never_exceed_the_limit(emulator, monkeypatch):
    with_conn(monkeypatch, emulator, max_in_flight=3)
    emulator.latency = 0.01  # answers overlap, as NetSuite's do
    job_ids = [job(emulator, processing_seconds=0.5) for _ in range(200)]
    events = await asyncio.gather(*(events_of(AsyncJobStatusTrigger(job_id=j, **FAST)) for j in job_ids))
    assert [e[0]["status"] for e in events] == ["finished"] * 200
    stats = emulator.stats()
    assert stats["max_in_flight"] == 3  # reached, never exceeded (the emulator's own count)
    assert stats["requests"]["checkAsyncStatus"] >= 400


async def test_concurrency_faults_step_the_limit_down_and_back_up_and_fail_nothing(emulator, monkeypatch):
    with_conn(monkeypatch, emulator, max_in_flight=4)
    emulator.latency = 0.005
    # Enough polls after the faults for the slow, then quickening, additive increase to climb
    # back (about 120 answers from a window of 1 to 4, see limiter.PROBE_INCREASE).
    job_ids = [job(emulator, processing_seconds=2.0) for _ in range(40)]
    emulator.inject("soap_fault", code="WS_REQUEST_BLOCKED", operation="checkAsyncStatus", times=12)
    limits: list[int] = []

    async def watch():
        while True:
            limits.extend(c.limiter.limit for c in open_channels().values())
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    events = await asyncio.gather(*(events_of(AsyncJobStatusTrigger(job_id=j, **FAST)) for j in job_ids))
    watcher.cancel()
    assert [e[0]["status"] for e in events] == ["finished"] * 40  # no trigger failed on a fault
    assert emulator.stats()["faults"]  # the faults were served
    lowest = min(limits)
    assert lowest < 4  # stepped down ...
    assert max(limits[limits.index(lowest) :]) > lowest  # ... and climbed back (to the ceiling: test_limiter)


async def test_a_refused_polls_retry_is_served_ahead_of_polls_never_refused(emulator, monkeypatch):
    """Several triggerers on one account: a refused poll that went to the back of a long line
    would see its job a whole round of the line late; the clients hand the limiter the job id."""
    from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
    from airflow_asyncjob.netsuite.faults import ConcurrencyLimitError

    with_conn(monkeypatch, emulator, max_in_flight=1)
    refused, other = job(emulator, processing_seconds=60), job(emulator, processing_seconds=60)
    emulator.inject("soap_fault", code="WS_REQUEST_BLOCKED", operation="checkAsyncStatus", times=1)
    order: list[str] = []
    async with SoapAsyncJobHook().get_async_conn() as client:
        with pytest.raises(ConcurrencyLimitError):
            await client.check_async_status(refused, retry_refused=False)

        async def poll(job_id: str) -> None:
            await client.check_async_status(job_id, retry_refused=False)
            order.append(job_id)

        limiter = client.channel.limiter
        async with limiter.slot():  # the account's one slot is busy: both polls wait, in this order
            tasks = [asyncio.create_task(poll(job_id)) for job_id in (other, refused)]
            while limiter.waiting < 2:
                await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)
    assert order == [refused, other]


async def test_a_long_busy_spell_never_ends_the_trigger(emulator):
    """More failed polls in a row than any other transient failure is allowed, all concurrency faults."""
    from airflow_asyncjob.triggers.async_job_status import MAX_FAILED_POLLS

    impatient = {"max_attempts": 2, "max_delay": 0.05, "initial_wait": 0.01, "max_wait": 0.02}
    job_id = job(emulator)
    emulator.inject("soap_fault", code="WS_REQUEST_BLOCKED", operation="checkAsyncStatus", times=40)
    events = await events_of(AsyncJobStatusTrigger(job_id=job_id, retry=impatient, **FAST))
    assert [e["status"] for e in events] == ["finished"]
    # each failed poll gave up after max_delay: many more failed polls than MAX_FAILED_POLLS
    polls = emulator.stats()["requests"]["checkAsyncStatus"]
    assert polls > 40 > MAX_FAILED_POLLS * impatient["max_attempts"]
