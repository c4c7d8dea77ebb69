"""The NetSuite SOAP client: zeep over the compact schema we ship, token-based auth, typed errors.

One zeep client is built per process per (endpoint version, service URL) and reused by every
call; every HTTP request gets a fresh tokenPassport (new nonce, timestamp and signature), retries
included. Transient failures are retried with tenacity (exponential backoff with full jitter,
bounded attempts and total time). Imports nothing from Airflow.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any

import requests
import tenacity
import zeep
import zeep.exceptions
from lxml import etree

from airflow_asyncjob.netsuite import auth, endpoints
from airflow_asyncjob.netsuite.faults import (
    ConfigurationError,
    NetSuiteError,
    NetSuiteResponseError,
    NetSuiteTransportError,
    excerpt,
    make_fault,
)
from airflow_asyncjob.netsuite.models import (
    AsyncJobStatus,
    AsyncResultPage,
    parse_async_result,
    parse_async_status,
    parse_server_time,
)
from airflow_asyncjob.netsuite.schema import compact_wsdl

log = logging.getLogger(__name__)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried.

    Attributes:
        max_attempts: attempts in all, the first included (>= 1).
        max_delay: seconds after the first attempt past which no new attempt starts.
        initial_wait: seconds; the backoff's first upper bound (doubles per attempt, full jitter).
        max_wait: seconds; the largest single wait.
    """

    max_attempts: int = 5
    max_delay: float = 120.0
    initial_wait: float = 1.0
    max_wait: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_delay < 0 or self.initial_wait < 0 or self.max_wait < 0:
            raise ConfigurationError(
                f"invalid retry policy {self}: max_attempts must be >= 1 and the times >= 0 seconds."
            )


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, NetSuiteError) and error.transient


# Answers are checked with a strict parser before zeep sees them: zeep's own parser runs in
# recover mode (strict=False, which we need so that unknown extra elements are tolerated), and
# recover mode would silently accept a truncated document.
_STRICT_PARSER = etree.XMLParser(
    resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False, recover=False
)


