"""The Airflow-side error rule: a permanent NetSuite error fails the task, a transient one the try."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_asyncjob.errors import netsuite_error_rule, task_exception
from airflow_asyncjob.netsuite.faults import (
    ConfigurationError,
    NetSuiteTransportError,
    SubmitOutcomeUnknownError,
    make_fault,
)

UNKNOWN_JOB = make_fault(fault_type="AsyncFault", code="INVALID_JOB_ID", netsuite_message="no such job")
OUTAGE = NetSuiteTransportError("HTTP 503", http_status=503, transient=True)


@pytest.mark.parametrize(
    "error",
    [
        UNKNOWN_JOB,
        ConfigurationError("bad account id"),
        SubmitOutcomeUnknownError("asyncAddList", OUTAGE),
        NetSuiteTransportError("HTTP 404", http_status=404, transient=False),
    ],
    ids=["fault", "configuration", "submit outcome unknown", "HTTP 404"],
)
def test_a_permanent_error_fails_the_task_without_retry(error):
    with pytest.raises(AirflowFailException) as caught, netsuite_error_rule():
        raise error
    assert str(caught.value) == str(error)
    assert caught.value.__cause__ is error


def test_a_permanent_error_says_where_it_happened():
    with (
        pytest.raises(AirflowFailException, match=r"^page 2 of job J: .*INVALID_JOB_ID"),
        netsuite_error_rule("page 2 of job J"),
    ):
        raise UNKNOWN_JOB


def test_a_transient_error_is_raised_as_it_is_so_the_tasks_retries_apply():
    with pytest.raises(NetSuiteTransportError) as caught, netsuite_error_rule("page 2 of job J"):
        raise OUTAGE
    assert caught.value is OUTAGE
    assert task_exception(OUTAGE) is OUTAGE


def test_other_exceptions_pass_through():
    with pytest.raises(KeyError), netsuite_error_rule():
        raise KeyError("x")
