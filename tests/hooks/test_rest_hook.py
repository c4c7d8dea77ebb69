"""RestAsyncJobHook reading a ``netsuite_rest`` connection: each bad input is a typed error naming the
field and where its value comes from, never quoting a secret; the dispatch picks it by conn type."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from airflow_asyncjob.hooks.dispatch import job_hook
from airflow_asyncjob.hooks.rest_async_job import RestAsyncJobHook
from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.auth import TokenCredentials
from airflow_asyncjob.netsuite.faults import ConfigurationError
from airflow_asyncjob.netsuite.rest.auth import ClientCredentials


def pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


EC_KEY = pem(ec.generate_private_key(ec.SECP256R1()))
RSA_KEY = pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
KEY_LINE = EC_KEY.splitlines()[1]


def use(monkeypatch, conn_id: str = "ns_rest", **extra) -> None:
    base = {
        "account_id": "1234567_sb1",
        "client_id": "CLIENT-ID-1",
        "certificate_id": "CERT-ID-1",
        "private_key": EC_KEY,
        "algorithm": "ES256",
    }
    base.update(extra)
    conn = {"conn_type": "netsuite_rest", "host": "http://127.0.0.1:9", "extra": base}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def settings(conn_id: str = "ns_rest"):
    return RestAsyncJobHook(netsuite_conn_id=conn_id).get_settings()


def test_oauth2_connection_reads_into_client_credentials(monkeypatch):
    use(monkeypatch)
    read = settings()
    assert isinstance(read.credentials, ClientCredentials)
    assert read.credentials.algorithm == "ES256"
    assert read.credentials.account.passport == "1234567_SB1"
    assert read.rest_url == "http://127.0.0.1:9"


def test_the_default_algorithm_is_ps256_for_an_rsa_key(monkeypatch):
    use(monkeypatch, private_key=RSA_KEY, algorithm=None)
    assert settings().credentials.algorithm == "PS256"


def test_a_one_line_pem_with_escaped_newlines_is_read(monkeypatch):
    use(monkeypatch, private_key=EC_KEY.strip().replace("\n", "\\n"))
    assert isinstance(settings().credentials, ClientCredentials)


def test_tba_connection_reads_into_token_credentials(monkeypatch):
    use(
        monkeypatch,
        auth_method="tba",
        private_key=None,
        consumer_key="ck",
        consumer_secret="cs",
        token_id="ti",
        token_secret="ts",
    )
    assert isinstance(settings().credentials, TokenCredentials)


@pytest.mark.parametrize(
    ("extra", "named", "hint"),
    [
        ({"client_id": None}, "client_id", "OAuth 2.0 Client Credentials (M2M) Setup"),
        ({"certificate_id": ""}, "certificate_id", "OAuth 2.0 Client Credentials (M2M) Setup"),
        ({"private_key": None}, "private_key", "certificate you uploaded"),
        ({"account_id": None}, "account_id", "Company Information"),
        ({"auth_method": "tba"}, "consumer_key, consumer_secret, token_id, token_secret", "Access Tokens"),
    ],
)
def test_a_missing_field_is_named_with_where_it_comes_from(monkeypatch, extra, named, hint):
    use(monkeypatch, **extra)
    with pytest.raises(ConfigurationError, match="lacks") as raised:
        settings()
    assert named in str(raised.value) and hint in str(raised.value)


def test_a_wrong_auth_method_names_the_two_that_exist(monkeypatch):
    use(monkeypatch, auth_method="password")
    with pytest.raises(ConfigurationError, match="auth_method='password'.*'oauth2'.*'tba'"):
        settings()


def test_an_unknown_algorithm_names_the_ones_netsuite_accepts(monkeypatch):
    use(monkeypatch, algorithm="HS256")
    with pytest.raises(ConfigurationError, match="HS256.*PS256.*ES512"):
        settings()


def test_a_key_that_does_not_load_is_refused_without_quoting_it(monkeypatch):
    broken = EC_KEY.replace(KEY_LINE, KEY_LINE[::-1])
    use(monkeypatch, private_key=broken)
    with pytest.raises(ConfigurationError) as raised:
        settings()
    assert "private" in str(raised.value).lower()
    for line in broken.splitlines()[1:-1]:
        assert line not in str(raised.value)


def test_an_rsa_key_for_an_ec_algorithm_is_refused(monkeypatch):
    use(monkeypatch, private_key=RSA_KEY, algorithm="ES256")
    with pytest.raises(ConfigurationError, match="ES256"):
        settings()


def test_a_soap_connection_is_not_read_as_rest(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_NS_SOAP", json.dumps({"conn_type": "netsuite_soap", "extra": {"account_id": "1"}})
    )
    with pytest.raises(ConfigurationError, match="'netsuite_soap', not 'netsuite_rest'"):
        settings("ns_soap")


def test_test_button_names_the_missing_field_and_sends_nothing(monkeypatch):
    use(monkeypatch, client_id=None)
    ok, message = RestAsyncJobHook(netsuite_conn_id="ns_rest").test_connection()
    assert not ok
    assert "client_id" in message and "No request was sent" in message


def test_the_dispatch_picks_the_hook_by_connection_type(monkeypatch):
    use(monkeypatch)
    monkeypatch.setenv("AIRFLOW_CONN_NS_SOAP", json.dumps({"conn_type": "netsuite_soap", "extra": {}}))
    assert isinstance(job_hook("ns_rest"), RestAsyncJobHook)
    assert isinstance(job_hook("ns_soap"), SoapAsyncJobHook)


def test_the_private_key_is_registered_with_the_secrets_masker(monkeypatch):
    from airflow.sdk._shared.secrets_masker import redact
    from airflow.sdk.log import mask_secret  # noqa: F401  (the masker the hook uses)

    use(monkeypatch)
    settings()
    assert KEY_LINE not in str(redact(f"key line {KEY_LINE}"))
