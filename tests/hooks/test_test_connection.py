"""test_connection, as the UI's Test button runs it: server time, or NetSuite's fault code and a hint."""

from __future__ import annotations

import json
import re
import time

import pytest

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.testing.emulator import DEFAULT_CREDENTIALS, Emulator, Scenario

SECRETS = (DEFAULT_CREDENTIALS["consumer_secret"], DEFAULT_CREDENTIALS["token_secret"])


def use(monkeypatch, emulator, **extra_overrides) -> None:
    conn = emulator.airflow_connection()
    conn["extra"].update(extra_overrides)
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))


def assert_no_secret(message: str) -> None:
    for secret in SECRETS:
        assert secret not in message, message


def test_success_reports_the_url_account_and_netsuite_server_time(emulator):
    before = time.time()
    ok, message = SoapAsyncJobHook().test_connection()
    assert ok, message
    assert f"Connected to {emulator.service_url()} as account 1234567_SB1" in message
    served = re.search(r"server time is (\S+)\.$", message)
    assert served, message
    from datetime import datetime

    assert abs(datetime.fromisoformat(served.group(1)).timestamp() - before) < 5
    assert "clock" not in message  # no drift worth a word


def test_bad_token_gives_the_fault_code_and_points_at_the_credentials(emulator, monkeypatch):
    use(monkeypatch, emulator, token_secret="not-the-secret")
    ok, message = SoapAsyncJobHook().test_connection()
    assert not ok
    assert "fault InvalidCredentialsFault, code USER_ERROR" in message
    assert "Invalid login attempt." in message
    assert "clock agrees with NetSuite's" in message
    assert "token id and secret" in message and "Login Audit Trail" in message
    assert "not-the-secret" not in message


def test_production_id_for_a_sandbox_token_suggests_the_sandbox_id(emulator, monkeypatch):
    use(monkeypatch, emulator, account_id="1234567")
    ok, message = SoapAsyncJobHook().test_connection()
    assert not ok
    assert "code USER_ERROR" in message
    assert (
        "account id, sent as 1234567 (if the token was made in a sandbox, the id is 1234567_SB1)" in message
    )


def test_malformed_account_id_is_named_and_nothing_is_sent(emulator, monkeypatch):
    use(monkeypatch, emulator, account_id="acct 12x")
    ok, message = SoapAsyncJobHook().test_connection()
    assert not ok
    assert "account_id 'acct 12x' is not a NetSuite account id" in message
    assert "1234567_SB1" in message and "No request was sent" in message
    assert emulator.stats()["requests"] == {}


@pytest.mark.parametrize(("skew", "direction"), [(900, "behind"), (-900, "ahead of")])
def test_clock_skew_is_named_as_the_cause_with_its_size(monkeypatch, skew, direction):
    with Emulator(port=0, scenario=Scenario.example(), clock=lambda: time.time() + skew) as skewed:
        use(monkeypatch, skewed)
        ok, message = SoapAsyncJobHook().test_connection()
    assert not ok
    assert "fault InvalidCredentialsFault, code USER_ERROR" in message
    clock = re.search(r"clock is (\d+) s", message)
    assert clock, message
    size = int(clock.group(1))
    assert abs(size - 900) <= 2
    assert f"Clock skew: this machine's clock is {size} s {direction} NetSuite's" in message
    assert "NTP" in message and "consumer key" not in message


def test_small_drift_still_connects_with_a_warning(monkeypatch):
    with Emulator(port=0, scenario=Scenario.example(), clock=lambda: time.time() + 120) as drifting:
        use(monkeypatch, drifting)
        ok, message = SoapAsyncJobHook().test_connection()
    assert ok, message
    assert re.search(r"This machine's clock is 1(19|20|21) s behind NetSuite's", message)


def test_unreadable_server_clock_does_not_rule_out_skew(emulator, monkeypatch):
    use(monkeypatch, emulator, consumer_key="other")
    monkeypatch.setattr("airflow_asyncjob.hooks.soap_async_job.clock_offset", lambda url, timeout: None)
    ok, message = SoapAsyncJobHook().test_connection()
    assert not ok
    assert "clock could not be read, so clock skew is not ruled out" in message


def test_retries_are_bounded_so_the_test_button_answers(emulator):
    emulator.inject("soap_fault", code="UNEXPECTED_ERROR", operation="getServerTime", times=10)
    started = time.monotonic()
    ok, message = SoapAsyncJobHook().test_connection()
    assert not ok
    assert "UNEXPECTED_ERROR" in message
    assert emulator.stats()["requests"]["getServerTime"] == 2
    assert time.monotonic() - started < 15


def test_sdk_connection_test_runs_the_hook(emulator):
    """Airflow 3.3's queued Test (a worker runs Connection.test_connection on an unsaved connection)."""
    from airflow.sdk import Connection

    if not hasattr(Connection, "test_connection"):
        pytest.skip("the SDK Connection has no test_connection before Airflow 3.3")
    conn = emulator.airflow_connection()
    connection = Connection(
        conn_id="netsuite_unsaved",
        conn_type="netsuite_soap",
        host=conn["host"],
        extra=json.dumps(conn["extra"]),
    )
    ok, message = connection.test_connection()
    assert ok, message
    assert "server time is" in message


def test_test_button_through_the_api(airflow_db, emulator, monkeypatch):
    """POST /api/v2/connections/test, as the UI's Test button sends it with the form's fields."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "a-local-test-secret-" + "x" * 48)
    conn = emulator.airflow_connection()
    body = {"connection_id": "netsuite_form", "conn_type": "netsuite_soap", "host": conn["host"]}
    with TestClient(create_app()) as client:
        good = client.post("/api/v2/connections/test", json={**body, "extra": json.dumps(conn["extra"])})
        bad = client.post(
            "/api/v2/connections/test",
            json={**body, "extra": json.dumps({**conn["extra"], "token_secret": "wrong"})},
        )
    assert good.status_code == 200, good.text
    assert good.json()["status"] is True
    assert "NetSuite server time is" in good.json()["message"]
    assert bad.json()["status"] is False
    assert "code USER_ERROR" in bad.json()["message"]
    assert_no_secret(good.json()["message"] + bad.json()["message"])
