"""The wire under zeep: HTTP transports that check each answer, and failures -> typed errors.

Both transports (requests for the sync client, httpx over aiohttp's pool for the async one,
see ``async_http_client``) refuse an answer that is
not a usable SOAP envelope before zeep parses or quotes it, and neither logs request bodies: a
body holds the tokenPassport signature. ``translate`` turns whatever one zeep call raised into
the NetSuiteError a user can act on. Imports nothing from Airflow.
"""

from __future__ import annotations

import asyncio
import codecs
import errno
import logging
import os
import re
import socket
import ssl
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
import httpx_aiohttp
import requests
import requests.structures
import requests.utils
import zeep
import zeep.exceptions
import zeep.transports
from lxml import etree

from airflow_asyncjob.netsuite.endpoints import SOAP_ENVELOPE_NAMESPACE as SOAP_ENV
from airflow_asyncjob.netsuite.endpoints import version_of_namespace
from airflow_asyncjob.netsuite.faults import (
    EXCERPT_LENGTH,
    NetSuiteError,
    NetSuiteResponseError,
    NetSuiteTransportError,
    excerpt,
    make_fault,
)

log = logging.getLogger(__name__)


# Answers are checked with a strict parser before zeep sees them: zeep's own parser runs in
# recover mode (strict=False, which we need so that unknown extra elements are tolerated), and
# recover mode would silently accept a truncated document. This check is where libxml2's limits
# are chosen: its default ones (10 MB in one text node, 256 levels deep) for every answer, and
# its huge ones only for the operations in MAX_ANSWER_BYTES (getAsyncResult: a File record's
# content from asyncGetList is one text node), whose answers are capped at that size anyway.
# zeep parses with huge limits (wsdl.ZEEP_SETTINGS), so it never refuses what passed here.
_STRICT_PARSER = etree.XMLParser(
    resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False, recover=False
)
_STRICT_LARGE_PARSER = etree.XMLParser(
    resolve_entities=False, load_dtd=False, no_network=True, huge_tree=True, recover=False
)

#: xsd:double's lexical space (XML Schema 1.1 Part 2, 3.3.5), after whitespace collapse.
#: Python's float() reads more ("1_0", "inf", "infinity", "nan", digits of other scripts) and
#: zeep reads doubles with float(), so the text is checked here, before zeep sees it.
XSD_DOUBLE = re.compile(r"(\+|-)?([0-9]+(\.[0-9]*)?|\.[0-9]+)([Ee](\+|-)?[0-9]+)?|(\+|-)?INF|NaN")
_XML_SPACE = " \t\r\n"
_STATUS_NUMBERS = ("percentCompleted", "estRemainingDuration")


class NotSoapAnswer(Exception):
    """The transport's verdict on an HTTP answer that is not a usable SOAP envelope.

    ``passing``: a retry may get a good answer even at HTTP 200 (maintenance page, cut-off body).
    ``doctype``: the answer declares a DTD, which is refused outright.
    ``hint``: what to check, where the usual hint for the status does not fit.
    """

    def __init__(
        self,
        status: int | None,
        content: bytes,
        reason: str,
        *,
        passing: bool = False,
        doctype: bool = False,
        version: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.version = version
        self.hint = hint
        self.status = status
        self.content = content
        self.reason = reason
        self.passing = passing
        self.doctype = doctype


def _looks_like_html(content: bytes) -> bool:
    head = content[:512].lower()
    return b"<html" in head or b"<!doctype html" in head


# What may come before a DOCTYPE: an XML declaration, processing instructions, comments, space.
_PROLOG = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.S)


def _declares_doctype(content: bytes) -> bool:
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        content = content.decode("utf-16", "ignore").encode("utf-8", "ignore")
    if b"<!doctype" in content[:8192].lower():
        return True
    # A DOCTYPE after a long prolog (kilobytes of comments) is found too, so that no parser,
    # with huge limits or default ones, reads an internal subset.
    body = content.removeprefix(codecs.BOM_UTF8)
    prolog = _PROLOG.match(body)
    end = prolog.end() if prolog else 0
    return body[end : end + 9].lower() == b"<!doctype"


