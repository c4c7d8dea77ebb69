"""getAsyncResult pages with one value over libxml2's default limit (10 MB in one text node, as
a File record's content from asyncGetList can be) parse, within the 100 MiB bound on such
answers; DTDs stay refused; and a page that would fail the same way again costs one request."""

from __future__ import annotations

import pytest
from lxml import etree

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.endpoints import namespaces
from airflow_asyncjob.netsuite.faults import NetSuiteResponseError, NetSuiteTransportError
from airflow_asyncjob.netsuite.retry import RetryPolicy

FAST_RETRY = RetryPolicy(max_attempts=3, max_delay=30, initial_wait=0.01, max_wait=0.05)
NS = namespaces("2025_2")
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
LIST_REL = "urn:relationships_2025_2.lists.webservices.netsuite.com"
TWELVE_MB = 12_000_000  # one text node over libxml2's 10,000,000-byte default


def hook() -> SoapAsyncJobHook:
    return SoapAsyncJobHook(retry=FAST_RETRY, timeout=30)


def get_list_page(comments: str) -> str:
    """A getAsyncResult answer of an asyncGetList job: one Customer whose ``comments`` holds
    ``comments`` (the schema types of NETSUITE.md "Operations")."""
    envelope = etree.Element(etree.QName(SOAP_ENV, "Envelope"), nsmap={"soapenv": SOAP_ENV})
    body = etree.SubElement(envelope, etree.QName(SOAP_ENV, "Body"))
    response = etree.SubElement(
        body,
        etree.QName(NS.messages, "getAsyncResultResponse"),
        nsmap={"platformMsgs": NS.messages, "platformCore": NS.core, "xsi": XSI, "listRel": LIST_REL},
    )
    result = etree.SubElement(response, etree.QName(NS.messages, "asyncResult"))
    result.set(etree.QName(XSI, "type"), "platformMsgs:AsyncGetListResult")
    responses = etree.SubElement(result, etree.QName(NS.messages, "readResponseList"))
    etree.SubElement(responses, etree.QName(NS.core, "status")).set("isSuccess", "true")
    item = etree.SubElement(responses, etree.QName(NS.messages, "readResponse"))
    etree.SubElement(item, etree.QName(NS.core, "status")).set("isSuccess", "true")
    record = etree.SubElement(item, etree.QName(NS.messages, "record"))
    record.set(etree.QName(XSI, "type"), "listRel:Customer")
    record.set("internalId", "7")
    etree.SubElement(record, etree.QName(LIST_REL, "comments")).text = comments
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8").decode()


@pytest.fixture
def job_id(emulator):
    return emulator.create_job({"operation": "asyncGetList", "records": [{"internalId": "7"}]})


def result_reads(emulator) -> int:
    return emulator.stats()["requests"]["getAsyncResult"]


@pytest.mark.parametrize("side", ["sync", "async"])
async def test_a_page_with_a_twelve_megabyte_value_parses_in_one_request(emulator, job_id, side):
    content = "0123456789" * (TWELVE_MB // 10)
    emulator.inject("raw", status=200, body=get_list_page(content), operation="getAsyncResult")
    if side == "sync":
        page = hook().get_async_result(job_id, 1)
    else:
        async with hook().get_async_conn() as client:
            page = await client.get_async_result(job_id, 1)
    assert [(r.is_success, r.record_type) for r in page.records] == [(True, "Customer")]
    record = page.records[0].record
    assert record is not None
    assert record["comments"] == content  # whole, not cut at 10 MB
    assert result_reads(emulator) == 1


def test_a_whole_page_that_is_not_well_formed_costs_one_of_the_twenty_reads(emulator, job_id):
    # A control character is not XML: the same bytes would be refused again, so no retry
    # spends another of the job's 20 getAsyncResult calls.
    body = get_list_page("x" * TWELVE_MB).replace("xxxx", "xx\x01x", 1)
    emulator.inject("raw", status=200, body=body, operation="getAsyncResult", times=None)
    with pytest.raises(NetSuiteTransportError, match="not well-formed, though the whole answer") as caught:
        hook().get_async_result(job_id, 1)
    assert not caught.value.transient
    assert result_reads(emulator) == 1


def test_a_doctype_after_a_long_prolog_is_refused_on_the_large_page_path(emulator, job_id):
    laughs = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    declaration, _, rest = get_list_page("LAUGHS" + "x" * TWELVE_MB).partition("?>")
    body = (
        f"{declaration}?>"
        + "<!-- padding -->" * 1000  # 16 KB of comments before the DOCTYPE
        + f'<!DOCTYPE soapenv:Envelope [<!ENTITY lol0 "lol">{laughs}]>'
        + rest.replace("LAUGHS", "&lol9;")
    )
    emulator.inject("raw", status=200, body=body, operation="getAsyncResult")
    with pytest.raises(NetSuiteResponseError, match="DOCTYPE, which is refused") as caught:
        hook().get_async_result(job_id, 1)
    assert "lollol" not in str(caught.value)
    assert result_reads(emulator) == 1
