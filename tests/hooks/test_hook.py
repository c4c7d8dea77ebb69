"""SoapAsyncJobHook against the emulator: typed answers, retries, permanent faults."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time

import pytest
from lxml import etree

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.faults import (
    AuthenticationError,
    ConcurrencyLimitError,
    ConfigurationError,
    InvalidJobIdError,
    NetSuiteFault,
    NetSuiteTransportError,
)
from airflow_asyncjob.netsuite.models import AsyncStatus, RecordRef, RecordResult
from airflow_asyncjob.netsuite.process_state import zeep_service
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.testing.emulator import EXAMPLE_JOB_IDS


def ref(result: RecordResult) -> RecordRef:
    """A record result's baseRef, which every result these tests read has."""
    assert result.base_ref is not None, result
    return result.base_ref


FAST_RETRY = RetryPolicy(max_attempts=4, max_delay=30, initial_wait=0.01, max_wait=0.05)
TBA = "{urn:core_2025_2.platform.webservices.netsuite.com}"


def hook(**kwargs) -> SoapAsyncJobHook:
    return SoapAsyncJobHook(retry=FAST_RETRY, timeout=10, **kwargs)


def sent_nonces(emulator, operation="checkAsyncStatus"):
    nonces = []
    for request in emulator.requests():
        if request["operation"] == operation:
            envelope = etree.fromstring(
                request["body"].encode() if isinstance(request["body"], str) else request["body"]
            )
            nonces.append(envelope.findtext(f".//{TBA}nonce"))
    return nonces


def set_connection(monkeypatch, emulator, **extra_overrides):
    conn = emulator.airflow_connection()
    conn["extra"].update(extra_overrides)
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))


def test_new_job_is_pending_with_percent_and_estimate(emulator):
    job_id = emulator.create_job(
        {
            "operation": "asyncUpsertList",
            "pending_seconds": 60,
            "records": [{"externalId": "c1", "success": True}],
        }
    )
    status = hook().check_async_status(job_id)
    assert status.job_id == job_id
    assert status.status is AsyncStatus.PENDING
    assert status.percent_completed == 0.0
    assert status.est_remaining_duration >= 0.0


def test_job_reaches_its_final_status(emulator):
    job_id = emulator.create_job(
        {
            "operation": "asyncUpsertList",
            "pending_seconds": 0,
            "processing_seconds": 0,
            "records": [{"externalId": "c1", "success": True}],
        }
    )
    status = hook().check_async_status(job_id)
    assert status.status is AsyncStatus.FINISHED
    assert status.percent_completed == 100.0


def test_finished_with_errors_result_lists_failed_records_with_codes(emulator):
    job_id = EXAMPLE_JOB_IDS["finishedWithErrors"]
    h = hook()
    for _ in range(100):  # the example job ends after 3.5 s
        if h.check_async_status(job_id).status.is_terminal:
            break
        time.sleep(0.1)
    page = h.get_async_result(job_id)
    assert page.result_type == "AsyncUpsertListResult"
    assert len(page.records) == 5
    failed = {ref(r).external_id: (r.details[0].code, r.details[0].message) for r in page.failed_records}
    assert failed == {
        "cust-0102": ("DUP_ENTITY", "This entity already exists."),
        "cust-0104": ("INVALID_KEY_OR_REF", "Invalid subsidiary reference key 99."),
    }
    ok = [r for r in page.records if r.is_success]
    assert {ref(r).internal_id for r in ok} == {"2101", "2103", "2105"}
    assert all(ref(r).type == "customer" for r in page.records)


def test_retry_after_transient_fault_carries_a_new_nonce(emulator):
    job_id = emulator.create_job({"operation": "asyncAddList", "records": [{"externalId": "a"}]})
    emulator.inject("soap_fault", code="WS_REQUEST_BLOCKED", operation="checkAsyncStatus")
    status = hook().check_async_status(job_id)
    assert status.job_id == job_id
    nonces = sent_nonces(emulator)
    assert len(nonces) == 2 and nonces[0] != nonces[1]


@pytest.mark.parametrize(
    "code", ["WS_REQUEST_BLOCKED", "WS_CONCUR_SESSION_DISALLWD", "ACCT_TEMP_UNAVAILABLE", "UNEXPECTED_ERROR"]
)
def test_transient_fault_then_success_succeeds(emulator, code):
    job_id = emulator.create_job({"operation": "asyncAddList", "records": [{"externalId": "a"}]})
    emulator.inject("soap_fault", code=code, operation="checkAsyncStatus", times=2)
    assert hook().check_async_status(job_id).job_id == job_id
    assert emulator.stats()["requests"]["checkAsyncStatus"] == 3


def test_html_503_page_then_success_succeeds(emulator):
    job_id = emulator.create_job({"operation": "asyncAddList", "records": [{"externalId": "a"}]})
    emulator.inject("http_error", status=503, operation="checkAsyncStatus")
    assert hook().check_async_status(job_id).job_id == job_id


