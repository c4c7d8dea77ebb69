"""The compact WSDL we ship (``netsuite.wsdl``), written from the 2023_2 schema's names.

The file is a template: ``ENDPOINT_VERSION`` stands where each namespace carries its version.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from lxml import etree

from airflow_asyncjob.netsuite.endpoints import validate_endpoint_version

#: Schemas of record types (submit payloads, records in results); no other schema imports them.
RECORD_SCHEMAS = ("urn:common_", "urn:relationships_", "urn:sales_")
_XSD = "http://www.w3.org/2001/XMLSchema"


@lru_cache(maxsize=8)
def compact_wsdl(endpoint_version: str, *, records: bool = True) -> bytes:
    """The WSDL rendered for ``endpoint_version`` (namespaces ``urn:..._<V>...``), UTF-8 bytes.

    ``records=False`` leaves out the record-type schemas (RECORD_SCHEMAS): enough for
    checkAsyncStatus and getServerTime, and under half the types for zeep to read.

    Raises:
        ConfigurationError: a malformed endpoint version.
    """
    version = validate_endpoint_version(endpoint_version)
    template = resources.files(__name__).joinpath("netsuite.wsdl").read_text("utf-8")
    rendered = template.replace("ENDPOINT_VERSION", version).encode("utf-8")
    if records:
        return rendered
    root = etree.fromstring(rendered)  # our own file: no untrusted input here
    for schema in list(root.iter(f"{{{_XSD}}}schema")):
        if schema.get("targetNamespace", "").startswith(RECORD_SCHEMAS):
            schema.getparent().remove(schema)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
