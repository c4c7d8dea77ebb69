"""Request bodies for the seven async submit operations, from plain dicts, typed by the loaded schema.

Values come in NetSuite's own field names, as JSON-ready dicts (from XCom, a file or arguments):

- a **record** (asyncAddList, asyncUpdateList, asyncUpsertList): ``{"@type": "customer",
  "externalId": "cust-1", "companyName": "Acme", "subsidiary": {"internalId": "1"}}``. ``@type``
  is the record type as in NetSuite's RecordType (``customer``, ``salesOrder``) or the schema
  type's name (``Customer``); the operation's ``record_type`` stands in for it when absent.
- a **baseRef** (asyncDeleteList, asyncGetList): ``{"type": "customer", "internalId": "42"}`` or
  ``{"type": "customer", "externalId": "cust-1"}`` (platformCore:RecordRef); with ``typeId`` or
  ``scriptId`` a platformCore:CustomRecordRef.
- an **initializeRecord** (asyncInitializeList): ``{"type": "salesOrder", "reference":
  {"type": "customer", "internalId": "42"}}`` (platformCore:InitializeRecord).
- a **search record** (asyncSearch): ``{"@type": "customerSearchBasic", "email":
  {"operator": "contains", "searchValue": "@example.com"}}``, or ``customerSearch`` with
  ``basic`` and joins.

Where the schema declares an abstract type (a custom field in ``customFieldList``, say), the dict
names its concrete type with ``@type``: ``{"@type": "StringCustomFieldRef", "scriptId":
"custentity_tier", "value": "gold"}``. ``@type`` is never a NetSuite field name (they are
identifiers), so it cannot collide with one.

zeep then serialises each value with ``xsi:type`` from the schema of the endpoint version the
client loaded: the compact WSDL shipped in ``schema/`` (Customer, SalesOrder, Address,
CustomerSearch, CustomerSearchBasic, custom field and search field types; see docs/operators.md),
or NetSuite's full WSDL when the connection names one. Imports nothing from Airflow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from zeep.helpers import serialize_object
from zeep.xsd.types.complex import ComplexType

from airflow_asyncjob.netsuite.faults import ConfigurationError

TYPE_KEY = "@type"
"""The dict key naming a value's concrete schema type (record type or type name)."""

RECORD_LIMITS = {
    "asyncAddList": 400,
    "asyncUpdateList": 200,
    "asyncUpsertList": 200,
    "asyncDeleteList": 400,
    "asyncGetList": 2000,
}
"""Records per request (Help Center "SOAP Web Services Governance Overview", section_3771740553);
NetSuite answers more with ExceededRecordCountFault MAX_RCRDS_EXCEEDED."""

RECORD_OPERATIONS = ("asyncAddList", "asyncUpdateList", "asyncUpsertList")
REF_OPERATIONS = ("asyncDeleteList", "asyncGetList")
SUBMIT_OPERATIONS = (*RECORD_OPERATIONS, *REF_OPERATIONS, "asyncInitializeList", "asyncSearch")
"""The seven async submit operations (platform.messages.xsd), in the order NetSuite lists them."""

_ABSTRACT_TYPES = frozenset(
    {
        "Record",
        "SearchRecord",
        "SearchRecordBasic",
        "SearchRow",
        "SearchRowBasic",
        "BaseRef",
        "CustomFieldRef",
        "DimensionRef",
        "SearchCustomField",
        "SearchColumnField",
        "SearchColumnCustomField",
        "AttachReference",
        "DetachReference",
        "CustomFieldType",
    }
)
"""Every ``abstract="true"`` complex type of platform.core.xsd and friends (2023_2): zeep does
not keep the flag, and a value of one of these must name its concrete type."""


def check_record_count(operation: str, count: int) -> None:
    """Raise RecordCountError when ``count`` records exceed NetSuite's limit for ``operation``."""
    limit = RECORD_LIMITS.get(operation)
    if limit is not None and count > limit:
        raise RecordCountError(operation, count, limit)
    if count < 1 and operation != "asyncSearch":
        raise ConfigurationError(
            f"{operation} needs at least one record; none were given.", operation=operation
        )


class RecordCountError(ConfigurationError):
    """More records than one request of the operation may carry; raised before anything is sent.

    Attributes:
        count: records given. limit: NetSuite's per-request limit for the operation.
    """

    def __init__(self, operation: str, count: int, limit: int) -> None:
        self.count = count
        self.limit = limit
        super().__init__(
            f"{count} records exceed NetSuite's limit of {limit} per {operation} request "
            "(Governance Overview; NetSuite would answer MAX_RCRDS_EXCEEDED).",
            operation=operation,
            hint=f"Split them into jobs of at most {limit} (the submit operator's split_over_limit=True).",
        )


