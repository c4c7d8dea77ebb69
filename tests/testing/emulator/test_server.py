"""The HTTP side: concurrency limit, fault injection, admin API, WSDL, malformed requests, shutdown."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import requests
from lxml import etree

from airflow_asyncjob.netsuite.endpoints import namespaces
from airflow_asyncjob.testing.emulator import (
    DEFAULT_CREDENTIALS,
    EXAMPLE_JOB_IDS,
    Emulator,
    JobSpec,
    Scenario,
    Timeline,
)

from .conftest import SoapClient, body_child, fault_of, job_fields, records, soap_envelope


def client_fault(response: httpx.Response) -> str:
    assert response.status_code == 500
    fault = body_child(response)
    assert fault.findtext("faultcode") == "soapenv:Client"
    return fault.findtext("faultstring")


def test_requests_over_the_concurrency_limit_are_blocked() -> None:
    with Emulator(concurrency_limit=2) as emulator:
        emulator.inject("delay", seconds=1.0, times=6, operation="getServerTime")
        start_together = threading.Barrier(6)

        def call(_: int) -> httpx.Response:
            with httpx.Client(base_url=emulator.base_url, timeout=10) as http:
                start_together.wait()
                return http.post("/services/NetSuitePort_2025_2", content=soap_envelope("getServerTime"))

        with ThreadPoolExecutor(max_workers=6) as pool:
            responses = list(pool.map(call, range(6)))
        blocked = [r for r in responses if r.status_code == 500]
        assert {fault_of(r) for r in blocked} == {
            (
                "exceededConcurrentRequestLimitFault",
                "WS_REQUEST_BLOCKED",
                "SuiteTalk concurrent request limit exceeded. Request blocked.",
            )
        }
        assert 0 < len(blocked) < 6
        stats = emulator.stats()
        assert stats["max_in_flight"] == 2
        assert stats["faults"]["WS_REQUEST_BLOCKED"] == len(blocked)
        assert stats["in_flight"] == 0


def test_soap_fault_injection_is_one_shot_and_filtered_by_operation(client: SoapClient) -> None:
    emulator = client.emulator
    job_id = emulator.create_job(JobSpec(timeline=Timeline(0, 0)))
    emulator.inject("soap_fault", code="WS_REQUEST_BLOCKED", operation="checkAsyncStatus", times=2)
    assert client.call("getServerTime").status_code == 200
    assert fault_of(client.call("checkAsyncStatus", build=job_fields(job_id)))[1] == "WS_REQUEST_BLOCKED"
    assert fault_of(client.call("checkAsyncStatus", build=job_fields(job_id)))[1] == "WS_REQUEST_BLOCKED"
    assert client.call("checkAsyncStatus", build=job_fields(job_id)).status_code == 200
    assert emulator.stats()["injections_applied"] == {"soap_fault": 2}


def test_soap_fault_injection_with_own_type_code_and_message(client: SoapClient) -> None:
    client.emulator.inject(
        "soap_fault", fault_type="ExceededUsageLimitFault", code="EXCEEDED_USAGE_LIMIT", message="Slow down"
    )
    assert fault_of(client.call("getServerTime")) == (
        "exceededUsageLimitFault",
        "EXCEEDED_USAGE_LIMIT",
        "Slow down",
    )


@pytest.mark.parametrize("status", [503, 404, 502])
def test_http_error_injection_answers_an_html_page(client: SoapClient, status: int) -> None:
    client.emulator.inject("http_error", status=status)
    response = client.call("getServerTime")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text
    assert client.call("getServerTime").status_code == 200


def test_delay_injection_answers_normally_afterwards(client: SoapClient) -> None:
    client.emulator.inject("delay", seconds=0.2)
    response = client.call("getServerTime")
    assert response.status_code == 200
    assert etree.QName(body_child(response)).localname == "getServerTimeResponse"
    assert client.emulator.stats()["injections_applied"] == {"delay": 1}


def test_drop_injection_closes_the_connection_without_an_answer(client: SoapClient) -> None:
    emulator = client.emulator
    emulator.inject("drop", times=2)
    with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
        client.call("getServerTime")
    with pytest.raises(requests.ConnectionError, match="RemoteDisconnected"):
        requests.post(emulator.service_url(), data=soap_envelope("getServerTime"), timeout=10)
    assert client.call("getServerTime").status_code == 200


def test_raw_injection_answers_the_given_body(client: SoapClient) -> None:
    client.emulator.inject("raw", body="<not-soap/>", status=200, content_type="text/xml")
    response = client.call("getServerTime")
    assert (response.status_code, response.text, response.headers["content-type"]) == (
        200,
        "<not-soap/>",
        "text/xml",
    )


def test_admin_api_creates_jobs_queues_faults_and_reports(client: SoapClient) -> None:
    http = client.http
    created = http.post(
        "/_emulator/jobs",
        json={
            "job_id": "JOB-1",
            "pending_seconds": 0,
            "processing_seconds": 0,
            "records": [{"externalId": "c-1", "type": "customer"}],
        },
    )
    assert created.json() == {"job_id": "JOB-1"}
    assert http.post("/_emulator/faults", json={"kind": "soap_fault", "code": "UNEXPECTED_ERROR"}).json() == {
        "injections_pending": 1
    }
    assert fault_of(client.call("checkAsyncStatus", build=job_fields("JOB-1")))[1] == "UNEXPECTED_ERROR"
    assert client.call("checkAsyncStatus", build=job_fields("JOB-1")).status_code == 200
    stats = http.get("/_emulator/stats").json()
    assert stats["requests"] == {"checkAsyncStatus": 2}
    assert stats["faults"] == {"UNEXPECTED_ERROR": 1}
    logged = http.get("/_emulator/requests", params={"limit": 1}).json()
    assert [entry["operation"] for entry in logged] == ["checkAsyncStatus"]
    assert "JOB-1" in logged[0]["body"] and logged[0]["soap_action"] == '"checkAsyncStatus"'
    assert http.post("/_emulator/reset").json() == {"reset": True}
    assert http.get("/_emulator/stats").json()["requests"] == {}
    assert fault_of(client.call("checkAsyncStatus", build=job_fields("JOB-1")))[1] == "INVALID_JOB_ID"


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/_emulator/jobs", {"operation": "asyncFrobnicate"}),
        ("/_emulator/jobs", {"job_id": "X", "typo": 1}),
        ("/_emulator/faults", {"kind": "explode"}),
        ("/_emulator/faults", {"kind": "soap_fault", "code": "MADE_UP"}),
        ("/_emulator/faults", {"kind": "delay", "seconds": 1, "status": 500}),
    ],
)
def test_admin_api_refuses_bad_input(client: SoapClient, path: str, payload: dict) -> None:
    response = client.http.post(path, json=payload)
    assert response.status_code == 400
    assert response.json()["error"]


def test_submit_rules_from_the_scenario_make_records_fail() -> None:
    with Emulator(scenario=Scenario.example()) as emulator:
        soap_client = SoapClient(emulator)
        answer = body_child(soap_client.call("asyncUpsertList", build=records("c-1", "dup-2", "badref-3")))
        job_id = answer.findtext(f".//{{{namespaces('2025_2').core}}}jobId")
        emulator.jobs.clock = lambda: 2e9  # far in the future: the job is over
        page = emulator.jobs.get_result(job_id, 1)
        soap_client.http.close()
    assert [(r.external_id, r.code) for r in page.records] == [
        ("c-1", None),
        ("dup-2", "DUP_ENTITY"),
        ("badref-3", "INVALID_KEY_OR_REF"),
    ]


def test_example_scenario_jobs_are_served_by_their_fixed_ids() -> None:
    with Emulator(scenario=Scenario.example()) as emulator:
        soap_client = SoapClient(emulator)
        for job_id in EXAMPLE_JOB_IDS.values():
            answer = body_child(soap_client.call("checkAsyncStatus", build=job_fields(job_id)))
            assert answer.findtext(f".//{{{namespaces('2025_2').core}}}status") == "pending"
        soap_client.http.close()


def test_answers_use_the_namespaces_of_the_path_version(client: SoapClient) -> None:
    for version in ("2023_2", "2025_2", "2019_1"):
        answer = body_child(client.call("getServerTime", version))
        assert answer.tag == f"{{{namespaces(version).messages}}}getServerTimeResponse"


def test_a_body_of_another_version_is_a_client_fault(client: SoapClient) -> None:
    message = client_fault(client.call("getServerTime", "2025_2", body_version="2023_2"))
    assert "2023_2" in message and "NetSuitePort_2025_2" in message


def test_a_doctype_is_refused_and_entities_are_not_expanded(client: SoapClient) -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
        b'<getServerTime xmlns="urn:messages_2025_2.platform.webservices.netsuite.com">&e;</getServerTime>'
        b"</soapenv:Body></soapenv:Envelope>"
    )
    message = client_fault(client.post(evil))
    assert "DOCTYPE" in message and "root:" not in message


@pytest.mark.parametrize(
    ("body", "soap_action", "expected"),
    [
        (b"", None, "no body"),
        (b"<oops", None, "not well-formed"),
        (b"<Envelope/>", None, "not a SOAP 1.1 Envelope"),
        ("getServerTime", '"checkAsyncStatus"', "SOAPAction"),
        ("frobnicate", None, "No such operation 'frobnicate'"),
        ("checkAsyncStatus", None, "needs a jobId"),
    ],
)
def test_malformed_requests_are_client_faults(
    client: SoapClient, body: bytes | str, soap_action: str | None, expected: str
) -> None:
    # An operation name is built into a signed envelope here, not when the test is collected: its
    # passport's timestamp must be fresh (a full suite runs minutes after collection).
    request = soap_envelope(body) if isinstance(body, str) else body
    assert expected in client_fault(client.post(request, soap_action=soap_action))


def test_a_malformed_version_in_the_path_is_not_found(client: SoapClient) -> None:
    response = client.http.post("/services/NetSuitePort_2025", content=soap_envelope("getServerTime"))
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/wsdl/v2023_2_0/netsuite.wsdl", "/services/NetSuitePort_2023_2?wsdl"])
def test_wsdl_is_served_for_the_version_with_the_emulators_address(client: SoapClient, path: str) -> None:
    response = client.http.get(path)
    assert response.status_code == 200
    wsdl = etree.fromstring(response.content)
    assert wsdl.get("targetNamespace") == namespaces("2023_2").wsdl
    address = wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address.get("location") == client.emulator.service_url("2023_2")
    assert b"ENDPOINT_VERSION" not in response.content


def test_stop_frees_the_port_and_the_thread() -> None:
    emulator = Emulator().start()
    port, thread = emulator.port, emulator._thread
    assert thread is not None
    soap_client = SoapClient(emulator)
    assert soap_client.call("getServerTime").status_code == 200
    soap_client.http.close()
    emulator.stop()
    assert not thread.is_alive()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_airflow_connection_points_at_the_emulator(emulator: Emulator) -> None:
    connection = emulator.airflow_connection()
    assert connection == {
        "conn_type": "netsuite_soap",
        "host": emulator.base_url,
        "extra": {
            "account_id": "1234567_SB1",
            **DEFAULT_CREDENTIALS,
            "endpoint_version": "2025_2",
        },
    }
    assert emulator.base_url.startswith("http://127.0.0.1:") and emulator.port > 0
