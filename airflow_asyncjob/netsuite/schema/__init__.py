"""The compact WSDL we ship (``netsuite.wsdl``), written from the 2023_2 schema's names.

The file is a template: ``ENDPOINT_VERSION`` stands where each namespace carries its version.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from airflow_asyncjob.netsuite.endpoints import validate_endpoint_version


@lru_cache(maxsize=8)
def compact_wsdl(endpoint_version: str) -> bytes:
    """The WSDL rendered for ``endpoint_version`` (namespaces ``urn:..._<V>...``), UTF-8 bytes.

    Raises:
        ConfigurationError: a malformed endpoint version.
    """
    version = validate_endpoint_version(endpoint_version)
    template = resources.files(__name__).joinpath("netsuite.wsdl").read_text("utf-8")
    return template.replace("ENDPOINT_VERSION", version).encode("utf-8")
