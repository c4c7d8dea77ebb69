"""Helpers for the emulator tests: signed SOAP requests built with lxml, sent with httpx, and
NetSuite's real 2023_2 schemas for validating answers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from airflow_asyncjob.netsuite.auth import compute_signature, new_nonce
from airflow_asyncjob.netsuite.endpoints import SOAP_ENVELOPE_NAMESPACE as SOAP_ENV
from airflow_asyncjob.netsuite.endpoints import Namespaces, namespaces
from airflow_asyncjob.testing.emulator import DEFAULT_CREDENTIALS, Emulator

XSI = "http://www.w3.org/2001/XMLSchema-instance"
CREDENTIALS: dict[str, Any] = {"account": "1234567_SB1", **DEFAULT_CREDENTIALS}

Builder = Callable[[etree._Element, Namespaces], None]


def add_token_passport(header: etree._Element, ns: Namespaces, **overrides: Any) -> None:
    """A tokenPassport signed with auth.compute_signature; ``overrides`` replace any value
    (account, consumer_key, token_id, consumer_secret, token_secret, nonce, timestamp,
    signature, algorithm)."""
    values = {**CREDENTIALS, "nonce": new_nonce(), "timestamp": int(time.time()), "algorithm": "HMAC-SHA256"}
    values.update(overrides)
    signature = values.get("signature") or compute_signature(
        account=values["account"],
        consumer_key=values["consumer_key"],
        token_id=values["token_id"],
        nonce=values["nonce"],
        timestamp=values["timestamp"],
        consumer_secret=values["consumer_secret"],
        token_secret=values["token_secret"],
    )
    passport = etree.SubElement(header, etree.QName(ns.messages, "tokenPassport"))
    for name, key in (
        ("account", "account"),
        ("consumerKey", "consumer_key"),
        ("token", "token_id"),
        ("nonce", "nonce"),
        ("timestamp", "timestamp"),
    ):
        etree.SubElement(passport, etree.QName(ns.core, name)).text = str(values[key])
    etree.SubElement(
        passport, etree.QName(ns.core, "signature"), algorithm=values["algorithm"]
    ).text = signature


def soap_envelope(
    operation: str,
    version: str = "2025_2",
    build: Builder | None = None,
    *,
    passport: bool = True,
    application_info: bool = False,
    body_version: str | None = None,
    **passport_overrides: Any,
) -> bytes:
    """A request envelope for ``operation``; ``build(payload, ns)`` adds the payload's children.
    ``body_version`` puts the payload in another version's namespace."""
    ns = namespaces(version)
    envelope = etree.Element(etree.QName(SOAP_ENV, "Envelope"), nsmap={"soapenv": SOAP_ENV, "xsi": XSI})
    header = etree.SubElement(envelope, etree.QName(SOAP_ENV, "Header"))
    if passport:
        add_token_passport(header, ns, **passport_overrides)
    if application_info:
        info = etree.SubElement(header, etree.QName(ns.messages, "applicationInfo"))
        etree.SubElement(info, etree.QName(ns.messages, "applicationId")).text = "APP-1"
    body = etree.SubElement(envelope, etree.QName(SOAP_ENV, "Body"))
    payload_ns = namespaces(body_version or version)
    payload = etree.SubElement(
        body,
        etree.QName(payload_ns.messages, operation),
        nsmap={
            "platformMsgs": payload_ns.messages,
            "platformCore": payload_ns.core,
            "listRel": payload_ns.relationships,
        },
    )
    if build is not None:
        build(payload, payload_ns)
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def job_fields(job_id: str, page_index: int | None = None) -> Builder:
    def build(payload: etree._Element, ns: Namespaces) -> None:
        etree.SubElement(payload, etree.QName(ns.messages, "jobId")).text = job_id
        if page_index is not None:
            etree.SubElement(payload, etree.QName(ns.messages, "pageIndex")).text = str(page_index)

    return build


def records(*external_ids: str, record_type: str = "listRel:Customer") -> Builder:
    """``record`` elements (add/update/upsert) with the given externalIds."""

    def build(payload: etree._Element, ns: Namespaces) -> None:
        for external_id in external_ids:
            record = etree.SubElement(payload, etree.QName(ns.messages, "record"), externalId=external_id)
            record.set(etree.QName(XSI, "type"), record_type)

    return build


def base_refs(*internal_ids: str, record_type: str = "customer") -> Builder:
    """``baseRef`` RecordRefs (delete/get) with the given internalIds."""

    def build(payload: etree._Element, ns: Namespaces) -> None:
        for internal_id in internal_ids:
            ref = etree.SubElement(
                payload, etree.QName(ns.messages, "baseRef"), internalId=internal_id, type=record_type
            )
            ref.set(etree.QName(XSI, "type"), "platformCore:RecordRef")

    return build


class SoapClient:
    """Posts envelopes to an emulator's port and reads the answers."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.http = httpx.Client(base_url=emulator.base_url, timeout=10)

    def post(
        self, envelope: bytes, version: str = "2025_2", soap_action: str | None = None
    ) -> httpx.Response:
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        if soap_action is not None:
            headers["SOAPAction"] = soap_action
        return self.http.post(f"/services/NetSuitePort_{version}", content=envelope, headers=headers)

    def call(
        self, operation: str, version: str = "2025_2", build: Builder | None = None, **kwargs: Any
    ) -> httpx.Response:
        return self.post(
            soap_envelope(operation, version, build, **kwargs), version, soap_action=f'"{operation}"'
        )


def body_child(response: httpx.Response) -> etree._Element:
    """The Body's first child of an answer."""
    envelope = etree.fromstring(response.content)
    return envelope.find(f"{{{SOAP_ENV}}}Body")[0]


def fault_of(response: httpx.Response) -> tuple[str, str, str]:
    """(detail element local name, code, message) of a NetSuite fault answer."""
    assert response.status_code == 500, response.text
    fault = body_child(response)
    assert fault.tag == f"{{{SOAP_ENV}}}Fault"
    assert fault.findtext("faultcode") == "soapenv:Server.userException"
    detail = fault.find("detail")[0]
    code = detail.findtext(f"{{{etree.QName(detail).namespace}}}code")
    message = detail.findtext(f"{{{etree.QName(detail).namespace}}}message")
    assert fault.findtext("faultstring") == message
    return etree.QName(detail).localname, code, message


def standalone(element: etree._Element) -> etree._Element:
    """``element`` as the root of its own document (namespace declarations carried along)."""
    return etree.fromstring(etree.tostring(element))


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emulator(shared_emulator: Emulator) -> Emulator:
    """A running emulator with default settings, reset: no jobs, injections, stats or nonces."""
    shared_emulator.reset()
    return shared_emulator


@pytest.fixture
def client(emulator: Emulator) -> Iterator[SoapClient]:
    soap_client = SoapClient(emulator)
    yield soap_client
    soap_client.http.close()


@pytest.fixture(scope="session")
def messages_schema(netsuite_schema: etree.XMLSchema) -> etree.XMLSchema:
    """platform.messages.xsd of NetSuite's 2023_2 endpoint, with the record types the emulator
    returns (lists.relationships.xsd, transactions.sales.xsd): see tests/conftest.py."""
    return netsuite_schema


@pytest.fixture(scope="session")
def faults_schema(real_schema_dir: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(real_schema_dir / "xsd" / "platform.faults.xsd")))
