"""The tokenPassport header as the clients send it: rendered by zeep's schema element once per
attempt (``operations.soap_headers``), the same bytes zeep writes from the passport dict."""

from __future__ import annotations

import pytest
from lxml import etree

from airflow_asyncjob.netsuite import operations
from airflow_asyncjob.netsuite.auth import TokenCredentials, token_passport
from airflow_asyncjob.netsuite.endpoints import normalize_account_id
from airflow_asyncjob.netsuite.process_state import zeep_service

URL = "http://127.0.0.1:9/services/NetSuitePort_2023_2"
CREDENTIALS = TokenCredentials(
    account=normalize_account_id("1234567_SB1"),
    consumer_key="ck",
    consumer_secret="cs",
    token_id="tk",
    token_secret="ts",
)


def envelope(service, operation: str, body: dict, headers) -> bytes:
    message = service._binding._create(
        operation, (), {**body, "_soapheaders": headers}, client=service._client, options={"address": URL}
    )
    return etree.tostring(message[0])


@pytest.mark.parametrize(
    ("operation", "body", "records"),
    [
        ("checkAsyncStatus", {"jobId": "ASYNCWEBSERVICES_1234567_SB1_1_abc"}, False),
        ("getServerTime", {}, False),
        ("getAsyncResult", {"jobId": "ASYNCWEBSERVICES_1234567_SB1_1_abc", "pageIndex": 2}, True),
    ],
)
def test_rendered_header_sends_the_bytes_zeep_writes_from_the_dict(monkeypatch, operation, body, records):
    fixed = token_passport(CREDENTIALS, nonce="AbCdEf1234567890XyZw", timestamp=1700000000)
    monkeypatch.setattr(operations, "token_passport", lambda credentials: fixed)
    service = zeep_service("2023_2", URL, 60.0, records=records)
    signatures: list[str] = []

    rendered = operations.soap_headers(service, "2023_2", CREDENTIALS, signatures.append)

    assert envelope(service, operation, body, rendered) == envelope(
        service, operation, body, {"tokenPassport": fixed}
    )
    assert signatures == [fixed["signature"]["_value_1"]]  # type: ignore[index]


def test_every_rendered_header_has_its_own_nonce():
    service = zeep_service("2023_2", URL, 60.0, records=False)
    nonces = {
        operations.soap_headers(service, "2023_2", CREDENTIALS, None)[0].findtext("{*}nonce")
        for _ in range(3)
    }
    assert len(nonces) == 3