class _NotSoap(Exception):
    """The transport's verdict on an HTTP answer that is not a usable SOAP envelope.

    ``passing``: a retry may get a good answer even at HTTP 200 (maintenance page, cut-off body).
    ``doctype``: the answer declares a DTD, which is refused outright.
    """

    def __init__(
        self, status: int | None, content: bytes, reason: str, *, passing: bool = False, doctype: bool = False
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.content = content
        self.reason = reason
        self.passing = passing
        self.doctype = doctype


def _looks_like_html(content: bytes) -> bool:
    head = content[:512].lower()
    return b"<html" in head or b"<!doctype html" in head


def check_answer(status: int, content: bytes) -> None:
    """Let through only a well-formed SOAP 1.1 envelope with an element in its Body.

    Raises:
        _NotSoap: empty, HTML, not well-formed (e.g. cut off), a DOCTYPE, not an envelope,
            an empty Body, or an HTTP error status whose answer is not a SOAP Fault.
    """
    if not content.strip():
        raise _NotSoap(status, content, "an empty body", passing=True)
    if _looks_like_html(content):
        raise _NotSoap(status, content, "an HTML page", passing=True)
    try:
        root = etree.fromstring(content, _STRICT_PARSER)
    except etree.XMLSyntaxError as error:
        if not content.lstrip().startswith(b"<"):
            raise _NotSoap(status, content, "a body that is not XML") from None
        reason = f"XML that is not well-formed, perhaps cut off ({error.msg})"
        raise _NotSoap(status, content, reason, passing=True) from None
    if root.getroottree().docinfo.doctype:
        raise _NotSoap(
            status, content, "a DOCTYPE, which is refused (entities are never resolved)", doctype=True
        )
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if root.tag != f"{{{SOAP_ENV}}}Envelope" or body is None:
        raise _NotSoap(status, content, f"XML that is not a SOAP 1.1 envelope ({str(root.tag)[:80]})")
    first = next((child for child in body if isinstance(child.tag, str)), None)
    if first is None:
        raise _NotSoap(status, content, "a SOAP envelope with an empty Body")
    if status != 200 and first.tag != f"{{{SOAP_ENV}}}Fault":
        raise _NotSoap(status, content, "a SOAP answer that is not a Fault")


class _Transport(zeep.Transport):
    """zeep's requests transport, refusing unusable answers before zeep parses or quotes them."""

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        response = super().post(address, message, headers)
        check_answer(response.status_code, response.content)
        return response


_ZEEP_SETTINGS = zeep.Settings(
    strict=False,  # unknown extra elements in answers are ignored rather than fatal
    xml_huge_tree=False,
    forbid_dtd=True,
    forbid_entities=True,
    forbid_external=True,
)

_clients: dict[tuple[str, str, float], Any] = {}
_clients_lock = threading.Lock()


def zeep_service(endpoint_version: str, url: str, timeout: float) -> Any:
    """The process-wide zeep service proxy for (endpoint version, service URL, timeout).

    Built from the shipped schema on first use (no WSDL download), then reused.
    """
    key = (endpoint_version, url, timeout)
    service = _clients.get(key)
    if service is None:
        with _clients_lock:
            service = _clients.get(key)
            if service is None:
                transport = _Transport(timeout=timeout, operation_timeout=timeout)
                document = zeep.wsdl.Document(
                    BytesIO(compact_wsdl(endpoint_version)),
                    transport,  # type: ignore[arg-type]  # zeep annotates a class, wants an instance
                    settings=_ZEEP_SETTINGS,
                )
                client = zeep.Client(document, transport=transport, settings=_ZEEP_SETTINGS)
                binding = f"{{{endpoints.namespaces(endpoint_version).wsdl}}}NetSuiteBinding"
                service = client.create_service(binding, url)
                _clients[key] = service
    return service


def _fault_detail(detail: Any) -> tuple[str, str, str] | None:
    """(fault type, code, message) from a SOAP fault's ``detail``, or None without a NetSuite one."""
    if not isinstance(detail, etree._Element):
        return None
    for child in detail:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        if not (qname.namespace or "").startswith("urn:faults_"):
            continue  # Axis adds ns1:hostname beside the fault element
        code = child.findtext(f"{{{qname.namespace}}}code") or ""
        message = child.findtext(f"{{{qname.namespace}}}message") or ""
        local = qname.localname
        return local[:1].upper() + local[1:], code.strip(), message.strip()
    return None


def _translate(error: Exception, operation: str, job_id: str | None) -> NetSuiteError:
    """Any failure of one zeep call -> the typed NetSuiteError a user can act on."""
    try:
        return _classify(error, operation=operation, job_id=job_id)
    except Exception as unexpected:  # a translation bug must not replace the error with another
        return NetSuiteResponseError(
            f"unexpected {type(error).__name__} ({excerpt(str(error))}); "
            f"while reading it: {type(unexpected).__name__}",
            operation=operation,
            job_id=job_id,
        )


def _classify(error: Exception, **context: Any) -> NetSuiteError:
    if isinstance(error, NetSuiteError):
        return error
    if isinstance(error, _NotSoap):
        return _not_soap(error, **context)
    if isinstance(error, zeep.exceptions.Fault):
        parsed = _fault_detail(error.detail)
        fault_type, code, message = parsed or (
            "SoapFault",
            str(error.code or "UNKNOWN"),
            str(error.message or ""),
        )
        return make_fault(
            fault_type=fault_type, code=code, netsuite_message=message, http_status=500, **context
        )
    if isinstance(error, zeep.exceptions.TransportError):
        return _not_soap(
            _NotSoap(error.status_code, error.content or b"", "an answer zeep could not read"), **context
        )
    if isinstance(error, (zeep.exceptions.DTDForbidden, zeep.exceptions.EntitiesForbidden)):
        return _not_soap(_NotSoap(200, b"", "a DOCTYPE, which is refused", doctype=True), **context)
    if isinstance(error, requests.Timeout):
        return NetSuiteTransportError(
            f"no answer within the time-out ({type(error).__name__}).",
            transient=True,
            hint="NetSuite or the network is slow; raise the hook's timeout if this persists.",
            **context,
        )
    if isinstance(error, requests.exceptions.SSLError):
        return NetSuiteTransportError(
            f"TLS failed: {excerpt(str(error))}",
            transient=False,
            hint="Check the connection's host: https:// is assumed when it has no scheme "
            "(write http:// for a plain-HTTP emulator), and the server's certificate.",
            **context,
        )
    if isinstance(error, requests.ConnectionError):
        return NetSuiteTransportError(
            f"connection failed: {excerpt(str(error))}",
            transient=True,
            hint="Check the account id (it sets the host) or the connection's base URL, and the network.",
            **context,
        )
    return NetSuiteResponseError(
        f"the answer could not be read ({type(error).__name__}: {excerpt(str(error))}).", **context
    )


def _not_soap(error: _NotSoap, **context: Any) -> NetSuiteError:
    """An HTTP answer without a usable SOAP envelope -> a typed error, transient where a retry may help.

    Retried: 5xx and 429; a 200 with an HTML page (maintenance), an empty or cut-off body.
    Not retried: 404 and other 4xx (wrong URL, proxy or IP rules), a DOCTYPE, other non-SOAP content.
    """
    status = error.status
    quoted = excerpt(error.content)
    message = f"HTTP {status} with {error.reason} instead of a SOAP answer" + (
        f": {quoted}" if quoted else "."
    )
    if error.doctype:
        return NetSuiteResponseError(message, hint="Check the base URL and any proxy in between.", **context)
    transient = status is not None and (status >= 500 or status == 429 or (status == 200 and error.passing))
    if status == 404:
        hint = "Check the account id, the connection's base URL and the endpoint_version."
    elif transient:
        hint = "NetSuite may be in maintenance or a proxy answered; it is retried."
    else:
        hint = "Check the connection's base URL and any proxy or IP restriction in between."
    return NetSuiteTransportError(message, http_status=status, transient=transient, hint=hint, **context)


class NetSuiteClient:
    """Authenticated NetSuite SOAP calls for one account and endpoint version.

    Args:
        credentials: the TBA credentials (account id already normalised).
        endpoint_version: e.g. ``"2025_2"``; sets the namespaces and the service path.
        base_url: replaces ``https://<account host>.suitetalk.api.netsuite.com`` (emulator, proxy).
        timeout: seconds for one HTTP request (connect and read).
        retry: the RetryPolicy for transient failures.

    Every method raises a NetSuiteError subclass (see faults.py) and nothing else.
    """

    def __init__(
        self,
        credentials: auth.TokenCredentials,
        *,
        endpoint_version: str = endpoints.DEFAULT_ENDPOINT_VERSION,
        base_url: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.credentials = credentials
        self.endpoint_version = endpoints.validate_endpoint_version(endpoint_version)
        self.url = endpoints.service_url(credentials.account, self.endpoint_version, base_url)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()

    def __repr__(self) -> str:
        return f"NetSuiteClient(account={self.credentials.account}, url={self.url!r})"

    # -- operations ---------------------------------------------------------------------------

    def check_async_status(self, job_id: str) -> AsyncJobStatus:
        """checkAsyncStatus(jobId) -> AsyncJobStatus (Help Center: "checkAsyncStatus")."""
        job_id = _require_job_id(job_id)
        answer = self._call("checkAsyncStatus", job_id, jobId=job_id)
        return parse_async_status(answer, requested_job_id=job_id)

    def get_async_result(self, job_id: str, page_index: int = 1) -> AsyncResultPage:
        """getAsyncResult(jobId, pageIndex) -> one AsyncResultPage (pageIndex is 1-based).

        NetSuite allows 20 calls per job within 30 days; each call here is one of them.
        """
        job_id = _require_job_id(job_id)
        if isinstance(page_index, bool) or not isinstance(page_index, int) or page_index < 1:
            raise ConfigurationError(
                f"page_index must be an integer >= 1 (pages are 1-based), got {page_index!r}."
            )
        answer = self._call("getAsyncResult", job_id, jobId=job_id, pageIndex=page_index)
        return parse_async_result(answer, job_id=job_id, page_index=page_index)

    def get_server_time(self) -> datetime:
        """getServerTime -> NetSuite's clock (a cheap authenticated call)."""
        return parse_server_time(self._call("getServerTime", None))

    # -- plumbing -----------------------------------------------------------------------------

    def _call(self, operation: str, job_id: str | None, **body: Any) -> Any:
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_is_transient),
            stop=tenacity.stop_after_attempt(self.retry.max_attempts)
            | tenacity.stop_after_delay(self.retry.max_delay),
            wait=tenacity.wait_random_exponential(
                multiplier=self.retry.initial_wait, max=self.retry.max_wait
            ),
            before_sleep=_log_retry,
            reraise=True,
        )
        return retrying(self._attempt, operation, job_id, body)

    def _attempt(self, operation: str, job_id: str | None, body: dict[str, Any]) -> Any:
        service = zeep_service(self.endpoint_version, self.url, self.timeout)
        # A fresh passport on every attempt: NetSuite rejects a reused nonce.
        headers = {"tokenPassport": auth.token_passport(self.credentials)}
        try:
            return getattr(service, operation)(**body, _soapheaders=headers).body
        except Exception as error:  # every failure leaves as a typed NetSuiteError
            raise _translate(error, operation, job_id) from None


MAX_JOB_ID_LENGTH = 256


def _require_job_id(job_id: Any) -> str:
    value = job_id.strip() if isinstance(job_id, str) else ""
    if not value or len(value) > MAX_JOB_ID_LENGTH or not value.isprintable():
        shown = repr(job_id) if len(repr(job_id)) <= 80 else repr(job_id)[:80] + "..."
        raise ConfigurationError(
            f"job_id must be NetSuite's jobId from an async* call: a non-empty printable string of at "
            f"most {MAX_JOB_ID_LENGTH} characters, got {shown}."
        )
    return value


def _log_retry(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning("%s; attempt %d failed, retrying in %.1f s", error, state.attempt_number, wait)