def chunked(items: Sequence[Any], size: int) -> list[list[Any]]:
    """``items`` in consecutive lists of at most ``size`` (order kept; empty input -> [])."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


class RecordBuilder:
    """Turns dicts into zeep values of the schema one zeep client loaded.

    Args:
        zeep_client: a zeep Client over the compact or the official WSDL.
        core_namespace: ``urn:core_<V>.platform.webservices.netsuite.com`` of that schema.

    Every method raises ConfigurationError naming the value (``records[3].subsidiary``), the
    field and what the schema allows.
    """

    def __init__(self, zeep_client: Any, core_namespace: str) -> None:
        self.client = zeep_client
        self.core = core_namespace
        self._subtypes: dict[str, dict[str, Any]] = {}

    def _core_type(self, name: str) -> Any:
        return self.client.get_type(f"{{{self.core}}}{name}")

    def _concrete(self, base_name: str) -> dict[str, Any]:
        """lower-cased local name -> type, for the concrete types deriving from ``base_name``."""
        found = self._subtypes.get(base_name)
        if found is None:
            base = self._core_type(base_name)._value_class
            found = {}
            for xsd_type in self.client.wsdl.types.types:
                value_class = getattr(xsd_type, "_value_class", None)
                if value_class is None or xsd_type.qname is None:
                    continue
                if base in getattr(xsd_type, "accepted_types", ()) and not _is_abstract(xsd_type):
                    found[xsd_type.qname.localname.lower()] = xsd_type
            self._subtypes[base_name] = found
        return found

    def _subtype(self, base_name: str, name: Any, where: str) -> Any:
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(f"{where}: {TYPE_KEY} must name a type, got {name!r}.")
        candidates = self._concrete(base_name)
        found = candidates.get(name.strip().lower())
        if found is None:
            known = ", ".join(sorted(t.qname.localname for t in candidates.values()))
            raise ConfigurationError(
                f"{where}: {name!r} is no {base_name} type of the loaded schema. It has: {known}.",
                hint="Types outside the compact schema shipped with this package need NetSuite's own "
                "WSDL: set the connection's extra 'wsdl' (see docs/operators.md).",
            )
        return found

    # -- the four kinds of request value ------------------------------------------------------

    def record(self, data: Any, *, record_type: str | None = None, where: str = "record") -> Any:
        """A platformCore:Record subtype (e.g. listRel:Customer) from its dict."""
        data = _mapping(data, where)
        name = data.get(TYPE_KEY) or record_type
        if not name:
            raise ConfigurationError(
                f"{where} has no {TYPE_KEY!r} (e.g. 'customer', 'salesOrder') and no record_type was given."
            )
        return self._build(self._subtype("Record", name, where), _without_type(data), where)

    def base_ref(self, data: Any, *, record_type: str | None = None, where: str = "baseRef") -> Any:
        """A RecordRef (``type`` + ``internalId``/``externalId``) or, with ``typeId``/``scriptId``,
        a CustomRecordRef."""
        data = _mapping(data, where)
        if not (data.get("internalId") or data.get("externalId")):
            raise ConfigurationError(f"{where} needs an internalId or an externalId: {_short(data)}")
        if TYPE_KEY in data:
            xsd_type = self._subtype("BaseRef", data[TYPE_KEY], where)
        elif "typeId" in data or "scriptId" in data:
            xsd_type = self._core_type("CustomRecordRef")
        else:
            xsd_type = self._core_type("RecordRef")
            if not data.get("type") and record_type:
                data = {**data, "type": record_type}
            if not data.get("type"):
                raise ConfigurationError(
                    f"{where} needs its record type ('type', e.g. 'customer'): {_short(data)}"
                )
        return self._build(xsd_type, _without_type(data), where)

    def initialize_record(self, data: Any, *, where: str = "initializeRecord") -> Any:
        """A platformCore:InitializeRecord: ``type`` (InitializeType), ``reference``, ``auxReference``,
        ``referenceList``."""
        data = _mapping(data, where)
        if not data.get("type"):
            raise ConfigurationError(f"{where} needs 'type' (InitializeType, e.g. 'salesOrder').")
        return self._build(self._core_type("InitializeRecord"), data, where)

    def search_record(self, data: Any, *, where: str = "searchRecord") -> Any:
        """A platformCore:SearchRecord subtype named by ``@type`` (``customerSearchBasic``,
        ``customerSearch``, ...)."""
        data = _mapping(data, where)
        if TYPE_KEY not in data:
            raise ConfigurationError(
                f"{where} needs {TYPE_KEY!r}: the search type, "
                "e.g. 'customerSearchBasic' or 'customerSearch'."
            )
        return self._build(self._subtype("SearchRecord", data[TYPE_KEY], where), _without_type(data), where)

    # -- generic ------------------------------------------------------------------------------

    def _build(self, xsd_type: Any, data: Mapping[str, Any], where: str) -> Any:
        elements = dict(xsd_type.elements)
        attributes = dict(xsd_type.attributes)
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key in attributes:
                values[key] = value
            elif key in elements:
                element = elements[key]
                many = element.max_occurs == "unbounded" or (
                    isinstance(element.max_occurs, int) and element.max_occurs > 1
                )
                values[key] = self._value(element.type, value, f"{where}.{key}", many)
            else:
                fields = ", ".join([*attributes, *elements]) or "none"
                raise ConfigurationError(
                    f"{where}: {xsd_type.qname.localname} has no field {key!r} in the loaded schema. "
                    f"Its fields: {fields}.",
                    hint="Check the spelling (NetSuite's lowerCamel names). Fields the compact schema "
                    "leaves out need NetSuite's own WSDL: set the connection's extra 'wsdl'.",
                )
        return xsd_type(**values)

    def _value(self, xsd_type: Any, value: Any, where: str, many: bool) -> Any:
        if value is None:
            return None
        if many and isinstance(value, (list, tuple)):
            return [self._value(xsd_type, item, f"{where}[{i}]", False) for i, item in enumerate(value)]
        if not isinstance(xsd_type, ComplexType) or not isinstance(value, Mapping):
            return value  # a simple value, or a zeep object built by the caller
        name = xsd_type.qname.localname if xsd_type.qname is not None else ""
        if TYPE_KEY in value:
            concrete = self._subtype(name, value[TYPE_KEY], where)
        elif name in _ABSTRACT_TYPES:
            known = ", ".join(sorted(t.qname.localname for t in self._concrete(name).values()))
            raise ConfigurationError(
                f"{where} is of the abstract type {name}: name its concrete type with {TYPE_KEY!r} "
                f"(one of {known})."
            )
        else:
            concrete = xsd_type
        return self._build(concrete, _without_type(value), where)


def build_request(
    builder: RecordBuilder,
    operation: str,
    items: Any,
    *,
    record_type: str | None = None,
    deletion_reason: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The keyword arguments of one submit request (``record=[...]``, ``baseRef=[...]``, ...).

    ``items`` is a list of dicts for the list operations and one dict for asyncSearch.

    Raises:
        ConfigurationError: an unknown operation, bad values, or (RecordCountError) more records
            than the operation's limit.
    """
    if operation not in SUBMIT_OPERATIONS:
        raise ConfigurationError(
            f"operation {operation!r} is not an async submit operation; "
            f"use one of {', '.join(SUBMIT_OPERATIONS)}."
        )
    if operation == "asyncSearch":
        if not isinstance(items, Mapping):
            raise ConfigurationError("asyncSearch takes one search record (a dict).", operation=operation)
        return {"searchRecord": builder.search_record(items)}
    items = list(_sequence(items, operation))
    check_record_count(operation, len(items))
    if operation in RECORD_OPERATIONS:
        return {
            "record": [
                builder.record(item, record_type=record_type, where=f"records[{i}]")
                for i, item in enumerate(items)
            ]
        }
    if operation in REF_OPERATIONS:
        body: dict[str, Any] = {
            "baseRef": [
                builder.base_ref(item, record_type=record_type, where=f"records[{i}]")
                for i, item in enumerate(items)
            ]
        }
        if deletion_reason and operation == "asyncDeleteList":
            if not _mapping(deletion_reason, "deletion_reason").get("deletionReasonCode"):
                raise ConfigurationError(
                    "deletion_reason needs deletionReasonCode, a RecordRef to a deletion reason "
                    "({'internalId': ...}); deletionReasonMemo is optional (platformCore:DeletionReason).",
                    operation=operation,
                )
            body["deletionReason"] = builder._build(
                builder._core_type("DeletionReason"),
                _mapping(deletion_reason, "deletion_reason"),
                "deletion_reason",
            )
        return body
    return {
        "initializeRecord": [
            builder.initialize_record(item, where=f"records[{i}]") for i, item in enumerate(items)
        ]
    }


# -- answers: zeep records -> JSON-ready dicts ---------------------------------------------------


def record_to_dict(record: Any) -> dict[str, Any]:
    """A zeep record (a search hit, a getList/initializeList record) as a JSON-ready dict in
    NetSuite's field names, with ``@type`` = its schema type name and empty fields left out."""
    data = _jsonable(serialize_object(record, target_cls=dict))
    result = {TYPE_KEY: type(record).__name__}
    if isinstance(data, dict):
        result.update(data)
    return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if v is not None and v != [] and v != {}}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


# -- helpers ---------------------------------------------------------------------------------------


def _is_abstract(xsd_type: Any) -> bool:
    return xsd_type.qname is not None and xsd_type.qname.localname in _ABSTRACT_TYPES


def _mapping(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{where} must be a dict in NetSuite's field names, got {_short(data)}.")
    return data


def _sequence(items: Any, operation: str) -> Iterable[Any]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable) or isinstance(items, Mapping):
        raise ConfigurationError(
            f"{operation} takes a list of dicts, got {_short(items)}.", operation=operation
        )
    return items


def _without_type(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != TYPE_KEY}


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
