"""Every answer the emulator gives validates against NetSuite's real 2023_2 schema when asked on
the 2023_2 port: Body children against platform.messages.xsd, fault details against
platform.faults.xsd."""

from __future__ import annotations

import httpx
import pytest
from lxml import etree

from airflow_asyncjob.netsuite.endpoints import namespaces
from airflow_asyncjob.netsuite.models import AsyncStatus
from airflow_asyncjob.testing.emulator import JobFailure, JobSpec, RecordResult, Timeline
from airflow_asyncjob.testing.emulator.jobs import RESULT_TYPES

from .conftest import (
    SOAP_ENV,
    XSI,
    SoapClient,
    base_refs,
    body_child,
    fault_of,
    job_fields,
    records,
    standalone,
)

V = "2023_2"
NS = namespaces(V)
INSTANT = Timeline(0, 0)


def valid(schema: etree.XMLSchema, element: etree._Element) -> etree._Element:
    document = standalone(element)
    assert schema.validate(document), schema.error_log
    return document


def initialize_records(payload: etree._Element, ns) -> None:
    item = etree.SubElement(payload, etree.QName(ns.messages, "initializeRecord"))
    etree.SubElement(item, etree.QName(ns.core, "type")).text = "invoice"
    etree.SubElement(item, etree.QName(ns.core, "reference"), internalId="42", type="salesOrder")


def search_record(payload: etree._Element, ns) -> None:
    search = etree.SubElement(payload, etree.QName(ns.messages, "searchRecord"))
    search.set(etree.QName(XSI, "type"), "listRel:CustomerSearch")


SUBMITS = {
    "asyncAddList": records("c-1", "c-2"),
    "asyncUpdateList": records("c-1"),
    "asyncUpsertList": records("c-1"),
    "asyncDeleteList": base_refs("101", "102"),
    "asyncGetList": base_refs("101"),
    "asyncInitializeList": initialize_records,
    "asyncSearch": search_record,
}


@pytest.mark.parametrize("operation", list(SUBMITS))
def test_submit_answer_validates(
    client: SoapClient, messages_schema: etree.XMLSchema, operation: str
) -> None:
    response = client.call(operation, V, SUBMITS[operation])
    assert response.status_code == 200, response.text
    answer = valid(messages_schema, body_child(response))
    assert answer.tag == f"{{{NS.messages}}}{operation}Response"
    assert answer.findtext(f"{{{NS.core}}}asyncStatusResult/{{{NS.core}}}status") == "pending"


def test_check_async_status_answer_validates(client: SoapClient, messages_schema: etree.XMLSchema) -> None:
    job_id = client.emulator.create_job(JobSpec(timeline=Timeline(0, 10)))
    answer = valid(messages_schema, body_child(client.call("checkAsyncStatus", V, job_fields(job_id))))
    result = answer.find(f"{{{NS.core}}}asyncStatusResult")
    assert [etree.QName(c).localname for c in result] == [
        "jobId",
        "status",
        "percentCompleted",
        "estRemainingDuration",
    ]
    assert result.findtext(f"{{{NS.core}}}status") == "processing"


def test_get_server_time_answer_validates(client: SoapClient, messages_schema: etree.XMLSchema) -> None:
    answer = valid(messages_schema, body_child(client.call("getServerTime", V)))
    assert answer.findtext(f".//{{{NS.core}}}serverTime").endswith("Z")


RECORDS = (
    RecordResult("c-1", "101", "customer"),
    RecordResult("c-2", None, "customer", False, "DUP_ENTITY", "This entity already exists."),
)