class NotXsdDouble(Exception):
    """A number of an asyncStatusResult whose text is not an xsd:double (e.g. ``1_0``, ``inf``)."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name} is {text[:40]!r}")
        self.name = name
        self.text = text


def check_answer(
    status: int,
    content: bytes,
    endpoint_version: str | None = None,
    *,
    operation: str = "",
    framed: bool = True,
) -> None:
    """Let through only a well-formed SOAP 1.1 envelope with an element in its Body.

    Args:
        status: the HTTP status.
        content: the whole body, decoded (gzip undone).
        endpoint_version: when set, the version the answer's namespaces must be of.
        operation: the SOAP operation answered; the ones in MAX_ANSWER_BYTES are parsed with
            libxml2's huge limits (a text node over 10 MB), every other with its default ones.
        framed: whether the HTTP framing proves that the whole body arrived (a Content-Length,
            or chunked encoding: requests and httpx raise when fewer bytes come). A framed body
            that is not well-formed would be refused again, so it is not ``passing``; an
            unframed one (ended by the connection closing) may have been cut off.

    Raises:
        NotSoapAnswer: empty, HTML, not well-formed (e.g. cut off), a DOCTYPE, not an envelope,
            an empty Body, or an HTTP error status whose answer is not a SOAP Fault.
        NotXsdDouble: an asyncStatusResult's percentCompleted or estRemainingDuration is not an
            xsd:double.
    """
    if not content.strip():
        raise NotSoapAnswer(status, content, "an empty body", passing=True)
    if _looks_like_html(content):
        raise NotSoapAnswer(status, content, "an HTML page", passing=True)
    if _declares_doctype(content):  # before parsing: an entity bomb must not even be expanded
        raise NotSoapAnswer(
            status, content, "a DOCTYPE, which is refused (entities are never resolved)", doctype=True
        )
    parser = _STRICT_LARGE_PARSER if operation in MAX_ANSWER_BYTES else _STRICT_PARSER
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as error:
        if not content.lstrip().startswith(b"<"):
            raise NotSoapAnswer(status, content, "a body that is not XML") from None
        if framed:
            raise NotSoapAnswer(
                status,
                content,
                f"XML that is not well-formed, though the whole answer arrived ({error.msg})",
                hint="The same answer would be refused again, so it is not retried: check the "
                "connection's base URL and any proxy in between.",
            ) from None
        reason = f"XML that is not well-formed, perhaps cut off ({error.msg})"
        raise NotSoapAnswer(status, content, reason, passing=True) from None
    if root.getroottree().docinfo.doctype:
        raise NotSoapAnswer(
            status, content, "a DOCTYPE, which is refused (entities are never resolved)", doctype=True
        )
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if root.tag != f"{{{SOAP_ENV}}}Envelope" or body is None:
        raise NotSoapAnswer(status, content, f"XML that is not a SOAP 1.1 envelope ({str(root.tag)[:80]})")
    first = next((child for child in body if isinstance(child.tag, str)), None)
    if first is None:
        raise NotSoapAnswer(status, content, "a SOAP envelope with an empty Body")
    if status != 200 and first.tag != f"{{{SOAP_ENV}}}Fault":
        raise NotSoapAnswer(status, content, "a SOAP answer that is not a Fault")
    answered = version_of_namespace(etree.QName(first).namespace or "")
    if endpoint_version and answered and answered != endpoint_version:
        raise NotSoapAnswer(
            status,
            content,
            f"an answer in endpoint version {answered}'s namespaces, not {endpoint_version}'s",
            version=answered,
        )
    for name in _STATUS_NUMBERS:
        for element in first.iterfind(f"{{*}}asyncStatusResult/{{*}}{name}"):
            text = element.text or ""
            if not XSD_DOUBLE.fullmatch(text.strip(_XML_SPACE)):
                raise NotXsdDouble(name, text)


def _log_exchange(address: str, sent: bytes, status: int, received: bytes) -> None:
    # Sizes only: the request holds a signature, the answer may hold business data.
    log.debug("POST %s: %d bytes sent, HTTP %d with %d bytes", address, len(sent), status, len(received))


#: The largest answer read, in bytes: getAsyncResult pages carry records (NetSuite's own
#: request limit is 100 MB, Governance Overview); every other answer is a few kilobytes.
MAX_ANSWER_BYTES = {"getAsyncResult": 100 * 2**20}
DEFAULT_MAX_ANSWER_BYTES = 4 * 2**20


class AnswerTooLarge(Exception):
    """An answer over its operation's size limit; reading stopped there."""

    def __init__(self, operation: str, limit: int) -> None:
        super().__init__(f"an answer to {operation or 'the request'} larger than {limit:,} bytes")
        self.operation = operation
        self.limit = limit


