"""Token-based authentication: every failure is InvalidCredentialsFault USER_ERROR
"Invalid login attempt."."""

from __future__ import annotations

import time

import pytest

from airflow_asyncjob.netsuite.auth import new_nonce

from .conftest import SoapClient, fault_of

INVALID_LOGIN = ("invalidCredentialsFault", "USER_ERROR", "Invalid login attempt.")


def test_a_correctly_signed_passport_is_accepted(client: SoapClient) -> None:
    assert client.call("getServerTime").status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"signature": "bm90IHRoZSBzaWduYXR1cmU="}, id="bad-signature"),
        pytest.param({"token_secret": "wrong"}, id="signed-with-another-secret"),
        pytest.param({"account": "7654321"}, id="wrong-account"),
        pytest.param({"account": "1234567_sb1"}, id="account-not-in-passport-form"),
        pytest.param({"consumer_key": "other"}, id="wrong-consumer-key"),
        pytest.param({"token_id": "other"}, id="wrong-token"),
        pytest.param({"algorithm": "HMAC-SHA1"}, id="hmac-sha1"),
        # seconds from now, resolved when the test runs (collection can be minutes earlier)
        pytest.param({"timestamp": -400}, id="stale-timestamp"),
        pytest.param({"timestamp": +400}, id="future-timestamp"),
        pytest.param({"nonce": "abc"}, id="nonce-too-short"),
    ],
)
def test_a_bad_passport_is_an_invalid_login(client: SoapClient, overrides: dict) -> None:
    if "timestamp" in overrides:
        overrides = {"timestamp": int(time.time()) + overrides["timestamp"]}
    assert fault_of(client.call("getServerTime", **overrides)) == INVALID_LOGIN


def test_a_reused_nonce_is_an_invalid_login(client: SoapClient) -> None:
    nonce = new_nonce()
    assert client.call("getServerTime", nonce=nonce).status_code == 200
    assert fault_of(client.call("getServerTime", nonce=nonce)) == INVALID_LOGIN


def test_a_request_without_passport_is_an_invalid_login(client: SoapClient) -> None:
    assert fault_of(client.call("getServerTime", passport=False)) == INVALID_LOGIN


def test_application_info_with_a_passport_is_ambiguous_authentication(client: SoapClient) -> None:
    detail, code, message = fault_of(client.call("getServerTime", application_info=True))
    assert (detail, code) == ("invalidCredentialsFault", "USER_ERROR")
    assert message.startswith("Ambiguous authentication")


def test_every_operation_checks_the_passport(client: SoapClient) -> None:
    for operation in ("checkAsyncStatus", "getAsyncResult", "asyncUpsertList"):
        assert fault_of(client.call(operation, signature="AAAA")) == INVALID_LOGIN
    assert client.emulator.stats()["faults"] == {"USER_ERROR": 3}
