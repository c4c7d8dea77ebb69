"""JobEvent: the one event the trigger yields and the sensor reads, as plain JSON values."""

from __future__ import annotations

import json

import pytest

from airflow_asyncjob.netsuite.faults import PermissionDeniedError, make_fault
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncStatus
from airflow_asyncjob.triggers.async_job_status import ERROR, TIMEOUT, JobEvent

FINISHED = AsyncJobStatus("J1", AsyncStatus.FINISHED, 100.0, 0.0)
PROCESSING = AsyncJobStatus("J1", AsyncStatus.PROCESSING, 40.0, 12.0)
DENIED = make_fault(
    fault_type="InsufficientPermissionFault",
    code="INSUFFICIENT_PERMISSION",
    netsuite_message="Permission Violation",
    operation="checkAsyncStatus",
    job_id="J1",
)


def through_json(event: JobEvent) -> JobEvent:
    return JobEvent.from_payload(json.loads(json.dumps(event.to_payload())))


def test_a_terminal_event_carries_the_final_status():
    event = JobEvent.ended(FINISHED)
    assert event.to_payload() == {"status": "finished", "job_id": "J1", "job": FINISHED.to_dict()}
    assert through_json(event) == event


@pytest.mark.parametrize("last", [PROCESSING, None])
def test_a_timeout_event_carries_its_message_and_the_last_status(last):
    event = JobEvent.timed_out("J1", "had not ended", last)
    rebuilt = through_json(event)
    assert (rebuilt.status, rebuilt.message, rebuilt.job) == (TIMEOUT, "had not ended", last)


def test_an_error_event_round_trips_the_errors_class_code_hint_and_transient_flag():
    payload = JobEvent.failed("J1", DENIED).to_payload()
    assert {key: payload[key] for key in ("status", "job_id", "error_type", "code", "transient")} == {
        "status": ERROR,
        "job_id": "J1",
        "error_type": "PermissionDeniedError",
        "code": "INSUFFICIENT_PERMISSION",
        "transient": False,
    }
    rebuilt = JobEvent.from_payload(json.loads(json.dumps(payload))).error
    assert isinstance(rebuilt, PermissionDeniedError)
    assert (str(rebuilt), rebuilt.code, rebuilt.hint) == (str(DENIED), DENIED.code, DENIED.hint)


def test_an_earlier_versions_error_event_is_still_read():
    event = JobEvent.from_payload(
        {"status": "error", "job_id": "J1", "error_type": "X", "message": "HTTP 503", "transient": True}
    )
    assert event.error is not None and str(event.error) == "HTTP 503" and event.error.transient


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (None, "not a mapping"),
        ({"status": "done", "job_id": "J1"}, "unrecognised event status 'done'"),
        ({"status": "finished", "job_id": "J1"}, "'finished' event that is malformed"),
        ({"status": "finished", "job_id": "J1", "job": {**FINISHED.to_dict(), "status": "x"}}, "malformed"),
        ({"status": "timeout", "job_id": "J1"}, "'timeout' event that is malformed"),
        ({"status": "error", "job_id": "J1", "error": {"message": 1}}, "'error' event that is malformed"),
    ],
)
def test_what_is_not_an_event_of_this_trigger_is_refused(payload, reason):
    with pytest.raises(ValueError, match=reason):
        JobEvent.from_payload(payload)
