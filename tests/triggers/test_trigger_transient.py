"""AsyncJobStatusTrigger through transient failures that outlive the client's retries."""

from __future__ import annotations

import time

import pytest

from airflow_asyncjob.netsuite import retry as retry_module
from airflow_asyncjob.triggers.async_job_status import MAX_FAILED_POLLS, AsyncJobStatusTrigger

from .test_trigger import FAST, events_of, job


@pytest.fixture
def two_quick_attempts(monkeypatch):
    """The trigger's client gives up after two attempts 10 ms apart (default: 5 over seconds)."""
    quick = retry_module.RetryPolicy(max_attempts=2, max_delay=5.0, initial_wait=0.01, max_wait=0.01)
    monkeypatch.setattr(retry_module, "RetryPolicy", lambda: quick)


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "http_error", "status": 503},
        {"kind": "soap_fault", "code": "UNEXPECTED_ERROR"},
        {"kind": "soap_fault", "code": "ACCT_TEMP_UNAVAILABLE"},
        {"kind": "drop"},
    ],
)
async def test_a_transient_failure_outliving_the_retries_does_not_end_the_wait(
    emulator, two_quick_attempts, fault
):
    job_id = job(emulator, "finishedWithErrors", processing_seconds=0.2)
    # Five failed attempts in a row: the first two polls fail outright (MAX_FAILED_POLLS is 3),
    # the third gets through.
    emulator.inject(**fault, operation="checkAsyncStatus", times=5)
    events = await events_of(AsyncJobStatusTrigger(job_id=job_id, **FAST))
    assert [e["status"] for e in events] == ["finishedWithErrors"]
    assert emulator.stats()["injections_applied"] == {fault["kind"]: 5}


async def test_an_outage_ends_the_wait_after_three_failed_polls(emulator, two_quick_attempts):
    job_id = job(emulator, processing_seconds=0.2)
    emulator.inject("http_error", status=503, operation="checkAsyncStatus", times=None)
    events = await events_of(AsyncJobStatusTrigger(job_id=job_id, **FAST))
    assert [(e["status"], e["transient"]) for e in events] == [("error", True)]
    assert "HTTP 503" in events[0]["message"]
    # Three polls of two attempts each, with backoff between the polls: no storm.
    assert emulator.stats()["requests"]["checkAsyncStatus"] == MAX_FAILED_POLLS * 2


async def test_an_outage_until_the_end_time_gives_a_timeout_naming_the_last_failure(
    emulator, two_quick_attempts
):
    job_id = job(emulator, processing_seconds=0.2)
    emulator.inject("http_error", status=503, operation="checkAsyncStatus", times=None)
    started = time.monotonic()
    events = await events_of(AsyncJobStatusTrigger(job_id=job_id, end_time=time.time() + 0.02, **FAST))
    assert time.monotonic() - started < 5
    assert [e["status"] for e in events] == ["timeout"]
    assert events[0]["job"] is None
    assert "The last poll failed" in events[0]["message"] and "HTTP 503" in events[0]["message"]


async def test_a_permanent_error_still_ends_the_wait_at_once(emulator, two_quick_attempts):
    job_id = job(emulator, processing_seconds=5)
    emulator.inject(
        "soap_fault",
        code="INSUFFICIENT_PERMISSION",
        fault_type="InsufficientPermissionFault",
        message="Permission Violation",
        operation="checkAsyncStatus",
        after=1,
    )
    events = await events_of(AsyncJobStatusTrigger(job_id=job_id, **FAST))
    assert [(e["status"], e["transient"], e["code"]) for e in events] == [
        ("error", False, "INSUFFICIENT_PERMISSION")
    ]