def test_dropped_connection_then_success_succeeds(emulator):
    job_id = emulator.create_job({"operation": "asyncAddList", "records": [{"externalId": "a"}]})
    emulator.inject("drop", operation="checkAsyncStatus")
    assert hook().check_async_status(job_id).job_id == job_id


def test_transient_faults_stop_after_max_attempts(emulator):
    job_id = emulator.create_job({"operation": "asyncAddList", "records": [{"externalId": "a"}]})
    emulator.inject("soap_fault", code="UNEXPECTED_ERROR", operation="checkAsyncStatus", times=10)
    with pytest.raises(NetSuiteFault) as caught:
        hook().check_async_status(job_id)
    assert caught.value.code == "UNEXPECTED_ERROR"
    assert emulator.stats()["requests"]["checkAsyncStatus"] == FAST_RETRY.max_attempts


def test_concurrency_faults_do_not_use_up_attempts(emulator):
    job_id = emulator.create_job({"operation": "asyncAddList", "records": [{"externalId": "a"}]})
    blocked = FAST_RETRY.max_attempts + 3
    emulator.inject("soap_fault", code="WS_REQUEST_BLOCKED", operation="checkAsyncStatus", times=blocked)
    assert hook().check_async_status(job_id).job_id == job_id
    assert emulator.stats()["requests"]["checkAsyncStatus"] == blocked + 1


def test_concurrency_faults_stop_after_max_delay(emulator):
    job_id = emulator.create_job({"operation": "asyncAddList", "records": [{"externalId": "a"}]})
    emulator.inject("soap_fault", code="WS_REQUEST_BLOCKED", operation="checkAsyncStatus", times=10_000)
    impatient = RetryPolicy(max_attempts=2, max_delay=0.3, initial_wait=0.01, max_wait=0.02)
    with pytest.raises(ConcurrencyLimitError) as caught:
        SoapAsyncJobHook(retry=impatient, timeout=10).check_async_status(job_id)
    assert caught.value.fault_type == "ExceededConcurrentRequestLimitFault"
    assert emulator.stats()["requests"]["checkAsyncStatus"] > impatient.max_attempts


def test_unknown_job_id_is_raised_at_once_with_a_hint(emulator):
    with pytest.raises(InvalidJobIdError) as caught:
        hook().check_async_status("ASYNCWEBSERVICES_NOPE")
    error = caught.value
    assert (error.job_id, error.code, error.transient) == ("ASYNCWEBSERVICES_NOPE", "INVALID_JOB_ID", False)
    assert "30 days" in str(error)
    assert emulator.stats()["requests"]["checkAsyncStatus"] == 1


def test_wrong_secret_is_invalid_credentials_not_retried(emulator, monkeypatch):
    set_connection(monkeypatch, emulator, token_secret="not-the-secret")
    with pytest.raises(AuthenticationError) as caught:
        hook().check_async_status("ANY")
    error = caught.value
    assert (error.fault_type, error.code, error.netsuite_message) == (
        "InvalidCredentialsFault",
        "USER_ERROR",
        "Invalid login attempt.",
    )
    assert "not-the-secret" not in str(error)
    assert emulator.stats()["requests"]["checkAsyncStatus"] == 1


def test_http_404_is_permanent_and_quotes_only_an_excerpt(emulator):
    emulator.inject(
        "raw",
        status=404,
        body="<html><body>" + "Not Found " * 500 + "</body></html>",
        content_type="text/html",
    )
    with pytest.raises(NetSuiteTransportError) as caught:
        hook().check_async_status("ANY")
    assert caught.value.http_status == 404 and not caught.value.transient
    assert len(str(caught.value)) < 600
    assert emulator.stats()["requests"]["checkAsyncStatus"] == 1


def test_sloppy_account_id_is_normalised(emulator, monkeypatch):
    set_connection(monkeypatch, emulator, account_id=' "1234567_sb1" ')
    job_id = emulator.create_job({"operation": "asyncAddList", "records": [{"externalId": "a"}]})
    assert hook().check_async_status(job_id).job_id == job_id


def test_missing_extras_are_named(emulator, monkeypatch):
    conn = emulator.airflow_connection()
    del conn["extra"]["token_secret"], conn["extra"]["consumer_key"]
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
    with pytest.raises(ConfigurationError, match="lacks consumer_key, token_secret"):
        hook().check_async_status("ANY")


def test_test_connection_reports_server_time(emulator):
    ok, message = hook().test_connection()
    assert ok, message
    assert "server time" in message


def test_test_connection_reports_bad_credentials_with_a_hint(emulator, monkeypatch):
    set_connection(monkeypatch, emulator, consumer_secret="wrong")
    ok, message = hook().test_connection()
    assert not ok
    assert "Invalid login attempt." in message and "clock" in message


def test_one_zeep_client_per_version_and_url(emulator):
    first, second = hook(), hook()
    first.check_async_status(EXAMPLE_JOB_IDS["finished"])
    second.check_async_status(EXAMPLE_JOB_IDS["finished"])
    url = first.get_conn().url
    assert zeep_service("2025_2", url, 10) is zeep_service("2025_2", url, 10)


