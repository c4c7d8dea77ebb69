"""Conformance of the submit side with NetSuite's published 2023_2 schema (../shared/netsuite-wsdl/2023_2).

- Every submit envelope the hook sends (customers, sales orders, a customer search, baseRefs,
  initializeRecords) validates against the real messages, relationships and sales XSDs.
- getAsyncResult answers of all seven result types parse into typed results.
- Every type of the compact WSDL that NetSuite's schema also has keeps its elements in the real
  order (so any value zeep builds from it is valid there too).
"""

from __future__ import annotations

import time

import pytest
from lxml import etree

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.netsuite.schema import compact_wsdl
from airflow_asyncjob.testing.emulator import Timeline
from airflow_asyncjob.testing.emulator.jobs import SubmitDefaults

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSD = "http://www.w3.org/2001/XMLSchema"

CUSTOMER = {
    "@type": "customer",
    "externalId": "cust-1",
    "companyName": "Acme",
    "email": "ap@acme.example",
    "isPerson": False,
    "subsidiary": {"internalId": "1"},
    "creditLimit": 5000.0,
    "customFieldList": {
        "customField": [
            {"@type": "StringCustomFieldRef", "scriptId": "custentity_tier", "value": "gold"},
            {"@type": "SelectCustomFieldRef", "scriptId": "custentity_region", "value": {"internalId": "3"}},
        ]
    },
}
SALES_ORDER = {
    "@type": "salesOrder",
    "externalId": "so-1",
    "entity": {"externalId": "cust-1", "type": "customer"},
    "memo": "from Airflow",
    "billingAddress": {"addr1": "1 Main St", "city": "Springfield", "country": "_unitedStates"},
    "itemList": {"item": [{"item": {"internalId": "42"}, "quantity": 2, "rate": "9.50"}]},
}
SEARCH = {
    "@type": "customerSearch",
    "basic": {
        "email": {"operator": "contains", "searchValue": "@acme.example"},
        "isInactive": {"searchValue": False},
        "dateCreated": {"operator": "within", "predefinedSearchValue": "lastMonth"},
        "subsidiary": {"operator": "anyOf", "searchValue": [{"internalId": "1"}]},
    },
}
SUBMITS = [
    ("asyncAddList", [CUSTOMER, SALES_ORDER]),
    ("asyncUpdateList", [{"@type": "customer", "internalId": "7", "phone": "555-0100"}]),
    ("asyncUpsertList", [CUSTOMER]),
    ("asyncDeleteList", [{"type": "customer", "internalId": "7"}, {"typeId": "12", "externalId": "r-1"}]),
    ("asyncGetList", [{"type": "salesOrder", "internalId": "9"}]),
    ("asyncInitializeList", [{"type": "salesOrder", "reference": {"type": "customer", "internalId": "7"}}]),
    ("asyncSearch", SEARCH),
]


