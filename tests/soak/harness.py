"""The fault soak's harness: NetSuite async jobs through the deferrable path against the emulator,
with a fraction of the answers replaced by transient faults (issue 5). tests/soak runs it with 100
jobs; ``benchmarks/soak.py`` runs it with 1,000 and prints the report.

What one job goes through, as Airflow would drive it:

1. The emulator holds the job (asyncUpsertList), whose timeline starts at its first poll and
   ends ``finished``, ``finishedWithErrors`` (one record DUP_ENTITY) or ``failed`` (the job's own
   INVALID_KEY_OR_REF detail), some passing through ``retry``: a third each, shuffled.
2. An AsyncJobStatusTrigger is built from what the sensor would serialize, rebuilt from its
   ``serialize()`` output as the triggerer does, and run: every trigger runs at once in one event
   loop, sharing one account channel (connection extra ``max_in_flight``, default 4).
3. Its one event goes to ``AsyncJobStatusSensor.execute_complete`` (policy
   ``on_finished_with_errors="succeed"``) in one worker thread, as a worker would run it; for a
   failed job that reads getAsyncResult page 1 with the sync client. One worker plus four
   in-flight polls stay within the emulator's concurrency limit of 5.

The task's state follows from how execute_complete ends: a return value -> success; an
AirflowFailException -> failed (no retry); AirflowSensorTimeout -> failed (timeout); AirflowSkipException
-> skipped; any other exception (a transient NetSuiteError) -> up_for_retry. The job's final
status dictates the state: finished and finishedWithErrors -> success, failed -> failed with
NetSuite's detail in the message. Anything else is counted as unexpected.

Faults: six random injections (seeded), each replacing ``fault_rate / 6`` of all answers:
WS_REQUEST_BLOCKED, UNEXPECTED_ERROR, an HTML 503 page, a reset (connection closed without an
answer), a slow answer shorter than the client's time-out and one longer than it.
Calling execute_complete directly, not ``dag.test()``: 1,000 DAG runs would take most of an
hour, and the decision under test is execute_complete's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, AirflowSkipException

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.channels import open_channels
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor
from airflow_asyncjob.testing.emulator import Emulator
from airflow_asyncjob.triggers.async_job_status import AsyncJobStatusTrigger

CONN_ID = "netsuite_soak"
FINAL_STATUSES = ("finished", "finishedWithErrors", "failed")
EXPECTED_STATE = {"finished": "success", "finishedWithErrors": "success", "failed": "failed"}
JOB_FAILURE = {"code": "INVALID_KEY_OR_REF", "message": "Invalid customer reference key 42."}
POKE_INTERVAL = 0.2
MAX_POLL_INTERVAL = 2.0
SENSOR_TIMEOUT = 600.0


def fault_injections(fault_rate: float, client_timeout: float) -> list[dict[str, Any]]:
    """The six transient faults, as inject() keywords, each replacing ``fault_rate / 6`` of the
    answers. Injections are tried in order and the first whose draw hits applies, so the i-th
    gets the conditional probability share / (1 - i * share)."""
    kinds: list[dict[str, Any]] = [
        {"kind": "soap_fault", "code": "WS_REQUEST_BLOCKED"},
        {"kind": "soap_fault", "code": "UNEXPECTED_ERROR"},
        {"kind": "http_error", "status": 503},
        {"kind": "drop"},
        {"kind": "delay", "seconds": round(client_timeout * 0.5, 3)},  # slow, within the time-out
        {"kind": "delay", "seconds": round(client_timeout * 2.0, 3)},  # slower than the time-out
    ]
    share = fault_rate / len(kinds)
    return [
        {**kind, "probability": min(1.0, share / (1 - i * share)), "times": None}
        for i, kind in enumerate(kinds)
    ]


def job_spec(final_status: str, rng: random.Random) -> dict[str, Any]:
    """A job ending in ``final_status`` after 0.5-4.5 s from its first poll."""
    records: list[dict[str, Any]] = [{"externalId": "soak-1", "internalId": "1", "type": "customer"}]
    spec: dict[str, Any] = {
        "operation": "asyncUpsertList",
        "pending_seconds": round(rng.uniform(0.0, 1.0), 2),
        "retry_seconds": 0.3 if rng.random() < 0.2 else 0.0,
        "processing_seconds": round(rng.uniform(0.5, 3.0), 2),
        "start_on_first_request": True,
        "status": final_status,
        "records": records,
    }
    if final_status == "finishedWithErrors":
        records.append(
            {
                "externalId": "soak-2",
                "type": "customer",
                "success": False,
                "code": "DUP_ENTITY",
                "message": "This entity already exists.",
            }
        )
    if final_status == "failed":
        spec["failure"] = dict(JOB_FAILURE)
    return spec


@dataclass
class TaskOutcome:
    """How one job's sensor task ended."""

    job_id: str
    final_status: str
    state: str
    detail: str = ""
    event_status: str | None = None

    @property
    def expected(self) -> bool:
        if self.state != EXPECTED_STATE[self.final_status]:
            return False
        if self.final_status == "failed":
            # NetSuite's own detail came through getAsyncResult despite the faults.
            return JOB_FAILURE["code"] in self.detail
        return self.detail == self.final_status  # the XCom value's status