def test_job_not_complete_is_a_typed_fault(emulator):
    job_id = emulator.create_job(
        {"operation": "asyncAddList", "pending_seconds": 60, "records": [{"externalId": "a"}]}
    )
    with pytest.raises(NetSuiteFault) as caught:
        hook().get_async_result(job_id)
    assert caught.value.code == "JOB_NOT_COMPLETE"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed again)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def retry_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "airflow_asyncjob.netsuite.retry"]


@pytest.mark.parametrize("side", ["sync", "async"])
async def test_a_refused_connection_is_named_in_the_error_and_the_first_warning(
    emulator, monkeypatch, caplog, side
):
    port = closed_port()
    conn = emulator.airflow_connection()
    conn["host"] = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
    caplog.set_level(logging.WARNING, logger="airflow_asyncjob.netsuite.retry")
    with pytest.raises(NetSuiteTransportError) as caught:
        if side == "sync":
            hook().check_async_status(EXAMPLE_JOB_IDS["finished"])
        else:
            async with hook().get_async_conn() as client:
                await client.check_async_status(EXAMPLE_JOB_IDS["finished"])
    refused = f"connection to 127.0.0.1:{port} failed: Connection refused (ECONNREFUSED)"
    assert caught.value.transient
    assert refused + ". Check the account id" in str(caught.value)
    warnings = retry_warnings(caplog)
    assert len(warnings) == FAST_RETRY.max_attempts - 1  # network errors are still retried
    assert warnings[0].startswith(f"checkAsyncStatus for job {EXAMPLE_JOB_IDS['finished']}: {refused}; ")
    assert "; attempt 1 failed, retrying in " in warnings[0]


async def test_async_polls_queued_behind_one_slot_all_end_and_give_every_slot_back(emulator, monkeypatch):
    # Each call waits in line for its first slot before its retry controller is set up; a retried
    # attempt waits in line again, and a call cancelled while it waits leaves no slot behind.
    set_connection(monkeypatch, emulator, max_in_flight=1)
    job_ids = [
        emulator.create_job({"operation": "asyncAddList", "records": [{"externalId": f"r{n}"}]})
        for n in range(5)
    ]
    emulator.inject("soap_fault", code="UNEXPECTED_ERROR", operation="checkAsyncStatus", after=1)

    async def polls_through_one_slot() -> int:
        async with hook().get_async_conn() as client:
            limiter = client.channel.limiter
            await client.check_async_status(job_ids[0])  # the channel is open and its schema loaded
            before = emulator.stats()["requests"]["checkAsyncStatus"]
            polls = [asyncio.create_task(client.check_async_status(job_id)) for job_id in job_ids]
            cancelled = asyncio.create_task(client.check_async_status(job_ids[0]))
            await asyncio.sleep(0)
            assert limiter.waiting >= 4  # one slot: the others wait in line
            cancelled.cancel()
            statuses = await asyncio.gather(*polls)
            assert [status.job_id for status in statuses] == job_ids
            assert isinstance(
                (await asyncio.gather(cancelled, return_exceptions=True))[0], asyncio.CancelledError
            )
            assert limiter.in_flight == 0 and limiter.waiting == 0
            await client.check_async_status(job_ids[0])  # the slot is still there to be had
        return emulator.stats()["requests"]["checkAsyncStatus"] - before

    sent = await asyncio.wait_for(polls_through_one_slot(), timeout=60)  # a slot never given back hangs
    assert sent == len(job_ids) + 2  # one poll retried, the last one; the cancelled one sent nothing


async def test_an_async_retry_waits_its_backoff_without_holding_the_accounts_slot(emulator, monkeypatch):
    set_connection(monkeypatch, emulator, max_in_flight=1)
    job_id = emulator.create_job({"operation": "asyncAddList", "records": [{"externalId": "a"}]})
    emulator.inject("soap_fault", code="UNEXPECTED_ERROR", operation="checkAsyncStatus", after=1)
    in_flight_at_retry = []

    class AtRetry(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:  # tenacity's warning, just before its wait
            in_flight_at_retry.append(limiter.in_flight)

    retry_log = logging.getLogger("airflow_asyncjob.netsuite.retry")
    handler = AtRetry(logging.WARNING)
    retry_log.addHandler(handler)
    try:
        async with hook().get_async_conn() as client:
            limiter = client.channel.limiter
            await client.check_async_status(job_id)  # the channel is open and its schema loaded
            status = await asyncio.wait_for(client.check_async_status(job_id), timeout=30)
    finally:
        retry_log.removeHandler(handler)
    assert status.job_id == job_id
    assert in_flight_at_retry == [0]


async def test_an_async_call_that_fails_before_its_first_attempt_gives_its_slot_back(emulator, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no retry controller")

    async with hook().get_async_conn() as client:
        limiter = client.channel.limiter
        monkeypatch.setattr(RetryPolicy, "async_retrying", broken)
        with pytest.raises(RuntimeError, match="no retry controller"):
            await asyncio.wait_for(client.check_async_status(EXAMPLE_JOB_IDS["finished"]), timeout=30)
        assert limiter.in_flight == 0 and limiter.waiting == 0