@pytest.fixture
def hook_2023_2(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", emulator.airflow_connection_json("2023_2"))
    monkeypatch.setattr(
        emulator.jobs, "submit_defaults", SubmitDefaults(timeline=Timeline(0.1, 0.2), search_total_records=2)
    )
    return SoapAsyncJobHook(retry=RetryPolicy(max_attempts=2, initial_wait=0.01, max_wait=0.02))


def wait_terminal(hook, job_id):
    for _ in range(100):
        if hook.check_async_status(job_id).status.is_terminal:
            return
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end")


@pytest.mark.parametrize(("operation", "items"), SUBMITS, ids=[op for op, _ in SUBMITS])
def test_every_submit_envelope_validates_against_the_real_schema(
    emulator, hook_2023_2, netsuite_schema, operation, items
):
    hook_2023_2.submit(
        operation,
        items,
        deletion_reason={"deletionReasonCode": {"internalId": "1"}, "deletionReasonMemo": "dup"}
        if "Delete" in operation
        else None,
    )
    request = emulator.requests()[-1]
    assert (request["operation"], request["endpoint_version"]) == (operation, "2023_2")
    body = etree.fromstring(request["body"].encode()).find(f"{{{SOAP_ENV}}}Body")[0]
    document = etree.fromstring(etree.tostring(body))
    assert netsuite_schema.validate(document), netsuite_schema.error_log


@pytest.mark.parametrize(("operation", "items"), SUBMITS, ids=[op for op, _ in SUBMITS])
def test_every_result_type_parses_into_typed_results(emulator, hook_2023_2, operation, items):
    job_id = hook_2023_2.submit(operation, items).job_id
    wait_terminal(hook_2023_2, job_id)
    page = hook_2023_2.get_async_result(job_id, 1)
    expected = (
        "AsyncSearchResult" if operation == "asyncSearch" else operation[0].upper() + operation[1:] + "Result"
    )
    assert page.result_type == expected
    assert page.is_success is True
    count = 1 if operation == "asyncSearch" else len(items)
    assert len(page.records) == (2 if operation == "asyncSearch" else count)
    for record in page.records:
        assert record.is_success and record.details == ()
        if operation in ("asyncGetList", "asyncInitializeList", "asyncSearch"):
            assert (
                record.record_type in ("Customer", "SalesOrder")
                and record.record["@type"] == record.record_type
            )
        else:
            assert record.base_ref is not None
    if operation == "asyncSearch":
        assert (page.total_records, page.total_pages, page.page_index) == (2, 1, 1)


def _types(root: etree._Element) -> dict[str, etree._Element]:
    return {t.get("name"): t for t in root.iter(f"{{{XSD}}}complexType") if t.get("name")}


def _members(complex_type: etree._Element) -> tuple[list[str], set[str]]:
    elements = [
        e.get("name") or e.get("ref", "").split(":")[-1] for e in complex_type.iter(f"{{{XSD}}}element")
    ]
    attributes = {a.get("name") for a in complex_type.iter(f"{{{XSD}}}attribute")}
    return elements, attributes


def _is_subsequence(part: list[str], whole: list[str]) -> bool:
    remaining = iter(whole)
    return all(name in remaining for name in part)


COMPACT_RECORD_TYPES = [
    "Customer",
    "CustomerSearch",
    "CustomerSearchBasic",
    "SalesOrder",
    "SalesOrderItemList",
    "SalesOrderItem",
    "Address",
    "CustomFieldList",
    "StringCustomFieldRef",
    "SelectCustomFieldRef",
    "SearchStringField",
    "SearchDateField",
    "SearchMultiSelectField",
]


def test_compact_types_keep_the_real_elements_in_the_real_order(real_schema_dir):
    compact = _types(etree.fromstring(compact_wsdl("2023_2")))
    real: dict[str, etree._Element] = {}
    for xsd in (
        "platform.core.xsd",
        "platform.common.xsd",
        "lists.relationships.xsd",
        "transactions.sales.xsd",
    ):
        real.update(_types(etree.parse(str(real_schema_dir / "xsd" / xsd)).getroot()))
    for name in COMPACT_RECORD_TYPES:
        ours, our_attributes = _members(compact[name])
        theirs, their_attributes = _members(real[name])
        assert ours and _is_subsequence(ours, theirs), name
        assert our_attributes <= their_attributes, name
    customer, _ = _members(compact["Customer"])
    assert {"companyName", "email", "subsidiary", "customFieldList", "externalId"} - set(customer) == {
        "externalId"
    }


ADDRESSBOOK_CUSTOMER = {
    "@type": "customer",
    "externalId": "cust-2",
    "companyName": "Initech",
    # a sublist the compact schema leaves out: only NetSuite's own WSDL has it
    "addressbookList": {"addressbook": [{"defaultBilling": True, "addressbookAddress": {"city": "Austin"}}]},
}


def test_netsuites_own_wsdl_from_a_local_copy_sends_every_field(
    emulator, monkeypatch, netsuite_schema, real_schema_dir
):
    from airflow_asyncjob.netsuite.faults import ConfigurationError

    with pytest.raises(ConfigurationError, match="no field 'addressbookList'"):
        SoapAsyncJobHook(retry=RetryPolicy(max_attempts=1)).submit("asyncAddList", [ADDRESSBOOK_CUSTOMER])
    conn = emulator.airflow_connection("2023_2")
    conn["extra"]["wsdl"] = str(real_schema_dir / "netsuite.wsdl")
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", __import__("json").dumps(conn))
    SoapAsyncJobHook(retry=RetryPolicy(max_attempts=1)).submit("asyncAddList", [ADDRESSBOOK_CUSTOMER])
    body = etree.fromstring(emulator.requests()[-1]["body"].encode()).find(f"{{{SOAP_ENV}}}Body")[0]
    assert "addressbookList" in etree.tostring(body).decode()
    assert netsuite_schema.validate(etree.fromstring(etree.tostring(body))), netsuite_schema.error_log


def test_a_wsdl_url_is_fetched_once_then_read_from_the_disk_cache(
    emulator, monkeypatch, tmp_path, real_schema_dir
):
    import functools
    import http.server
    import json
    import threading

    from airflow_asyncjob.netsuite.process_state import PROCESS_STATE

    fetched = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            fetched.append(self.path)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(real_schema_dir))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    PROCESS_STATE.reset()  # nothing loaded yet, as in a new process
    conn = emulator.airflow_connection("2023_2")
    conn["extra"]["wsdl"] = f"http://127.0.0.1:{server.server_address[1]}/netsuite.wsdl"
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
    try:
        SoapAsyncJobHook().submit("asyncAddList", [ADDRESSBOOK_CUSTOMER])
        first = len(fetched)
        PROCESS_STATE.reset()  # as in a new process
        SoapAsyncJobHook().submit("asyncAddList", [ADDRESSBOOK_CUSTOMER])
    finally:
        server.shutdown()
        server.server_close()
    assert first > 10  # the WSDL and its XSDs
    assert len(fetched) == first
    assert (tmp_path / "airflow-provider-asyncjob" / "wsdl.sqlite").exists()