@dataclass
class SoakReport:
    jobs: int
    fault_rate: float
    seed: int
    seconds: float
    outcomes: list[TaskOutcome]
    emulator: dict[str, Any]
    retries: int
    limiter_decreases: int
    lowest_limit: int | None
    unfinished: list[str] = field(default_factory=list)

    @property
    def unexpected(self) -> list[TaskOutcome]:
        return [o for o in self.outcomes if not o.expected]

    def counts(self) -> Counter[tuple[str, str]]:
        return Counter((o.final_status, o.state) for o in self.outcomes)

    def lines(self) -> list[str]:
        stats = self.emulator
        requests = sum(stats["requests"].values())
        lines = [
            f"fault soak: {self.jobs} jobs, {self.fault_rate:.0%} of answers faulted (seed {self.seed}), "
            f"{self.seconds:.1f} s",
            "outcomes (job status -> task state):",
            *(
                f"  {status:<19} -> {state:<12} {count}"
                for (status, state), count in sorted(self.counts().items())
            ),
            f"  as the job status dictates: {len(self.outcomes) - len(self.unexpected)}/{self.jobs}; "
            f"unexpected: {len(self.unexpected)}; never ended: {len(self.unfinished)}",
            f"emulator: {requests} requests ({requests / max(1, self.jobs):.1f} per job) "
            f"{dict(sorted(stats['requests'].items()))}",
            f"  injected: {dict(sorted(stats['injections_applied'].items()))} "
            f"({sum(stats['injections_applied'].values()) / max(1, requests):.1%} of requests)",
            f"  faults answered: {dict(sorted(stats['faults'].items()))}",
            f"  max in flight {stats['max_in_flight']} of {stats['concurrency_limit']}; refused over the "
            f"limit itself: {stats['refused_over_limit']}",
            f"client: {self.retries} retried attempts; limiter stepped down {self.limiter_decreases} times, "
            f"lowest limit {self.lowest_limit}",
        ]
        lines += [f"  UNEXPECTED {o}" for o in self.unexpected[:20]]
        return lines


class _RetryCounter(logging.Handler):
    """Counts the client's "attempt N failed, retrying" warnings (tenacity's before_sleep)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "retrying in" in record.getMessage():
            self.count += 1


def _decide(job_id: str, final_status: str, event: dict[str, Any], client_timeout: float) -> TaskOutcome:
    """The worker's half: execute_complete on the trigger's event -> the task's state."""
    sensor = AsyncJobStatusSensor(
        task_id=f"wait_{job_id[-8:]}",
        job_id=job_id,
        netsuite_conn_id=CONN_ID,
        deferrable=True,
        on_finished_with_errors="succeed",
        poke_interval=POKE_INTERVAL,
        max_poll_interval=MAX_POLL_INTERVAL,
        timeout=SENSOR_TIMEOUT,
    )
    # The sync client (getAsyncResult of a failed job) gets the same short time-out as the trigger.
    sensor.hook = SoapAsyncJobHook(netsuite_conn_id=CONN_ID, timeout=client_timeout)

    def outcome(state: str, detail: str) -> TaskOutcome:
        return TaskOutcome(job_id, final_status, state, detail, event.get("status"))

    try:
        value = sensor.execute_complete(context={}, event=event)
    except AirflowSensorTimeout as error:
        return outcome("failed (timeout)", str(error))
    except AirflowFailException as error:
        return outcome("failed", str(error))
    except AirflowSkipException as error:
        return outcome("skipped", str(error))
    except Exception as error:  # a transient NetSuiteError: the task's retries would apply
        return outcome("up_for_retry", f"{type(error).__name__}: {error}")
    return outcome("success", str((value or {}).get("status")))