@pytest.mark.parametrize(
    ("operation", "outcome"),
    [
        (operation, outcome)
        for operation in RESULT_TYPES
        for outcome in ("finished", "finishedWithErrors", "failed")
        if not (operation == "asyncSearch" and outcome == "finishedWithErrors")  # no per-record results
    ],
)
def test_get_async_result_answer_validates(
    client: SoapClient, messages_schema: etree.XMLSchema, operation: str, outcome: str
) -> None:
    spec = JobSpec(
        operation,
        timeline=INSTANT,
        records=() if operation == "asyncSearch" else RECORDS[: 2 if outcome == "finishedWithErrors" else 1],
        failure=JobFailure() if outcome == "failed" else None,
        total_records=3 if operation == "asyncSearch" else 0,
        status=AsyncStatus(outcome),
    )
    job_id = client.emulator.create_job(spec)
    response = client.call("getAsyncResult", V, job_fields(job_id, 1))
    assert response.status_code == 200, response.text
    answer = valid(messages_schema, body_child(response))
    result = answer.find(f"{{{NS.messages}}}asyncResult")
    assert result.get(f"{{{XSI}}}type") == f"platformMsgs:{RESULT_TYPES[operation]}"
    statuses = result.findall(f".//{{{NS.core}}}status")
    assert statuses[0].get("isSuccess") == ("false" if outcome == "failed" else "true")
    if outcome != "finished":
        assert result.findtext(f".//{{{NS.core}}}code") in ("DUP_ENTITY", "UNEXPECTED_ERROR")


def test_failed_write_job_without_records_still_validates(
    client: SoapClient, messages_schema: etree.XMLSchema
) -> None:
    job_id = client.emulator.create_job(JobSpec("asyncAddList", timeline=INSTANT, failure=JobFailure()))
    valid(messages_schema, body_child(client.call("getAsyncResult", V, job_fields(job_id, 1))))


def test_write_response_carries_the_record_ref(client: SoapClient) -> None:
    job_id = client.emulator.create_job(JobSpec(timeline=INSTANT, records=RECORDS))
    answer = body_child(client.call("getAsyncResult", V, job_fields(job_id, 1)))
    refs = answer.findall(f".//{{{NS.messages}}}writeResponse/{{{NS.messages}}}baseRef")
    assert [dict(r.attrib) for r in refs] == [
        {
            f"{{{XSI}}}type": "platformCore:RecordRef",
            "internalId": "101",
            "externalId": "c-1",
            "type": "customer",
        },
        {f"{{{XSI}}}type": "platformCore:RecordRef", "externalId": "c-2", "type": "customer"},
    ]


def _fault_answers(client: SoapClient) -> dict[str, httpx.Response]:
    emulator = client.emulator
    running = emulator.create_job(JobSpec(timeline=Timeline(100, 100)))
    done = emulator.create_job(JobSpec(timeline=INSTANT))
    answers = {
        "INVALID_JOB_ID": client.call("checkAsyncStatus", V, job_fields("ASYNCWEBSERVICES_unknown")),
        "JOB_NOT_COMPLETE": client.call("getAsyncResult", V, job_fields(running, 1)),
        "INVALID_PAGE_INDEX": client.call("getAsyncResult", V, job_fields(done, 2)),
        "USER_ERROR": client.call("getServerTime", V, signature="AAAA"),
        "MAX_RCRDS_EXCEEDED": client.call("asyncUpsertList", V, records(*(f"c-{i}" for i in range(201)))),
    }
    for code in (
        "UNEXPECTED_ERROR",
        "ACCT_TEMP_UNAVAILABLE",
        "WS_REQUEST_BLOCKED",
        "WS_CONCUR_SESSION_DISALLWD",
    ):
        emulator.inject("soap_fault", code=code)
        answers[code] = client.call("checkAsyncStatus", V, job_fields(done))
    return answers


def test_every_fault_detail_validates(client: SoapClient, faults_schema: etree.XMLSchema) -> None:
    for code, response in _fault_answers(client).items():
        _, detail_code, _ = fault_of(response)
        assert detail_code == code
        fault = body_child(response)
        detail = fault.find("detail")
        platform_detail, hostname = list(detail)
        assert etree.QName(platform_detail).namespace == NS.faults
        assert hostname.tag == "{http://xml.apache.org/axis/}hostname"
        valid(faults_schema, platform_detail)
        assert fault.tag == f"{{{SOAP_ENV}}}Fault"
