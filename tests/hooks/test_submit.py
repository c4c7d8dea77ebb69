"""Submitting the seven async operations through the hook, against the emulator: what is sent,
when a failed submit is sent again (only where NetSuite cannot have created the job), and the
typed results that come back."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest
from lxml import etree

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.faults import (
    ConcurrencyLimitError,
    NetSuiteFault,
    NetSuiteResponseError,
    NetSuiteTransportError,
    SubmitOutcomeUnknownError,
)
from airflow_asyncjob.netsuite.models import AsyncStatus, RecordRef, RecordResult
from airflow_asyncjob.netsuite.records import RecordCountError
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.testing.emulator import Timeline
from airflow_asyncjob.testing.emulator.jobs import SubmitDefaults


def ref(result: RecordResult) -> RecordRef:
    """A record result's baseRef, which every result these tests read has."""
    assert result.base_ref is not None, result
    return result.base_ref


FAST_RETRY = RetryPolicy(max_attempts=3, max_delay=30, initial_wait=0.01, max_wait=0.05)
CUSTOMERS: list[dict[str, Any]] = [
    {"@type": "customer", "externalId": "cust-1", "companyName": "Acme", "subsidiary": {"internalId": "1"}},
    {"@type": "customer", "externalId": "dup-2", "companyName": "Globex"},
]
SUBMITS: dict[str, Any] = {
    "asyncAddList": CUSTOMERS,
    "asyncUpdateList": [{"@type": "customer", "internalId": "7", "phone": "555-0100"}],
    "asyncUpsertList": CUSTOMERS,
    "asyncDeleteList": [{"type": "customer", "internalId": "7"}],
    "asyncGetList": [{"type": "customer", "internalId": "7"}, {"type": "customer", "externalId": "dup-9"}],
    "asyncInitializeList": [{"type": "salesOrder", "reference": {"type": "customer", "internalId": "7"}}],
    "asyncSearch": {
        "@type": "customerSearchBasic",
        "email": {"operator": "contains", "searchValue": "@x.com"},
    },
}


def hook(**kwargs) -> SoapAsyncJobHook:
    return SoapAsyncJobHook(retry=FAST_RETRY, **kwargs)


def finished(hook: SoapAsyncJobHook, job_id: str) -> AsyncStatus:
    for _ in range(100):
        status = hook.check_async_status(job_id).status
        if status.is_terminal:
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end")


def submits_sent(emulator, operation: str) -> int:
    return emulator.stats()["requests"].get(operation, 0)


@pytest.mark.parametrize("operation", list(SUBMITS))
def test_every_operation_creates_a_job_and_its_results_parse(monkeypatch, emulator, operation):
    defaults = SubmitDefaults(timeline=Timeline(0.1, 0.2), search_total_records=3)
    monkeypatch.setattr(emulator.jobs, "submit_defaults", defaults)
    h = hook()
    status = h.submit(operation, SUBMITS[operation])
    assert status.status is AsyncStatus.PENDING and status.job_id.startswith("ASYNCWEBSERVICES_")
    finished(h, status.job_id)
    page = h.get_async_result(status.job_id, 1)
    expected_type = {"asyncSearch": "AsyncSearchResult"}.get(
        operation, f"{operation[0].upper()}{operation[1:]}Result"
    )
    assert page.result_type == expected_type
    if operation == "asyncSearch":
        assert page.total_records == 3
        assert [(r.record_type, ref(r).internal_id) for r in page.records] == [
            ("Customer", "1"),
            ("Customer", "2"),
            ("Customer", "3"),
        ]
        assert page.records[0].record == {"@type": "Customer", "internalId": "1"}
    elif operation == "asyncGetList":
        assert [(r.is_success, r.record_type) for r in page.records] == [(True, "Customer"), (False, None)]
        assert ref(page.records[0]).internal_id == "7"
        assert page.failed_records[0].details[0].code == "DUP_ENTITY"
    elif operation == "asyncInitializeList":
        assert [(r.is_success, r.record_type) for r in page.records] == [(True, "SalesOrder")]
    else:
        expected = [
            (r.get("externalId"), not r.get("externalId", "").startswith("dup-")) for r in SUBMITS[operation]
        ]
        sent = [(ref(r).external_id, r.is_success) for r in page.records]
        assert sent == expected


def test_a_refused_submit_is_sent_again_and_creates_one_job(emulator):
    emulator.inject("soap_fault", code="WS_REQUEST_BLOCKED", operation="asyncUpsertList")
    emulator.inject("http_error", status=503, operation="asyncUpsertList")
    status = hook().submit("asyncUpsertList", CUSTOMERS)
    assert submits_sent(emulator, "asyncUpsertList") == 3
    assert emulator.jobs.job_ids().count(status.job_id) == 1
    assert len(emulator.jobs.job_ids()) == 4 + 1  # the example scenario's four, and this one


def test_refusals_past_the_retry_policy_raise_the_fault(emulator):
    emulator.inject("soap_fault", code="UNEXPECTED_ERROR", operation="asyncAddList", times=3)
    with pytest.raises(NetSuiteFault, match="UNEXPECTED_ERROR"):
        hook().submit("asyncAddList", CUSTOMERS)
    assert submits_sent(emulator, "asyncAddList") == 3