def _answer_limit(headers: dict[str, str]) -> tuple[str, int]:
    operation = headers.get("SOAPAction", "").strip('"')
    return operation, MAX_ANSWER_BYTES.get(operation, DEFAULT_MAX_ANSWER_BYTES)


def _framed(headers: Any) -> bool:
    """Whether the answer's framing announces its end (Content-Length or chunked encoding)."""
    encoding = headers.get("transfer-encoding") or ""
    return headers.get("content-length") is not None or "chunked" in encoding.lower()


def _announced_size(headers: Any) -> int:
    try:
        return int(headers.get("content-length") or 0)
    except ValueError:
        return 0


class SyncTransport(zeep.Transport):
    """zeep's requests transport, refusing unusable answers before zeep parses or quotes them.

    Answers are read up to MAX_ANSWER_BYTES for their operation, then refused (AnswerTooLarge).
    ``endpoint_version``, when set, is the version answers must be in (see check_answer).
    """

    def __init__(self, *args: Any, endpoint_version: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.endpoint_version = endpoint_version

    def settle_environment(self, url: str) -> None:
        """Read what requests takes from the environment for ``url`` once, here, instead of on
        every request: the proxy (``HTTPS_PROXY``, ``NO_PROXY``...), the CA bundle
        (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, when TLS is verified) and ``.netrc``
        credentials; then turn ``trust_env`` off. The settings are those requests would
        have used; they only stop following changes of the environment after start-up (the
        per-request scan cost a tenth of a poll's CPU, docs/performance.md).
        """
        session = self.session
        if not session.trust_env:
            return
        settings = session.merge_environment_settings(url, {}, None, session.verify, None)
        session.proxies.update(settings["proxies"])
        session.verify = settings["verify"]
        if session.auth is None:
            session.auth = requests.utils.get_netrc_auth(url)
        session.trust_env = False

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        operation, limit = _answer_limit(headers)
        response = self.session.post(
            address, data=message, headers=headers, timeout=self.operation_timeout, stream=True
        )
        try:
            if _announced_size(response.headers) > limit:
                raise AnswerTooLarge(operation, limit)
            content = bytearray()
            for chunk in response.iter_content(2**16):  # decoded: a gzip bomb stops at the limit
                content += chunk
                if len(content) > limit:
                    raise AnswerTooLarge(operation, limit)
        finally:
            response.close()
        response._content = bytes(content)
        _log_exchange(address, message, response.status_code, response._content)
        check_answer(
            response.status_code,
            response._content,
            self.endpoint_version,
            operation=operation,
            framed=_framed(response.headers),
        )
        return response


class AsyncTransport(zeep.transports.AsyncTransport):
    """zeep's httpx transport over a shared ``httpx.AsyncClient``, checking answers the same way.

    Args:
        http: the shared client (connection pool); closing it is its owner's business.
        timeout: seconds for one request (connect, write, read), passed per request so that
            connections with different time-outs can share one pool.
    """

    def __init__(self, http: httpx.AsyncClient, timeout: float, endpoint_version: str | None = None) -> None:
        super().__init__(client=http, wsdl_client=_NO_WSDL_CLIENT)
        self.request_timeout = timeout
        self.endpoint_version = endpoint_version
        self._prepared: dict[
            tuple[str, tuple[tuple[str, str], ...]], tuple[httpx.URL, httpx.Headers, dict]
        ] = {}

    async def post(self, address: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        operation, limit = _answer_limit(headers)
        request = self._request(address, message, headers)
        try:
            streamed = await self.client.send(request, stream=True)
            try:
                if _announced_size(streamed.headers) > limit:
                    raise AnswerTooLarge(operation, limit)
                content = bytearray()
                async for chunk in streamed.aiter_bytes():  # decoded: a gzip bomb stops at the limit
                    content += chunk
                    if len(content) > limit:
                        raise AnswerTooLarge(operation, limit)
            finally:
                await streamed.aclose()
        except httpx.RequestError as error:
            _attach_request(error, request)
            raise
        # The answer as zeep's own async transport hands it on (a requests.Response, see
        # ``new_response``), made once here: no second httpx.Response, no cookie jar.
        response = requests.Response()
        response._content = bytes(content)
        response.status_code = streamed.status_code
        response.headers = requests.structures.CaseInsensitiveDict(
            (name, value)
            for name, value in streamed.headers.items()
            if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        )
        response.encoding = streamed.charset_encoding
        response.url = address
        _log_exchange(address, message, response.status_code, response._content)
        check_answer(
            response.status_code,
            response._content,
            self.endpoint_version,
            operation=operation,
            framed=_framed(streamed.headers),
        )
        return response

    def _request(self, address: str, message: bytes, headers: dict[str, str]) -> httpx.Request:
        """``client.build_request("POST", address, content=message, headers=headers, timeout=...)``,
        with the URL, the client's headers merged with ``headers`` and the time-out made once per
        (address, headers) instead of on every request (httpx parses the URL and merges the
        headers each time, docs/performance.md). While the client holds cookies (a load balancer
        may set some), ``build_request`` itself, which adds them.
        """
        client = self.client
        if client.cookies or client.params:
            return client.build_request(
                "POST", address, content=message, headers=headers, timeout=self.request_timeout
            )
        key = (address, tuple(headers.items()))
        prepared = self._prepared.get(key)
        if prepared is None:
            template = client.build_request(
                "POST", address, content=b"", headers=headers, timeout=self.request_timeout
            )
            del template.headers["Content-Length"]  # set again from each body
            prepared = self._prepared[key] = (template.url, template.headers, template.extensions)
        url, merged, extensions = prepared
        return httpx.Request("POST", url, content=message, headers=merged, extensions=dict(extensions))

    def new_response(self, response: Any) -> Any:
        """``post``'s answer is already what zeep reads (zeep would copy an httpx.Response)."""
        return response

    async def aclose(self) -> None:
        """Nothing to close: the shared httpx client belongs to its pool."""


def async_http_client(max_connections: int, verify_tls: bool = True) -> httpx.AsyncClient:
    """The httpx.AsyncClient an account's channel sends through: httpx's API over aiohttp's
    connection pool (httpx-aiohttp), at most ``max_connections`` connections, all kept alive.

    httpx's own pool (httpcore) scans its connections in Python on every request, which at 25
    requests in flight cost more CPU than the rest of a poll (docs/performance.md); aiohttp's
    is a dict lookup. Proxies from the environment (``HTTPS_PROXY``, ``NO_PROXY``) and the
    CA bundle (``SSL_CERT_FILE``) are read as httpx reads them, once, here; ``verify_tls``
    False turns certificate checks off. Time-outs are per request (``AsyncTransport``).
    aiohttp's failures arrive as httpx errors with aiohttp's error as ``__cause__``;
    ``translate`` reads that cause (httpx-aiohttp maps a refused connection to ConnectTimeout).
    Must be closed (``aclose``) in the event loop that used it.
    """
    pool = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx_aiohttp.HttpxAiohttpClient(limits=pool, verify=verify_tls)


def _attach_request(error: httpx.RequestError, request: httpx.Request) -> None:
    """Give an httpx error raised without its request (httpx-aiohttp's) the request, so that
    messages name the peer as they do for httpx's own pool."""
    try:
        error.request  # noqa: B018  # raises RuntimeError when unset
    except RuntimeError:
        error.request = request


# The schema ships with the package, so the async transport never downloads a WSDL; one idle
# sync client stands in for zeep's WSDL loader instead of one per transport.
_NO_WSDL_CLIENT = httpx.Client()


def translate(error: Exception, operation: str, job_id: str | None) -> NetSuiteError:
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


def _classify(error: Exception, **context: Any) -> NetSuiteError:
    if isinstance(error, NetSuiteError):
        return error
    if isinstance(error, NotSoapAnswer):
        return _not_soap(error, **context)
    if isinstance(error, NotXsdDouble):
        return NetSuiteResponseError(
            f"{error}, not an xsd:double number.",
            hint="Check the connection's base URL: NetSuite writes numbers as xsd:double.",
            **context,
        )
    if isinstance(error, AnswerTooLarge):
        return NetSuiteResponseError(
            f"refused {error}; reading stopped there.",
            hint="Check the base URL: NetSuite's answers to this operation are far smaller.",
            **context,
        )
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
            NotSoapAnswer(error.status_code, error.content or b"", "an answer zeep could not read"), **context
        )
    if isinstance(error, (zeep.exceptions.DTDForbidden, zeep.exceptions.EntitiesForbidden)):
        return _not_soap(NotSoapAnswer(200, b"", "a DOCTYPE, which is refused", doctype=True), **context)
    if _is_timeout(error):
        return NetSuiteTransportError(
            f"no answer within the time-out ({type(error).__name__}).",
            transient=True,
            hint="NetSuite or the network is slow; raise the hook's timeout if this persists.",
            **context,
        )
    if _is_tls_failure(error):
        return NetSuiteTransportError(
            f"TLS failed{_with_peer(error)}: {_root_cause(error)}.",
            transient=False,
            hint="Check the connection's host: https:// is assumed when it has no scheme "
            "(write http:// for a plain-HTTP emulator), and the server's certificate.",
            **context,
        )
    if isinstance(error, (requests.RequestException, httpx.TransportError, aiohttp.ClientError)):
        # Refused, reset mid-answer, DNS: the network or the host; a retry may get through.
        return NetSuiteTransportError(
            f"connection{_to_peer(error)} failed: {_root_cause(error)}.",
            transient=True,
            hint="Check the account id (it sets the host) or the connection's base URL, and the network.",
            **context,
        )
    return NetSuiteResponseError(
        f"the answer could not be read ({type(error).__name__}: {excerpt(str(error))}).", **context
    )


def _is_timeout(error: BaseException) -> bool:
    """Whether no answer came within the time-out. Under httpx-aiohttp the httpx class is not
    the verdict (a refused or dropped connection arrives as ConnectTimeout): aiohttp's error,
    the ``__cause__``, is."""
    cause = error.__cause__
    if isinstance(error, httpx.HTTPError) and isinstance(cause, aiohttp.ClientError):
        return isinstance(cause, (aiohttp.ServerTimeoutError, asyncio.TimeoutError))
    return isinstance(error, (requests.Timeout, httpx.TimeoutException, aiohttp.ServerTimeoutError))


def _is_tls_failure(error: BaseException) -> bool:
    if isinstance(error, requests.exceptions.SSLError):
        return True
    return any(isinstance(cause, ssl.SSLError) for cause in _causes(error))


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the errors under it, outermost first: ``__cause__``, urllib3's ``reason``,
    an error among the arguments (requests wraps urllib3's that way), then ``__context__``.
    At most twelve deep, as a chain may loop."""
    seen: BaseException | None = error
    for _ in range(12):
        if seen is None:
            return
        yield seen
        reason = getattr(seen, "reason", None)
        seen = (
            seen.__cause__
            or (reason if isinstance(reason, BaseException) else None)
            or next((arg for arg in seen.args if isinstance(arg, BaseException)), None)
            or seen.__context__
        )


def _root_cause(error: BaseException) -> str:
    """The innermost OS or TLS error under ``error``, in its own words, whole: what a user reads
    first (``Connection refused (ECONNREFUSED)``, ``[Errno -2] Name or service not known``,
    ``[SSL: CERTIFICATE_VERIFY_FAILED] ...``); without one, the innermost error's message.

    asyncio words a refused connection as ``Connect call failed ('127.0.0.1', 1)``, so an OS
    error of a known errno is named by the errno's own text, the same from both clients.
    """
    causes = list(_causes(error))
    root = next((c for c in reversed(causes) if isinstance(c, OSError)), None)
    if root is None:
        text = next((str(c) for c in reversed(causes) if str(c)), "")
        return excerpt(text, 2 * EXCERPT_LENGTH) or f"{type(error).__name__}, no detail"
    code = root.errno
    if code is not None and code in errno.errorcode and not isinstance(root, (ssl.SSLError, socket.gaierror)):
        return f"{os.strerror(code)} ({errno.errorcode[code]})"
    return excerpt(str(root) or type(root).__name__, 2 * EXCERPT_LENGTH)


def _peer(error: BaseException) -> str:
    """``host:port`` of the request that failed, or "" when the error does not carry it."""
    for cause in _causes(error):
        try:
            url = str(cause.request.url)  # type: ignore[attr-defined]  # requests' and httpx' errors
        except (AttributeError, RuntimeError):  # httpx raises RuntimeError for an unset request
            continue
        try:
            parts = urlsplit(url)
            port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
        except ValueError:
            return ""
        return f"{parts.hostname}:{port}" if parts.hostname else ""
    return ""


def _to_peer(error: BaseException) -> str:
    peer = _peer(error)
    return f" to {peer}" if peer else ""


def _with_peer(error: BaseException) -> str:
    peer = _peer(error)
    return f" with {peer}" if peer else ""


def _not_soap(error: NotSoapAnswer, **context: Any) -> NetSuiteError:
    """An HTTP answer without a usable SOAP envelope -> a typed error, transient where a retry may help.

    Retried: 5xx and 429; a 200 with an HTML page (maintenance), an empty body, or XML that is
    not well-formed and may have been cut off (no Content-Length or chunked end announced it).
    Not retried: 404 and other 4xx (wrong URL, proxy or IP rules), a DOCTYPE, other non-SOAP
    content, and a whole answer that is not well-formed (the same bytes would fail again).
    """
    status = error.status
    quoted = excerpt(error.content)
    message = f"HTTP {status} with {error.reason} instead of a SOAP answer" + (
        f": {quoted}" if quoted else "."
    )
    if error.doctype:
        return NetSuiteResponseError(message, hint="Check the base URL and any proxy in between.", **context)
    if error.version:
        return NetSuiteResponseError(
            message,
            hint="Check the connection's endpoint_version and base URL: the service path names the version.",
            **context,
        )
    transient = status is not None and (status >= 500 or status == 429 or (status == 200 and error.passing))
    if status == 404:
        hint = "Check the account id, the connection's base URL and the endpoint_version."
    elif transient:
        hint = "NetSuite may be in maintenance or a proxy answered; it is retried."
    elif error.hint:
        hint = error.hint
    else:
        hint = "Check the connection's base URL and any proxy or IP restriction in between."
    return NetSuiteTransportError(message, http_status=status, transient=transient, hint=hint, **context)
