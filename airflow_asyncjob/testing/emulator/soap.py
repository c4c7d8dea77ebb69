"""NetSuite's SOAP 1.1 wire format for the emulator: parse request envelopes, build answers.

Keeps no state (the responses module in moto's split). Requests are parsed with lxml without
DTDs, entity expansion or network access; a DOCTYPE is refused. Answers are built with lxml
from the schema's element names, in the namespaces of the endpoint version of the request path
(``namespaces(V)``), in the shape NetSuite sends: a default-namespace ``<opResponse
xmlns="urn:messages_V...">`` with ``platformCore:`` children; faults as ``soapenv:Fault`` with
``soapenv:Server.userException``, a ``platformFaults:<lowerCamel fault type>`` detail and Axis's
``ns1:hostname``. Element order follows platform.messages.xsd and platform.core.xsd (2023_2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from lxml import etree

from airflow_asyncjob.netsuite.endpoints import SOAP_ENVELOPE_NAMESPACE as SOAP_ENV
from airflow_asyncjob.netsuite.endpoints import Namespaces, namespaces, version_of_namespace
from airflow_asyncjob.netsuite.models import AsyncJobStatus
from airflow_asyncjob.netsuite.schema import compact_wsdl
from airflow_asyncjob.testing.emulator.auth import TokenPassport
from airflow_asyncjob.testing.emulator.exceptions import ClientFault, EmulatedFault, ambiguous_authentication
from airflow_asyncjob.testing.emulator.jobs import (
    RESULT_TYPES,
    JobFailure,
    RecordRef,
    RecordResult,
    ResultPage,
)

XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
AXIS = "http://xml.apache.org/axis/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
HOSTNAME = "partners-java001.svale.netledger.com"
"""The Axis hostname real faults carry; any value does."""
CONTENT_TYPE = "text/xml; charset=utf-8"

OPERATIONS = (
    "getServerTime",
    "getAccountGovernanceInfo",
    "getIntegrationGovernanceInfo",
    "checkAsyncStatus",
    "getAsyncResult",
    *RESULT_TYPES,
)
WRITE_RESULTS = frozenset(
    {"AsyncAddListResult", "AsyncUpdateListResult", "AsyncUpsertListResult", "AsyncDeleteListResult"}
)

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
)


@dataclass(frozen=True)
class SoapRequest:
    """A parsed request: the operation (the Body child's local name), the endpoint version of
    the path, the Body child and the Header (or None)."""

    operation: str
    endpoint_version: str
    payload: etree._Element
    header: etree._Element | None

    @property
    def ns(self) -> Namespaces:
        return namespaces(self.endpoint_version)


def _children(element: etree._Element | None) -> list[etree._Element]:
    return [] if element is None else [c for c in element if isinstance(c.tag, str)]


def parse_request(body: bytes, endpoint_version: str, soap_action: str | None = None) -> SoapRequest:
    """Parse a request envelope sent to ``/services/NetSuitePort_<endpoint_version>``.

    A Body element in another endpoint version's namespace is refused with a ``soapenv:Client``
    fault naming both versions. NetSuite's answer to that mismatch is not documented; answering
    in either version would hide the client's mistake.

    Raises:
        ClientFault: not well-formed, a DOCTYPE, not a SOAP 1.1 envelope, no Body child, an
            unknown operation, another version's namespace, or a SOAPAction naming another operation.
    """
    if not body.strip():
        raise ClientFault("The request has no body.")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as error:
        raise ClientFault(f"The request is not well-formed XML: {error}") from None
    if root.getroottree().docinfo.doctype:
        raise ClientFault("A DOCTYPE is not allowed in a SOAP message.")
    if root.tag != etree.QName(SOAP_ENV, "Envelope").text:
        raise ClientFault(f"The request is not a SOAP 1.1 Envelope: {root.tag}")
    header = root.find(etree.QName(SOAP_ENV, "Header").text)
    payload = next(iter(_children(root.find(etree.QName(SOAP_ENV, "Body").text))), None)
    if payload is None:
        raise ClientFault("The SOAP Body is empty.")
    name = etree.QName(payload)
    ns = namespaces(endpoint_version)
    if name.namespace != ns.messages:
        other = version_of_namespace(name.namespace or "")
        if other is not None:
            raise ClientFault(
                f"The request uses the namespace of endpoint version {other} ({name.namespace}) "
                f"but was sent to NetSuitePort_{endpoint_version}."
            )
        raise ClientFault(f"No such operation '{name.localname}' in namespace {name.namespace!r}.")
    if name.localname not in OPERATIONS:
        raise ClientFault(f"No such operation '{name.localname}'.")
    action = (soap_action or "").strip().strip('"')
    if action and action != name.localname:
        raise ClientFault(f"The SOAPAction {action!r} does not match the operation '{name.localname}'.")
    return SoapRequest(name.localname, endpoint_version, payload, header)


def read_token_passport(request: SoapRequest) -> TokenPassport | None:
    """The ``platformMsgs:tokenPassport`` header's values, or None without one.

    Raises:
        EmulatedFault: the header also has ``applicationInfo`` (ambiguous authentication).
    """
    ns = request.ns
    header = request.header
    if header is None:
        return None
    passport = header.find(etree.QName(ns.messages, "tokenPassport").text)
    if passport is None:
        return None
    if header.find(etree.QName(ns.messages, "applicationInfo").text) is not None:
        raise ambiguous_authentication()

    def text(name: str) -> str:
        return (passport.findtext(etree.QName(ns.core, name).text) or "").strip()

    signature = passport.find(etree.QName(ns.core, "signature").text)
    return TokenPassport(
        account=text("account"),
        consumer_key=text("consumerKey"),
        token=text("token"),
        nonce=text("nonce"),
        timestamp=text("timestamp"),
        signature=text("signature"),
        algorithm=signature.get("algorithm", "") if signature is not None else "",
    )


def read_job_id(request: SoapRequest) -> str:
    """checkAsyncStatus / getAsyncResult ``jobId`` (surrounding whitespace dropped: Oracle's own
    example request has a line break inside it). Raises ClientFault when missing."""
    job_id = (request.payload.findtext(etree.QName(request.ns.messages, "jobId").text) or "").strip()
    if not job_id:
        raise ClientFault(f"{request.operation} needs a jobId.")
    return job_id


def read_page_index(request: SoapRequest) -> int:
    """getAsyncResult ``pageIndex`` (xsd:int). Raises ClientFault when missing or not an integer."""
    text = (request.payload.findtext(etree.QName(request.ns.messages, "pageIndex").text) or "").strip()
    try:
        return int(text)
    except ValueError:
        raise ClientFault(f"getAsyncResult needs an integer pageIndex, not {text!r}.") from None


def _lower_camel_type(element: etree._Element) -> str | None:
    """``xsi:type="listRel:Customer"`` -> ``customer`` (RecordType values are lowerCamel type names)."""
    value = element.get(etree.QName(XSI, "type").text)
    if not value:
        return None
    local = value.rsplit(":", 1)[-1]
    return local[:1].lower() + local[1:]


def read_search_record_type(request: SoapRequest) -> str | None:
    """asyncSearch: the RecordType searched, from the ``searchRecord``'s ``xsi:type``
    (``platformCommon:CustomerSearchBasic``, ``listRel:CustomerSearch`` -> ``customer``)."""
    search = request.payload.find(etree.QName(request.ns.messages, "searchRecord").text)
    name = _lower_camel_type(search) if search is not None else None
    if not name:
        return None
    for suffix in ("SearchBasic", "SearchAdvanced", "Search"):
        if name.endswith(suffix):
            return name[: -len(suffix)] or None
    return None


def read_record_refs(request: SoapRequest) -> list[RecordRef]:
    """The records a submit operation names, in request order.

    ``record`` (add/update/upsert): internalId/externalId attributes, type from ``xsi:type``;
    ``baseRef`` (delete/get): internalId/externalId and ``type`` (RecordRef) or ``typeId``
    (CustomRecordRef); ``initializeRecord``: the ``type`` child and ``reference`` attributes;
    asyncSearch: none.
    """
    ns = request.ns
    refs = []
    for child in _children(request.payload):
        name = etree.QName(child)
        if name.namespace != ns.messages:
            continue
        if name.localname == "record":
            refs.append(RecordRef(child.get("internalId"), child.get("externalId"), _lower_camel_type(child)))
        elif name.localname == "baseRef":
            record_type = child.get("type") or child.get("typeId")
            refs.append(RecordRef(child.get("internalId"), child.get("externalId"), record_type))
        elif name.localname == "initializeRecord":
            reference = child.find(etree.QName(ns.core, "reference").text)
            ref_attrs = reference.attrib if reference is not None else {}
            record_type = (child.findtext(etree.QName(ns.core, "type").text) or "").strip() or None
            refs.append(RecordRef(ref_attrs.get("internalId"), ref_attrs.get("externalId"), record_type))
    return refs


# ---- answers ---------------------------------------------------------------------------------


def _envelope() -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(
        etree.QName(SOAP_ENV, "Envelope"), nsmap={"soapenv": SOAP_ENV, "xsd": XSD, "xsi": XSI}
    )
    return envelope, etree.SubElement(envelope, etree.QName(SOAP_ENV, "Body"))


def _response(ns: Namespaces, name: str) -> tuple[etree._Element, etree._Element]:
    """Envelope and its ``<name xmlns="urn:messages_V...">`` Body child. The platformMsgs and
    platformCore prefixes are declared on it so ``xsi:type`` values resolve in the child alone."""
    envelope, body = _envelope()
    element = etree.SubElement(
        body,
        etree.QName(ns.messages, name),
        nsmap={None: ns.messages, "platformMsgs": ns.messages, "platformCore": ns.core},
    )
    return envelope, element


def _serialize(envelope: etree._Element) -> bytes:
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def _text(parent: etree._Element, qname: etree.QName, value: object) -> etree._Element:
    element = etree.SubElement(parent, qname)
    element.text = str(value)
    return element


def _status(
    parent: etree._Element,
    ns: Namespaces,
    is_success: bool,
    code: str | None = None,
    message: str | None = None,
) -> None:
    """``platformCore:status isSuccess=".."`` with one ERROR statusDetail when ``code`` is given."""
    status = etree.SubElement(
        parent, etree.QName(ns.core, "status"), isSuccess="true" if is_success else "false"
    )
    if code is not None:
        detail = etree.SubElement(status, etree.QName(ns.core, "statusDetail"), type="ERROR")
        _text(detail, etree.QName(ns.core, "code"), code)
        if message is not None:
            _text(detail, etree.QName(ns.core, "message"), message)


def async_status_response(endpoint_version: str, operation: str, status: AsyncJobStatus) -> bytes:
    """``<operation>Response`` (AsyncStatusResponse) with one ``platformCore:asyncStatusResult``:
    jobId, status, percentCompleted (percent), estRemainingDuration (seconds)."""
    ns = namespaces(endpoint_version)
    envelope, response = _response(ns, f"{operation}Response")
    result = etree.SubElement(response, etree.QName(ns.core, "asyncStatusResult"))
    _text(result, etree.QName(ns.core, "jobId"), status.job_id)
    _text(result, etree.QName(ns.core, "status"), status.status.value)
    _text(result, etree.QName(ns.core, "percentCompleted"), float(status.percent_completed))
    _text(result, etree.QName(ns.core, "estRemainingDuration"), float(status.est_remaining_duration))
    return _serialize(envelope)


def _record_status(
    parent: etree._Element, ns: Namespaces, record: RecordResult, failure: JobFailure | None
) -> None:
    """A record's own status, or the job's failure: in a failed job no record was written."""
    if failure is not None:
        _status(parent, ns, False, failure.code, failure.message)
    else:
        _status(parent, ns, record.success, record.code, record.message)


RECORD_TYPES = {
    "customer": ("listRel", "urn:relationships_{V}.lists.webservices.netsuite.com", "Customer"),
    "salesOrder": ("tranSales", "urn:sales_{V}.transactions.webservices.netsuite.com", "SalesOrder"),
}
"""RecordType -> (prefix, namespace, schema type) of the records the emulator returns in full
(getList, initializeList, search hits); others are answered with their status only."""


def _record(parent: etree._Element, qname: etree.QName, record: RecordResult, ns: Namespaces) -> None:
    """A returned record, ``xsi:type`` = its schema type (lists.relationships.xsd, transactions.sales.xsd)
    with its internalId/externalId; the emulator keeps no field values."""
    prefix, namespace, type_name = RECORD_TYPES[record.record_type or ""]
    namespace = namespace.replace("{V}", ns.version)
    element = etree.SubElement(parent, qname, nsmap={prefix: namespace})
    element.set(etree.QName(XSI, "type"), f"{prefix}:{type_name}")
    for attribute, value in (("internalId", record.internal_id), ("externalId", record.external_id)):
        if value is not None:
            element.set(attribute, value)


def _write_response(
    parent: etree._Element, ns: Namespaces, record: RecordResult, failure: JobFailure | None
) -> None:
    item = etree.SubElement(parent, etree.QName(ns.messages, "writeResponse"))
    _record_status(item, ns, record, failure)
    ref = etree.SubElement(item, etree.QName(ns.messages, "baseRef"))
    ref.set(etree.QName(XSI, "type"), "platformCore:RecordRef")
    for attribute, value in (
        ("internalId", record.internal_id),
        ("externalId", record.external_id),
        ("type", record.record_type),
    ):
        if value is not None:
            ref.set(attribute, value)


def async_result_response(endpoint_version: str, page: ResultPage) -> bytes:
    """GetAsyncResultResponse: ``asyncResult xsi:type="platformMsgs:<ResultType>"``.

    - add/update/upsert/delete: ``writeResponseList`` = list status + one ``writeResponse``
      (status, ``baseRef`` RecordRef) per record. In a failed job every record carries the
      job's failure detail; a failed job without records gets one writeResponse without
      baseRef (the schema requires at least one).
    - get/initialize: ``readResponseList`` = list status + one ``readResponse`` per record: its
      status and, when it succeeded and is of a type in RECORD_TYPES, the ``record`` (typed, with
      its ids; the emulator keeps no field values).
    - search: ``platformCore:searchResult`` = status, totalRecords, pageSize, totalPages,
      pageIndex, searchId and, for a search of a type in RECORD_TYPES, the page's ``recordList``.
    """
    ns = namespaces(endpoint_version)
    envelope, response = _response(ns, "getAsyncResultResponse")
    result = etree.SubElement(response, etree.QName(ns.messages, "asyncResult"))
    result.set(etree.QName(XSI, "type"), f"platformMsgs:{page.result_type}")
    failure = page.failure
    code, message = (failure.code, failure.message) if failure else (None, None)
    if page.result_type == "AsyncSearchResult":
        search = etree.SubElement(result, etree.QName(ns.core, "searchResult"))
        _status(search, ns, failure is None, code, message)
        for name, value in (
            ("totalRecords", page.total_records),
            ("pageSize", page.page_size),
            ("totalPages", page.total_pages),
            ("pageIndex", page.page_index),
            ("searchId", page.search_id),
        ):
            _text(search, etree.QName(ns.core, name), value)
        hits = [r for r in page.records if r.record_type in RECORD_TYPES]
        if hits:
            record_list = etree.SubElement(search, etree.QName(ns.core, "recordList"))
            for hit in hits:
                _record(record_list, etree.QName(ns.core, "record"), hit, ns)
    elif page.result_type in WRITE_RESULTS:
        responses = etree.SubElement(result, etree.QName(ns.messages, "writeResponseList"))
        _status(responses, ns, failure is None, code, message)
        for record in page.records:
            _write_response(responses, ns, record, failure)
        if not page.records:
            item = etree.SubElement(responses, etree.QName(ns.messages, "writeResponse"))
            _status(item, ns, failure is None, code, message)
    else:
        responses = etree.SubElement(result, etree.QName(ns.messages, "readResponseList"))
        _status(responses, ns, failure is None, code, message)
        for record in page.records:
            item = etree.SubElement(responses, etree.QName(ns.messages, "readResponse"))
            _record_status(item, ns, record, failure)
            if failure is None and record.success and record.record_type in RECORD_TYPES:
                _record(item, etree.QName(ns.messages, "record"), record, ns)
    return _serialize(envelope)


def server_time_response(endpoint_version: str, now: float) -> bytes:
    """getServerTimeResponse: ``platformCore:getServerTimeResult`` with status and serverTime
    (xsd:dateTime, UTC, milliseconds). ``now`` is Unix seconds."""
    ns = namespaces(endpoint_version)
    envelope, response = _response(ns, "getServerTimeResponse")
    result = etree.SubElement(response, etree.QName(ns.core, "getServerTimeResult"))
    _status(result, ns, True)
    stamp = datetime.fromtimestamp(now, tz=timezone.utc).isoformat(timespec="milliseconds")
    _text(result, etree.QName(ns.core, "serverTime"), stamp.replace("+00:00", "Z"))
    return _serialize(envelope)


def account_governance_response(endpoint_version: str, account_limit: int, unallocated_limit: int) -> bytes:
    """getAccountGovernanceInfoResponse: ``platformCore:getAccountGovernanceInfoResult`` with
    status, accountConcurrencyLimit and unallocatedConcurrencyLimit (platform.core.xsd)."""
    ns = namespaces(endpoint_version)
    envelope, response = _response(ns, "getAccountGovernanceInfoResponse")
    result = etree.SubElement(response, etree.QName(ns.core, "getAccountGovernanceInfoResult"))
    _status(result, ns, True)
    _text(result, etree.QName(ns.core, "accountConcurrencyLimit"), account_limit)
    _text(result, etree.QName(ns.core, "unallocatedConcurrencyLimit"), unallocated_limit)
    return _serialize(envelope)


def integration_governance_response(endpoint_version: str, integration_limit: int | None) -> bytes:
    """getIntegrationGovernanceInfoResponse: ``platformCore:getIntegrationGovernanceInfoResult``
    with status, then integrationConcurrencyLimit and limitType ``_integrationSpecific`` when
    the integration has its own allocation, else limitType ``_account`` alone (the schema's
    GetIntegrationGovernanceInfoLimitType; the Help Center shows no limit without one)."""
    ns = namespaces(endpoint_version)
    envelope, response = _response(ns, "getIntegrationGovernanceInfoResponse")
    result = etree.SubElement(response, etree.QName(ns.core, "getIntegrationGovernanceInfoResult"))
    _status(result, ns, True)
    if integration_limit is not None:
        _text(result, etree.QName(ns.core, "integrationConcurrencyLimit"), integration_limit)
    _text(
        result, etree.QName(ns.core, "limitType"), "_integrationSpecific" if integration_limit else "_account"
    )
    return _serialize(envelope)


def _fault(faultcode: str, faultstring: str) -> tuple[etree._Element, etree._Element]:
    """Envelope with ``soapenv:Fault`` (unqualified faultcode, faultstring, detail) and the
    Axis hostname in the detail; returns the envelope and the detail element."""
    envelope, body = _envelope()
    fault = etree.SubElement(body, etree.QName(SOAP_ENV, "Fault"))
    _text(fault, "faultcode", faultcode)
    _text(fault, "faultstring", faultstring)
    detail = etree.SubElement(fault, "detail")
    hostname = etree.SubElement(detail, etree.QName(AXIS, "hostname"), nsmap={"ns1": AXIS})
    hostname.text = HOSTNAME
    return envelope, detail


def fault_response(endpoint_version: str, fault: EmulatedFault) -> bytes:
    """A NetSuite fault: ``soapenv:Server.userException``, faultstring = the message, detail
    ``platformFaults:<faultType in lowerCamel>`` with code and message (platform.faults.xsd)."""
    ns = namespaces(endpoint_version)
    envelope, detail = _fault("soapenv:Server.userException", fault.message)
    element_name = fault.fault_type[:1].lower() + fault.fault_type[1:]
    element = etree.Element(etree.QName(ns.faults, element_name), nsmap={"platformFaults": ns.faults})
    _text(element, etree.QName(ns.faults, "code"), fault.code)
    _text(element, etree.QName(ns.faults, "message"), fault.message)
    detail.insert(0, element)
    return _serialize(envelope)


def client_fault_response(fault: ClientFault) -> bytes:
    """A SOAP 1.1 ``soapenv:Client`` fault (the request itself is wrong), without a NetSuite detail."""
    envelope, _ = _fault("soapenv:Client", str(fault))
    return _serialize(envelope)


def render_wsdl(endpoint_version: str, location: str) -> bytes:
    """The shipped compact WSDL for ``endpoint_version`` with its soap:address set to ``location``."""
    root = etree.fromstring(compact_wsdl(endpoint_version), _PARSER)
    for address in root.iter(etree.QName(WSDL_SOAP, "address").text):
        address.set("location", location)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