async def run_soak(
    emulator: Emulator,
    *,
    jobs: int = 100,
    fault_rate: float = 0.1,
    seed: int = 1,
    client_timeout: float = 1.0,
    deadline: float = 900.0,
) -> SoakReport:
    """Reset ``emulator``, queue the faults, create ``jobs`` jobs, run each through a trigger and
    the sensor's execute_complete; return what happened. ``deadline`` (seconds) bounds the whole
    run: jobs still waiting then are reported as never ended, not waited for."""
    rng = random.Random(seed)
    emulator.reset()
    statuses = [FINAL_STATUSES[i % len(FINAL_STATUSES)] for i in range(jobs)]
    rng.shuffle(statuses)
    job_ids = [emulator.create_job(job_spec(status, rng)) for status in statuses]
    for i, injection in enumerate(fault_injections(fault_rate, client_timeout)):
        emulator.inject(**injection, seed=seed * 100 + i)

    previous_conn = os.environ.get(f"AIRFLOW_CONN_{CONN_ID.upper()}")
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = emulator.airflow_connection_json()
    retries = _RetryCounter()
    client_log = logging.getLogger("airflow_asyncjob.netsuite.retry")
    client_log.addHandler(retries)
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="soak-worker")
    loop = asyncio.get_running_loop()
    outcomes: dict[str, TaskOutcome] = {}
    limiter: dict[str, Any] = {"decreases": 0, "lowest": None}

    async def one(job_id: str, final_status: str) -> None:
        # What the sensor defers with, rebuilt from its serialized form as the triggerer does.
        path, kwargs = AsyncJobStatusTrigger(
            job_id=job_id,
            netsuite_conn_id=CONN_ID,
            poke_interval=POKE_INTERVAL,
            max_poll_interval=MAX_POLL_INTERVAL,
            end_time=time.time() + SENSOR_TIMEOUT,
            timeout=client_timeout,
        ).serialize()
        assert path.endswith(".AsyncJobStatusTrigger")
        events = [event.payload async for event in AsyncJobStatusTrigger(**kwargs).run()]
        if len(events) != 1:
            outcomes[job_id] = TaskOutcome(job_id, final_status, f"{len(events)} events")
            return
        outcomes[job_id] = await loop.run_in_executor(
            worker, _decide, job_id, final_status, events[0], client_timeout
        )

    async def watch_limiter() -> None:
        while True:
            for channel in open_channels().values():
                limiter["decreases"] = max(limiter["decreases"], channel.limiter.decreases)
                lowest = limiter["lowest"]
                limit = channel.limiter.limit
                limiter["lowest"] = limit if lowest is None else min(lowest, limit)
            await asyncio.sleep(0.05)

    started = time.monotonic()
    watcher = asyncio.create_task(watch_limiter())
    tasks = [
        asyncio.create_task(one(job_id, status)) for job_id, status in zip(job_ids, statuses, strict=True)
    ]
    try:
        await asyncio.wait(tasks, timeout=deadline)
    finally:
        for task in (*tasks, watcher):
            task.cancel()
        await asyncio.gather(*tasks, watcher, return_exceptions=True)
        seconds = time.monotonic() - started
        worker.shutdown(wait=True)
        client_log.removeHandler(retries)
        if previous_conn is None:
            os.environ.pop(f"AIRFLOW_CONN_{CONN_ID.upper()}", None)
        else:
            os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = previous_conn
    stats = emulator.stats()
    emulator.reset()  # the random injections have no limit: leave no fault behind
    return SoakReport(
        jobs=jobs,
        fault_rate=fault_rate,
        seed=seed,
        seconds=seconds,
        outcomes=[outcomes[j] for j in job_ids if j in outcomes],
        emulator=stats,
        retries=retries.count,
        limiter_decreases=limiter["decreases"],
        lowest_limit=limiter["lowest"],
        unfinished=[j for j in job_ids if j not in outcomes],
    )
