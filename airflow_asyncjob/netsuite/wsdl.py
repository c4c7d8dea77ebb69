"""Loading WSDL documents: the compact schema shipped in ``schema/``, or NetSuite's own WSDL
(by URL, through a disk cache, or a local copy). Builds; never keeps: ``process_state`` holds
what is built once per process.

Imports nothing from Airflow.
"""

from __future__ import annotations

import os
from io import BytesIO

import zeep
import zeep.cache
import zeep.wsdl

from airflow_asyncjob.netsuite import endpoints
from airflow_asyncjob.netsuite.faults import ConfigurationError, excerpt
from airflow_asyncjob.netsuite.schema import compact_wsdl
from airflow_asyncjob.netsuite.transports import SyncTransport

#: How zeep reads every answer and the compact schema.
ZEEP_SETTINGS = zeep.Settings(
    strict=False,  # unknown extra elements in answers are ignored rather than fatal
    # Huge limits (a text node over 10 MB: a File record's content in a getAsyncResult page):
    # every answer has passed the transports' strict check first, which applies libxml2's
    # default limits to all but getAsyncResult and caps every answer's size. In recover mode
    # (strict=False) default limits would cut such a text node short without an error.
    xml_huge_tree=True,
    forbid_dtd=True,
    forbid_entities=True,
    forbid_external=True,
)


def binding_name(endpoint_version: str) -> str:
    """The qualified name of the NetSuiteBinding of an endpoint version."""
    return f"{{{endpoints.namespaces(endpoint_version).wsdl}}}NetSuiteBinding"


def compact_document(endpoint_version: str, records: bool = True) -> zeep.wsdl.Document:
    """The compact schema of ``endpoint_version``, parsed (without its record types when
    ``records`` is false: what status polls need)."""
    loader = SyncTransport()  # never fetches: the document has no imports
    return zeep.wsdl.Document(
        BytesIO(compact_wsdl(endpoint_version, records=records)),
        loader,  # type: ignore[arg-type]  # zeep annotates a class, wants an instance
        settings=ZEEP_SETTINGS,
    )


def wsdl_cache_path() -> str:
    """Where WSDL/XSD files loaded over HTTP are kept (zeep's SqliteCache, no expiry):
    ``$XDG_CACHE_HOME/airflow-provider-asyncjob/wsdl.sqlite`` (``~/.cache`` without XDG_CACHE_HOME),
    read from the environment each time a WSDL is loaded."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "airflow-provider-asyncjob", "wsdl.sqlite")


def official_document(endpoint_version: str, wsdl: str) -> zeep.wsdl.Document:
    """NetSuite's own WSDL at ``wsdl``: a URL (fetched once, then read from the disk cache at
    ``wsdl_cache_path()``) or a local path.

    Raises:
        ConfigurationError: it cannot be loaded, or has no NetSuiteBinding of ``endpoint_version``.
    """
    cache = None
    if wsdl.startswith(("http://", "https://")):
        os.makedirs(os.path.dirname(wsdl_cache_path()), exist_ok=True)
        cache = zeep.cache.SqliteCache(path=wsdl_cache_path(), timeout=None)
    loader = SyncTransport(cache=cache, timeout=120)
    try:
        # NetSuite's WSDL imports its XSDs by URL: allowed while loading it, never in answers.
        settings = zeep.Settings(
            strict=False, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=False
        )
        document = zeep.wsdl.Document(wsdl, loader, settings=settings)  # type: ignore[arg-type]
    except Exception as error:  # zeep raises lxml, requests, OS and its own errors while loading
        raise ConfigurationError(
            f"could not load the WSDL {wsdl!r} ({type(error).__name__}: {excerpt(str(error))}).",
            hint="Set the connection's extra 'wsdl' to NetSuite's WSDL URL "
            "(https://webservices.netsuite.com/wsdl/v<V>_0/netsuite.wsdl) or a local copy, or remove it.",
        ) from None
    finally:
        loader.session.close()  # every import is resolved once the document is built
    if binding_name(endpoint_version) not in document.bindings:
        raise ConfigurationError(
            f"the WSDL {wsdl!r} has no NetSuiteBinding for endpoint version {endpoint_version} "
            f"(it has {', '.join(map(str, document.bindings)) or 'none'}).",
            hint="Use the WSDL of the connection's endpoint_version, or set endpoint_version to the WSDL's.",
        )
    return document
