"""Parsing checkAsyncStatus answers into AsyncJobStatus (schema type AsyncStatusResult)."""

from __future__ import annotations

import math

import pytest

from airflow_asyncjob.netsuite.faults import NetSuiteResponseError
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncStatus, parse_async_status


def answer(**overrides):
    result = {
        "jobId": "JOB-1",
        "status": "processing",
        "percentCompleted": 42.5,
        "estRemainingDuration": 12.0,
    }
    result.update(overrides)
    return {"asyncStatusResult": result}


@pytest.mark.parametrize("value", [s.value for s in AsyncStatus])
def test_each_schema_status_parses(value):
    assert parse_async_status(answer(status=value), requested_job_id="JOB-1").status.value == value


@pytest.mark.parametrize(
    ("value", "terminal"),
    [
        ("pending", False),
        ("processing", False),
        ("retry", False),
        ("finished", True),
        ("finishedWithErrors", True),
        ("failed", True),
    ],
)
def test_terminal_statuses(value, terminal):
    assert AsyncStatus(value).is_terminal is terminal


def test_unknown_status_is_a_typed_error_naming_it():
    with pytest.raises(NetSuiteResponseError, match="'cancelled'.*none of pending") as caught:
        parse_async_status(answer(status="cancelled"), requested_job_id="JOB-1")
    assert caught.value.job_id == "JOB-1"


@pytest.mark.parametrize("name", ["status", "percentCompleted", "estRemainingDuration"])
def test_missing_required_element_is_named(name):
    with pytest.raises(NetSuiteResponseError, match=name):
        parse_async_status(answer(**{name: None}), requested_job_id="JOB-1")


def test_nan_percent_is_refused():
    with pytest.raises(NetSuiteResponseError, match="percentCompleted is NaN"):
        parse_async_status(answer(percentCompleted=float("nan")), requested_job_id="JOB-1")


def test_status_round_trips_through_its_xcom_shape():
    status = parse_async_status(answer(), requested_job_id="JOB-1")
    assert status.to_dict() == {
        "job_id": "JOB-1",
        "status": "processing",
        "percent_completed": 42.5,
        "est_remaining_duration": 12.0,
    }
    assert AsyncJobStatus.from_dict(status.to_dict()) == status


def test_describe_gives_the_poke_log_line():
    status = parse_async_status(answer(), requested_job_id="JOB-1")
    assert status.describe() == "job processing, 42.5% completed, about 12 s remaining (JOB-1)"


@pytest.mark.parametrize(
    ("status", "seconds", "said"),
    [
        (AsyncStatus.PENDING, 0.0, "remaining time unknown"),  # NetSuite's documented pending answer
        (AsyncStatus.PROCESSING, 0.0, "remaining time unknown"),
        (AsyncStatus.PROCESSING, 0.4, "about 0 s remaining"),
        (AsyncStatus.PROCESSING, math.inf, "remaining time unknown"),
        (AsyncStatus.FINISHED, 0.0, "about 0 s remaining"),
    ],
)
def test_describe_says_no_estimate_rather_than_zero_seconds_for_a_running_job(status, seconds, said):
    line = AsyncJobStatus("JOB-1", status, 0.0, seconds).describe()
    assert line == f"job {status.value}, 0.0% completed, {said} (JOB-1)"
