"""Request values from dicts, typed by the compact schema shipped in the package (no network)."""

from __future__ import annotations

import io

import pytest
import zeep
from lxml import etree

from airflow_asyncjob.netsuite.endpoints import namespaces
from airflow_asyncjob.netsuite.faults import ConfigurationError
from airflow_asyncjob.netsuite.records import (
    RECORD_LIMITS,
    RecordBuilder,
    RecordCountError,
    build_request,
    chunked,
    record_to_dict,
)
from airflow_asyncjob.netsuite.schema import compact_wsdl

V = "2025_2"
NS = namespaces(V)
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


@pytest.fixture(scope="module")
def client() -> zeep.Client:
    return zeep.Client(io.BytesIO(compact_wsdl(V)))


@pytest.fixture(scope="module")
def builder(client: zeep.Client) -> RecordBuilder:
    return RecordBuilder(client, NS.core)


def body(client: zeep.Client, operation: str, **kwargs) -> etree._Element:
    envelope = client.create_message(client.service, operation, **kwargs)
    return envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]


def xsi_type(element: etree._Element) -> tuple[str, str]:
    prefix, name = element.get(XSI_TYPE).split(":")
    return element.nsmap[prefix], name


def test_a_customer_dict_becomes_a_typed_customer(client, builder):
    request = build_request(
        builder,
        "asyncUpsertList",
        [
            {
                "@type": "customer",
                "externalId": "cust-1",
                "companyName": "Acme",
                "subsidiary": {"internalId": "1"},
                "customFieldList": {
                    "customField": [
                        {"@type": "StringCustomFieldRef", "scriptId": "custentity_tier", "value": "gold"}
                    ]
                },
            }
        ],
    )
    record = body(client, "asyncUpsertList", **request)[0]
    assert xsi_type(record) == (NS.relationships, "Customer")
    assert record.get("externalId") == "cust-1"
    assert record.findtext(f"{{{NS.relationships}}}companyName") == "Acme"
    assert record.find(f"{{{NS.relationships}}}subsidiary").get("internalId") == "1"
    custom = record.find(f"{{{NS.relationships}}}customFieldList")[0]
    assert xsi_type(custom) == (NS.core, "StringCustomFieldRef")
    assert custom.findtext(f"{{{NS.core}}}value") == "gold"


def test_record_type_argument_types_records_without_their_own(client, builder):
    request = build_request(builder, "asyncAddList", [{"externalId": "so-1"}], record_type="salesOrder")
    record = body(client, "asyncAddList", **request)[0]
    assert xsi_type(record) == ("urn:sales_2025_2.transactions.webservices.netsuite.com", "SalesOrder")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"externalId": "c"}, "has no '@type'"),
        ({"@type": "vendorBill", "externalId": "c"}, "'vendorBill' is no Record type"),
        ({"@type": "customer", "compnyName": "typo"}, "Customer has no field 'compnyName'"),
        (
            {"@type": "customer", "customFieldList": {"customField": [{"scriptId": "x", "value": "1"}]}},
            "abstract type CustomFieldRef",
        ),
        ("not a dict", "must be a dict"),
    ],
)
def test_bad_records_name_what_is_wrong(builder, item, message):
    with pytest.raises(ConfigurationError, match=message) as caught:
        build_request(builder, "asyncAddList", [item])
    assert "records[0]" in str(caught.value)


def test_base_refs_need_a_type_and_an_id(client, builder):
    request = build_request(
        builder,
        "asyncDeleteList",
        [
            {"type": "customer", "internalId": "7"},
            {"externalId": "cust-2"},
            {"typeId": "12", "internalId": "3"},
        ],
        record_type="customer",
        deletion_reason={"deletionReasonCode": {"internalId": "2"}, "deletionReasonMemo": "duplicate"},
    )
    payload = body(client, "asyncDeleteList", **request)
    refs = payload.findall(f"{{{NS.messages}}}baseRef")
    assert [xsi_type(r)[1] for r in refs] == ["RecordRef", "RecordRef", "CustomRecordRef"]
    assert [(r.get("type"), r.get("internalId"), r.get("externalId")) for r in refs[:2]] == [
        ("customer", "7", None),
        ("customer", None, "cust-2"),
    ]
    assert payload.findtext(f"{{{NS.messages}}}deletionReason/{{{NS.core}}}deletionReasonMemo") == "duplicate"
    with pytest.raises(ConfigurationError, match="deletion_reason needs deletionReasonCode"):
        build_request(
            builder, "asyncDeleteList", [{"type": "customer", "internalId": "7"}], deletion_reason={"x": 1}
        )
    with pytest.raises(ConfigurationError, match="needs an internalId or an externalId"):
        build_request(builder, "asyncGetList", [{"type": "customer"}])
    with pytest.raises(ConfigurationError, match="needs its record type"):
        build_request(builder, "asyncGetList", [{"internalId": "1"}])


def test_a_search_is_typed_by_its_search_type(client, builder):
    request = build_request(
        builder,
        "asyncSearch",
        {
            "@type": "customerSearch",
            "basic": {
                "email": {"operator": "contains", "searchValue": "@example.com"},
                "isInactive": {"searchValue": False},
            },
        },
    )
    search = body(client, "asyncSearch", **request)[0]
    assert xsi_type(search) == (NS.relationships, "CustomerSearch")
    email = search.find(f"{{{NS.relationships}}}basic/{{{NS.common}}}email")
    assert (email.get("operator"), email.findtext(f"{{{NS.core}}}searchValue")) == (
        "contains",
        "@example.com",
    )


def test_initialize_records_carry_their_reference(client, builder):
    request = build_request(
        builder,
        "asyncInitializeList",
        [{"type": "salesOrder", "reference": {"type": "customer", "internalId": "5"}}],
    )
    item = body(client, "asyncInitializeList", **request)[0]
    assert item.findtext(f"{{{NS.core}}}type") == "salesOrder"
    assert item.find(f"{{{NS.core}}}reference").attrib["internalId"] == "5"


@pytest.mark.parametrize("operation", sorted(RECORD_LIMITS))
def test_more_records_than_the_limit_are_refused_before_sending(builder, operation):
    limit = RECORD_LIMITS[operation]
    item = {"@type": "customer", "externalId": "c"}
    item = (
        {"type": "customer", "internalId": "1"} if operation in ("asyncDeleteList", "asyncGetList") else item
    )
    with pytest.raises(RecordCountError) as caught:
        build_request(builder, operation, [item] * (limit + 1), record_type="customer")
    assert (caught.value.count, caught.value.limit) == (limit + 1, limit)
    assert f"limit of {limit} per {operation}" in str(caught.value)


def test_chunks_keep_order_and_respect_the_size():
    assert chunked(list(range(450)), 200)[-1] == list(range(400, 450))
    assert [len(c) for c in chunked(list(range(450)), 200)] == [200, 200, 50]
    assert chunked([], 200) == []


def test_record_to_dict_is_json_ready_and_keeps_the_type(client):
    customer = client.get_type(f"{{{NS.relationships}}}Customer")(
        internalId="5", companyName="Acme", creditLimit=1200.5, subsidiary={"internalId": "1"}
    )
    assert record_to_dict(customer) == {
        "@type": "Customer",
        "internalId": "5",
        "companyName": "Acme",
        "creditLimit": 1200.5,
        "subsidiary": {"internalId": "1"},
    }
