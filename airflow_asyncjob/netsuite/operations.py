"""Operation descriptors (a read operation's arguments checked, its SOAP body, how its answer is
parsed) and the tokenPassport header of each attempt: the same for the sync and the async client.

Imports nothing from Airflow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from lxml import etree

from airflow_asyncjob.netsuite.auth import TokenCredentials, token_passport
from airflow_asyncjob.netsuite.endpoints import namespaces
from airflow_asyncjob.netsuite.faults import ConfigurationError
from airflow_asyncjob.netsuite.job_ids import require_job_id
from airflow_asyncjob.netsuite.models import (
    AsyncJobStatus,
    AsyncResultPage,
    ConcurrencyGovernance,
    parse_account_governance,
    parse_async_result,
    parse_async_status,
    parse_integration_governance,
    parse_server_time,
)
from airflow_asyncjob.netsuite.retry import RetryPolicy, or_default
from airflow_asyncjob.netsuite.settings import ClientSettings

#: Operations whose messages need no record type: their clients read the schema without them.
STATUS_OPERATIONS = frozenset(
    {"checkAsyncStatus", "getServerTime", "getAccountGovernanceInfo", "getIntegrationGovernanceInfo"}
)

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One operation to send.

    Attributes:
        operation: the SOAP operation name (``checkAsyncStatus``).
        job_id: the job it is about, for error messages, or None.
        body: the message's parts as zeep keyword arguments.
        parse: the answer's SOAP body (zeep objects) -> the typed result.
    """

    operation: str
    job_id: str | None
    body: dict[str, Any]
    parse: Callable[[Any], T]

    @property
    def records(self) -> bool:
        """Whether the message needs the schema's record types."""
        return self.operation not in STATUS_OPERATIONS


def check_async_status(job_id: str) -> Call[AsyncJobStatus]:
    """checkAsyncStatus(jobId) (Help Center: "checkAsyncStatus").

    Raises:
        ConfigurationError: a job id that is not one.
    """
    job_id = require_job_id(job_id)
    return Call(
        "checkAsyncStatus",
        job_id,
        {"jobId": job_id},
        lambda answer: parse_async_status(answer, requested_job_id=job_id),
    )


def get_async_result(job_id: str, page_index: int) -> Call[AsyncResultPage]:
    """getAsyncResult(jobId, pageIndex), pageIndex 1-based.

    Raises:
        ConfigurationError: a job id that is not one, or a page index below 1.
    """
    job_id = require_job_id(job_id)
    if isinstance(page_index, bool) or not isinstance(page_index, int) or page_index < 1:
        raise ConfigurationError(
            f"page_index must be an integer >= 1 (pages are 1-based), got {page_index!r}."
        )
    return Call(
        "getAsyncResult",
        job_id,
        {"jobId": job_id, "pageIndex": page_index},
        lambda answer: parse_async_result(answer, job_id=job_id, page_index=page_index),
    )


def get_server_time() -> Call[datetime]:
    """getServerTime: NetSuite's clock."""
    return Call("getServerTime", None, {}, parse_server_time)


def get_account_governance_info() -> Call[ConcurrencyGovernance]:
    """getAccountGovernanceInfo: the account's concurrency limit and its unallocated share
    (Help Center "getAccountGovernanceInfo"; administrators only)."""
    return Call("getAccountGovernanceInfo", None, {}, parse_account_governance)


def get_integration_governance_info() -> Call[ConcurrencyGovernance]:
    """getIntegrationGovernanceInfo: this integration's concurrency limit and its type
    (Help Center "getIntegrationGovernanceInfo"; administrators only)."""
    return Call("getIntegrationGovernanceInfo", None, {}, parse_integration_governance)


def passport_header(
    credentials: TokenCredentials, on_signature: Callable[[str], None] | None
) -> dict[str, Any]:
    """The SOAP headers of one attempt: a fresh tokenPassport (NetSuite rejects a reused nonce);
    ``on_signature`` is called with its signature before it is sent."""
    passport = token_passport(credentials)
    signature = passport["signature"]
    if on_signature is not None and isinstance(signature, dict):
        on_signature(str(signature["_value_1"]))
    return {"tokenPassport": passport}


def soap_headers(
    service: Any,
    endpoint_version: str,
    credentials: TokenCredentials,
    on_signature: Callable[[str], None] | None,
) -> list[etree._Element]:
    """``passport_header`` rendered by zeep: the ``_soapheaders`` of one attempt of ``service``
    (a zeep service proxy), as zeep's schema element for tokenPassport writes it.

    The bytes sent are those zeep writes from the ``passport_header`` dict
    (tests/netsuite/test_passport_header.py compares them); rendered here, zeep's per-call deep
    copy of the headers copies one lxml element instead of the dict, and zeep builds no value
    objects from it (about 0.14 ms per attempt, docs/performance.md). Raises what zeep raises
    for a schema without a tokenPassport element (never for the shipped schemas).
    """
    passport = passport_header(credentials, on_signature)["tokenPassport"]
    element = service._client.get_element(f"{{{namespaces(endpoint_version).messages}}}tokenPassport")
    parent = etree.Element("Header")
    element.render(parent, passport, ["header", "tokenPassport"])
    return [parent[0]]


class ClientBase:
    """What the sync and the async client both hold: the account's ClientSettings, the
    RetryPolicy (default ``RetryPolicy()``) and the signature callback."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        retry: RetryPolicy | None = None,
        on_signature: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.retry = or_default(retry)
        self.on_signature = on_signature

    @property
    def url(self) -> str:
        """The SOAP service URL."""
        return self.settings.url

    @property
    def credentials(self) -> TokenCredentials:
        """The TBA credentials."""
        return self.settings.credentials

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account={self.credentials.account}, url={self.url!r})"
