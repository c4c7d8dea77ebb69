"""Answers that are not what the protocol promises: each ends in a retry or a typed error."""

from __future__ import annotations

import json

import pytest

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.faults import (
    ConfigurationError,
    NetSuiteError,
    NetSuiteResponseError,
    NetSuiteTransportError,
)
from airflow_asyncjob.netsuite.retry import RetryPolicy

FAST_RETRY = RetryPolicy(max_attempts=3, max_delay=30, initial_wait=0.01, max_wait=0.05)
ENVELOPE = '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'


def hook() -> SoapAsyncJobHook:
    return SoapAsyncJobHook(retry=FAST_RETRY, timeout=10)


@pytest.fixture
def job_id(emulator):
    return emulator.create_job(
        {"operation": "asyncAddList", "pending_seconds": 60, "records": [{"externalId": "a"}]}
    )


def checks(emulator) -> int:
    return emulator.stats()["requests"]["checkAsyncStatus"]


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (502, ENVELOPE + "<soapenv:Body><x", "text/xml"),  # a proxy cut the answer
        (500, "", "text/xml"),
        (200, "", "text/xml"),
        (429, "Too Many Requests", "text/plain"),
    ],
    ids=["502-garbled-envelope", "500-empty", "200-empty", "429"],
)
def test_transient_bad_answer_is_retried_then_succeeds(emulator, job_id, status, body, content_type):
    emulator.inject("raw", status=status, body=body, content_type=content_type, operation="checkAsyncStatus")
    assert hook().check_async_status(job_id).job_id == job_id
    assert checks(emulator) == 2


def test_a_whole_answer_that_is_not_well_formed_is_refused_once(emulator, job_id):
    # The emulator sends a Content-Length: all the bytes arrived, so a retry would get the same.
    emulator.inject(
        "raw", status=200, body=ENVELOPE + "<soapenv:Body><chec", operation="checkAsyncStatus", times=5
    )
    with pytest.raises(NetSuiteTransportError, match="not well-formed, though the whole answer") as caught:
        hook().check_async_status(job_id)
    assert not caught.value.transient
    assert "not retried" in str(caught.value)
    assert checks(emulator) == 1


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [
        (403, "<html><body>Forbidden</body></html>", "text/html", "HTTP 403 with an HTML page"),
        (
            200,
            json.dumps({"error": "wrong endpoint"}),
            "application/json",
            "HTTP 200 with a body that is not XML",
        ),
        (200, ENVELOPE + "<soapenv:Body/></soapenv:Envelope>", "text/xml", "empty Body"),
        (200, "<rss><channel/></rss>", "text/xml", "not a SOAP 1.1 envelope"),
    ],
    ids=["403-html", "200-json", "200-empty-body", "200-other-xml"],
)
def test_permanent_bad_answer_is_not_retried(emulator, job_id, status, body, content_type, expected):
    emulator.inject("raw", status=status, body=body, content_type=content_type, operation="checkAsyncStatus")
    with pytest.raises(NetSuiteError, match=expected) as caught:
        hook().check_async_status(job_id)
    assert not caught.value.transient
    assert checks(emulator) == 1


def test_entities_are_never_resolved(emulator, job_id, tmp_path):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("CONTENT-OF-A-LOCAL-FILE")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret_file}">]>'
        + ENVELOPE.split("?>", 1)[1]
        + "<soapenv:Body><x>&e;</x></soapenv:Body></soapenv:Envelope>"
    )
    emulator.inject("raw", status=200, body=xxe, content_type="text/xml", operation="checkAsyncStatus")
    with pytest.raises(NetSuiteResponseError, match="DOCTYPE, which is refused") as caught:
        hook().check_async_status(job_id)
    assert "CONTENT-OF-A-LOCAL-FILE" not in str(caught.value)


def test_answer_about_another_job_is_refused(emulator, job_id):
    other = emulator.create_job({"operation": "asyncAddList", "records": [{"externalId": "b"}]})
    answer = (
        ENVELOPE + '<soapenv:Body><checkAsyncStatusResponse xmlns="urn:messages_2025_2.platform.webservices'
        '.netsuite.com"><platformCore:asyncStatusResult xmlns:platformCore="urn:core_2025_2.platform.'
        f'webservices.netsuite.com"><platformCore:jobId>{other}</platformCore:jobId><platformCore:status>'
        "finished</platformCore:status><platformCore:percentCompleted>100.0</platformCore:percentCompleted>"
        "<platformCore:estRemainingDuration>0.0</platformCore:estRemainingDuration></platformCore:"
        "asyncStatusResult></checkAsyncStatusResponse></soapenv:Body></soapenv:Envelope>"
    )
    emulator.inject("raw", status=200, body=answer, content_type="text/xml", operation="checkAsyncStatus")
    with pytest.raises(NetSuiteResponseError, match="not the job asked about"):
        hook().check_async_status(job_id)


def test_https_assumed_for_a_plain_http_host_fails_once_with_a_hint(emulator, monkeypatch):
    conn = emulator.airflow_connection()
    conn["host"] = emulator.base_url.removeprefix("http://")
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
    with pytest.raises(NetSuiteTransportError, match="TLS failed.*write http://") as caught:
        hook().check_async_status("ANY")
    assert not caught.value.transient


@pytest.mark.parametrize("host", ["ftp://example.com", "file:///etc"])
def test_non_http_base_url_is_a_configuration_error(emulator, monkeypatch, host):
    conn = emulator.airflow_connection()
    conn["host"] = host
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
    with pytest.raises(ConfigurationError, match="not an http"):
        hook().check_async_status("ANY")


@pytest.mark.parametrize("job_id", ["", "   ", None, 42, "JOB\x00X", "J" * 300])
def test_malformed_job_id_is_refused_before_any_request(emulator, job_id):
    with pytest.raises(ConfigurationError, match="job_id must be NetSuite's jobId") as caught:
        hook().check_async_status(job_id)
    assert len(str(caught.value)) < 300
    assert emulator.stats()["requests"].get("checkAsyncStatus", 0) == 0


@pytest.mark.parametrize("page_index", [0, -1, "1", True, 1.0])
def test_malformed_page_index_is_refused(emulator, page_index):
    with pytest.raises(ConfigurationError, match="page_index must be an integer >= 1"):
        hook().get_async_result("JOB", page_index)