def test_concurrency_refusals_are_retried_within_the_policys_time(emulator):
    emulator.inject("soap_fault", code="WS_REQUEST_BLOCKED", operation="asyncAddList", times=4)
    hook().submit("asyncAddList", CUSTOMERS)  # four refusals and then the job, in 3 attempts' policy
    assert submits_sent(emulator, "asyncAddList") == 5
    emulator.inject("soap_fault", code="WS_REQUEST_BLOCKED", operation="asyncAddList", times=100)
    with pytest.raises(ConcurrencyLimitError):
        SoapAsyncJobHook(
            retry=RetryPolicy(max_attempts=3, max_delay=0.3, initial_wait=0.01, max_wait=0.05)
        ).submit("asyncAddList", CUSTOMERS)


@pytest.mark.parametrize(
    ("kind", "params"),
    [("drop", {}), ("http_error", {"status": 502}), ("raw", {"body": "<soapenv:Envelope", "status": 200})],
)
def test_a_submit_without_a_usable_answer_is_not_sent_again(emulator, kind, params):
    emulator.inject(kind, operation="asyncUpsertList", **params)
    with pytest.raises(SubmitOutcomeUnknownError) as caught:
        hook().submit("asyncUpsertList", CUSTOMERS)
    assert submits_sent(emulator, "asyncUpsertList") == 1
    assert not caught.value.transient
    assert "may or may not have created a job" in str(caught.value)


def test_a_submit_that_times_out_is_not_sent_again(emulator):
    emulator.inject("delay", seconds=1.5, operation="asyncAddList")
    with pytest.raises(SubmitOutcomeUnknownError, match="time-out"):
        hook(timeout=0.5).submit("asyncAddList", CUSTOMERS)
    assert submits_sent(emulator, "asyncAddList") == 1


def test_no_connection_at_all_is_retried_then_raised(monkeypatch, emulator):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    conn = emulator.airflow_connection()
    conn["host"] = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
    with pytest.raises(NetSuiteTransportError, match="Connection refused") as caught:
        hook().submit("asyncAddList", CUSTOMERS)
    assert not isinstance(caught.value, SubmitOutcomeUnknownError)
    assert f"connection to 127.0.0.1:{port} failed: Connection refused (ECONNREFUSED)." in str(caught.value)


def test_over_the_limit_nothing_is_sent(emulator):
    with pytest.raises(RecordCountError, match="201 records exceed NetSuite's limit of 200"):
        hook().submit("asyncUpsertList", [CUSTOMERS[0]] * 201)
    assert submits_sent(emulator, "asyncUpsertList") == 0


def test_the_envelope_carries_typed_records(emulator):
    hook().submit(
        "asyncAddList", [{"@type": "salesOrder", "externalId": "so-1", "entity": {"internalId": "7"}}]
    )
    body = etree.fromstring(emulator.requests()[-1]["body"].encode())
    record = body.find(".//{urn:messages_2025_2.platform.webservices.netsuite.com}record")
    assert record.get("{http://www.w3.org/2001/XMLSchema-instance}type").endswith(":SalesOrder")


def submit_answer(job_id: str | None, percent: str = "0.0") -> str:
    """An asyncUpsertListResponse; ``job_id`` None: without a jobId element."""
    job = "" if job_id is None else f"<platformCore:jobId>{job_id}</platformCore:jobId>"
    return (
        '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soapenv:Body><asyncUpsertListResponse xmlns="urn:messages_2025_2.platform.webservices'
        '.netsuite.com"><platformCore:asyncStatusResult xmlns:platformCore="urn:core_2025_2.platform'
        '.webservices.netsuite.com">'
        f"{job}<platformCore:status>pending</platformCore:status>"
        f"<platformCore:percentCompleted>{percent}</platformCore:percentCompleted>"
        "<platformCore:estRemainingDuration>0.0</platformCore:estRemainingDuration>"
        "</platformCore:asyncStatusResult></asyncUpsertListResponse></soapenv:Body></soapenv:Envelope>"
    )


@pytest.mark.parametrize("job_id", [None, "", "  "], ids=["no-jobId", "empty-jobId", "blank-jobId"])
def test_a_submit_answer_without_a_job_id_says_what_came_back_and_is_not_sent_again(emulator, job_id):
    emulator.inject("raw", status=200, body=submit_answer(job_id), operation="asyncUpsertList")
    with pytest.raises(NetSuiteResponseError) as caught:
        hook().submit("asyncUpsertList", CUSTOMERS)
    message = str(caught.value)
    assert message.startswith("asyncUpsertList: the answer has no jobId, so NetSuite may have created a job")
    assert "status 'pending', percentCompleted 0.0" in message
    assert "Web Services Usage Log" in message
    assert not caught.value.transient
    assert submits_sent(emulator, "asyncUpsertList") == 1


def test_a_submit_answer_with_a_number_that_is_not_an_xsd_double_leaves_the_outcome_unknown(emulator):
    emulator.inject(
        "raw", status=200, body=submit_answer("ASYNCWEBSERVICES_1_2_3", "1_0"), operation="asyncUpsertList"
    )
    with pytest.raises(SubmitOutcomeUnknownError, match="percentCompleted is '1_0'"):
        hook().submit("asyncUpsertList", CUSTOMERS)
    assert submits_sent(emulator, "asyncUpsertList") == 1
