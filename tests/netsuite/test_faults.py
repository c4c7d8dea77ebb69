"""Typed errors survive a trip through plain JSON (a trigger event) with their class, code and hint."""

from __future__ import annotations

import json

import pytest

from airflow_asyncjob.netsuite.faults import (
    EXCERPT_LENGTH,
    ConcurrencyLimitError,
    ConfigurationError,
    NetSuiteError,
    NetSuiteResponseError,
    NetSuiteTransportError,
    SubmitOutcomeUnknownError,
    excerpt,
    make_fault,
)
from airflow_asyncjob.netsuite.records import RecordCountError

ERRORS = {
    "invalid job id": make_fault(
        fault_type="AsyncFault",
        code="INVALID_JOB_ID",
        netsuite_message="Invalid job id",
        http_status=500,
        operation="checkAsyncStatus",
        job_id="ASYNCWEBSERVICES_1",
    ),
    "concurrency": make_fault(
        fault_type="ExceededConcurrentRequestLimitFault",
        code="WS_REQUEST_BLOCKED",
        netsuite_message="busy",
        operation="checkAsyncStatus",
    ),
    "refused login": make_fault(
        fault_type="InvalidCredentialsFault", code="INVALID_LOGIN_ATTEMPT", netsuite_message="no"
    ),
    "unexpected": make_fault(
        fault_type="UnexpectedErrorFault", code="UNEXPECTED_ERROR", netsuite_message="x"
    ),
    "HTTP 503": NetSuiteTransportError(
        "HTTP 503 from NetSuite", http_status=503, transient=True, operation="checkAsyncStatus"
    ),
    "HTTP 404": NetSuiteTransportError("HTTP 404", http_status=404, transient=False, hint="Check the URL."),
    "configuration": ConfigurationError("connection 'ns' lacks token_secret in its extra."),
    "bad answer": NetSuiteResponseError("status 'done' is not an AsyncStatusType", job_id="J1"),
    "submit outcome unknown": SubmitOutcomeUnknownError(
        "asyncAddList", NetSuiteTransportError("read timed out", transient=True)
    ),
}


@pytest.mark.parametrize("error", ERRORS.values(), ids=ERRORS.keys())
def test_an_error_comes_back_from_json_as_it_was(error):
    rebuilt = NetSuiteError.from_payload(json.loads(json.dumps(error.to_payload())))
    assert type(rebuilt) is type(error)
    assert str(rebuilt) == str(error)
    assert (rebuilt.code, rebuilt.hint, rebuilt.transient) == (error.code, error.hint, error.transient)
    assert (rebuilt.operation, rebuilt.job_id) == (error.operation, error.job_id)


def test_the_payload_says_in_brief_what_the_error_is():
    payload = ERRORS["invalid job id"].to_payload()
    assert payload["error_type"] == "InvalidJobIdError"
    assert payload["code"] == "INVALID_JOB_ID" and payload["transient"] is False
    assert "30 days" in payload["hint"]
    assert payload["message"] == str(ERRORS["invalid job id"])


def test_a_fault_rebuilt_keeps_what_netsuite_said():
    rebuilt = NetSuiteError.from_payload(ERRORS["concurrency"].to_payload())
    assert isinstance(rebuilt, ConcurrencyLimitError)
    assert (rebuilt.fault_type, rebuilt.netsuite_message) == ("ExceededConcurrentRequestLimitFault", "busy")


def test_a_submit_outcome_unknown_keeps_its_cause():
    rebuilt = NetSuiteError.from_payload(ERRORS["submit outcome unknown"].to_payload())
    assert isinstance(rebuilt, SubmitOutcomeUnknownError)
    assert isinstance(rebuilt.cause, NetSuiteTransportError) and rebuilt.cause.transient


def test_a_class_defined_elsewhere_comes_back_as_a_netsuite_error_with_its_message():
    error = RecordCountError("asyncAddList", 401, 400)
    rebuilt = NetSuiteError.from_payload(error.to_payload())
    assert type(rebuilt) is NetSuiteError
    assert str(rebuilt) == str(error) and rebuilt.transient is False


@pytest.mark.parametrize("transient", [True, False])
def test_an_earlier_versions_brief_payload_keeps_message_and_transient_flag(transient):
    rebuilt = NetSuiteError.from_payload(
        {"error_type": "NetSuiteTransportError", "message": "HTTP 503", "transient": transient, "code": None}
    )
    assert str(rebuilt) == "HTTP 503" and rebuilt.transient is transient


@pytest.mark.parametrize("payload", [None, "HTTP 503", {"error_type": "NetSuiteError"}, {"message": 5}])
def test_what_is_not_an_error_payload_is_refused(payload):
    with pytest.raises(ValueError, match="not a NetSuite error payload"):
        NetSuiteError.from_payload(payload)


def test_a_long_excerpt_keeps_its_start_and_its_end():
    text = (
        "HTTPConnectionPool(host='h', port=1): Max retries exceeded " + "x" * 500 + " Connection refused'))"
    )
    short = excerpt(text)
    assert short.startswith("HTTPConnectionPool(host='h', port=1): Max retries")
    assert short.endswith("Connection refused'))")
    assert f"[{len(text) - EXCERPT_LENGTH} characters cut]" in short
    assert excerpt("short\n  text") == "short text"
