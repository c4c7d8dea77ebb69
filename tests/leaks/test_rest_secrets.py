"""No REST secret leaves: the OAuth 2.0 private key, the JWT assertions and access tokens, the TBA
secrets and every TBA signature sent are absent from DEBUG logs (oauthlib, httpx, ours), exception
messages, trigger payloads of errors and reprs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from airflow_asyncjob.netsuite.auth import TokenCredentials
from airflow_asyncjob.netsuite.endpoints import normalize_account_id
from airflow_asyncjob.netsuite.faults import NetSuiteError
from airflow_asyncjob.netsuite.rest.auth import TOKENS, ClientCredentials
from airflow_asyncjob.netsuite.rest.client import RestClient
from airflow_asyncjob.netsuite.rest.settings import RestSettings
from airflow_asyncjob.netsuite.retry import RetryPolicy

LOGGERS = ("", "oauthlib", "httpx", "httpcore", "airflow_asyncjob")
JOB = "/services/rest/async/v1/job"
TOKEN = "AT-secret-access-token-9c1d"
NO_WAIT = RetryPolicy(max_attempts=2, max_delay=5.0, initial_wait=0.0, max_wait=0.0)


@pytest.fixture
def debug_logs() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    saved = {}
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    TOKENS.clear()
    yield buffer
    TOKENS.clear()
    for name in LOGGERS:
        logging.getLogger(name).removeHandler(handler)
        logging.getLogger(name).setLevel(saved[name])


def _answers(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/token"):
        return httpx.Response(200, json={"access_token": TOKEN, "expires_in": "3600"})
    if request.url.path == f"{JOB}/1":
        return httpx.Response(200, json={"completed": False, "progress": "pending"})
    detail = {"detail": "Invalid login attempt.", "o:errorCode": "INVALID_LOGIN"}
    return httpx.Response(401, json={"status": 401, "o:errorDetails": [detail]})


def _run(settings: RestSettings, seen: list[httpx.Request]) -> list[str]:
    """Two polls and one refused request; returns what the errors show."""

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(
            httpx.Request(request.method, request.url, headers=request.headers.copy(), content=request.read())
        )
        return _answers(request)

    shown = []
    with RestClient(settings, retry=NO_WAIT, transport=httpx.MockTransport(record)) as client:
        client.check_async_status("1")
        client.check_async_status("1")
        with pytest.raises(NetSuiteError) as caught:
            client.check_async_status("2")
        shown += [str(caught.value), repr(caught.value), json.dumps(caught.value.to_payload())]
        shown += [repr(client.auth), repr(settings), repr(settings.credentials)]
    return shown


def test_oauth2_key_assertion_and_token_never_show(debug_logs):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    credentials = ClientCredentials(normalize_account_id("1234567"), "client", "cert", pem, algorithm="ES256")
    seen: list[httpx.Request] = []
    shown = _run(RestSettings(credentials), seen)
    assertions = [
        dict(parse_qsl(r.content.decode()))["client_assertion"] for r in seen if r.url.path.endswith("/token")
    ]
    assert assertions
    secrets = [TOKEN, *assertions, *(line for line in pem.splitlines()[1:-1] if len(line) > 16)]
    everything = debug_logs.getvalue() + "\n".join(shown)
    for secret in secrets:
        assert secret not in everything


def test_tba_secrets_and_signatures_never_show(debug_logs):
    credentials = TokenCredentials(
        normalize_account_id("1234567_SB1"), "ck", "CS-tba-secret-41f2", "tk", "TS-tba-secret-83e0"
    )
    seen: list[httpx.Request] = []
    shown = _run(RestSettings(credentials), seen)
    signatures = []
    for request in seen:
        for part in request.headers["authorization"].split(","):
            name, _, value = part.strip().partition("=")
            if name == "oauth_signature":
                signatures.append(unquote(value.strip('"')))
    assert len(signatures) == 3
    everything = debug_logs.getvalue() + "\n".join(shown)
    for secret in ["CS-tba-secret-41f2", "TS-tba-secret-83e0", *signatures]:
        assert secret not in everything
