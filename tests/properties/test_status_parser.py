"""Property: any schema-valid asyncStatusResult parses to its values, through the clients' own
path (HTTP answer -> answer check -> zeep over the compact WSDL -> parse_async_status), sync
and async alike; anything else raises NetSuiteResponseError (schema type
platformCore:AsyncStatusResult, AsyncStatusType; NETSUITE.md "Operations").

No socket: the sync client's requests session gets a transport adapter that returns the answer,
the async client's httpx pool a MockTransport; everything above the socket is the real code.
"""

from __future__ import annotations

import asyncio
import io
import math
import string

import httpx
import pytest
import requests
import requests.adapters
import urllib3
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from airflow_asyncjob.netsuite.async_client import AsyncNetSuiteClient
from airflow_asyncjob.netsuite.auth import TokenCredentials
from airflow_asyncjob.netsuite.channels import AccountChannel
from airflow_asyncjob.netsuite.client import NetSuiteClient
from airflow_asyncjob.netsuite.endpoints import DEFAULT_ENDPOINT_VERSION, namespaces, normalize_account_id
from airflow_asyncjob.netsuite.faults import NetSuiteError, NetSuiteResponseError
from airflow_asyncjob.netsuite.job_ids import EMPTY_RENDERINGS
from airflow_asyncjob.netsuite.limiter import AimdLimiter
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncStatus
from airflow_asyncjob.netsuite.process_state import zeep_service
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.netsuite.settings import ClientSettings

from .status_rule import UNKNOWN_SHOWN_AS, expected_numbers

VERSION = DEFAULT_ENDPOINT_VERSION
NS = namespaces(VERSION)
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
BASE_URL = "http://canned.invalid"
STATUSES = [status.value for status in AsyncStatus]
SETTINGS = settings(max_examples=120, deadline=None)


class _Answer(requests.adapters.HTTPAdapter):
    """A requests transport adapter that answers every request with ``body`` (HTTP 200), built
    as requests builds a response from urllib3's, so streaming reads work as over a socket."""

    body = b""

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(self.body),
            headers={"Content-Type": "text/xml; charset=utf-8", "Content-Length": str(len(self.body))},
            status=200,
            preload_content=False,
        )
        response = self.build_response(request, raw)
        if not stream:
            response.content  # noqa: B018  (read now, as requests does without stream=True)
        return response


class CannedNetSuite:
    """The sync and async clients, each answered with the same canned body."""

    def __init__(self) -> None:
        credentials = TokenCredentials(normalize_account_id("1234567"), "ck", "cs", "tk", "ts")
        once = RetryPolicy(max_attempts=1, max_delay=0.0)
        settings = ClientSettings(credentials, base_url=BASE_URL)
        self.sync = NetSuiteClient(settings, retry=once)
        self.adapter = _Answer()
        # The process-wide zeep service of this URL; its requests session routes to the adapter.
        session = zeep_service(
            VERSION, settings.url, settings.timeout, records=False
        )._client.transport.session
        session.mount(BASE_URL + "/", self.adapter)
        self.loop = asyncio.new_event_loop()
        self.http = httpx.AsyncClient(
            transport=httpx.MockTransport(lambda request: httpx.Response(200, content=self.adapter.body))
        )
        channel = AccountChannel(credentials.account.passport, AimdLimiter(4), self.http)
        self.async_ = AsyncNetSuiteClient(settings, channel, retry=once)

    def check(self, body: bytes, job_id: str) -> list[AsyncJobStatus | Exception]:
        """The sync client's and the async client's result (or error) for this answer."""
        self.adapter.body = body
        results: list[AsyncJobStatus | Exception] = []
        for call in (
            lambda: self.sync.check_async_status(job_id),
            lambda: self.loop.run_until_complete(self.async_.check_async_status(job_id)),
        ):
            try:
                results.append(call())
            except Exception as error:  # compared by the caller
                results.append(error)
        return results

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def netsuite():
    canned = CannedNetSuite()
    yield canned
    canned.close()


def answer(fields: list[tuple[str, str]] | None) -> bytes:
    """A checkAsyncStatusResponse whose asyncStatusResult has ``fields`` (name, text) in order;
    None: a response without asyncStatusResult. Built from the schema's names."""
    envelope = etree.Element(etree.QName(SOAP_ENV, "Envelope"), nsmap={"soapenv": SOAP_ENV})
    body = etree.SubElement(envelope, etree.QName(SOAP_ENV, "Body"))
    response = etree.SubElement(
        body, etree.QName(NS.messages, "checkAsyncStatusResponse"), nsmap={"platformCore": NS.core}
    )
    if fields is not None:
        result = etree.SubElement(response, etree.QName(NS.core, "asyncStatusResult"))
        for name, text in fields:
            etree.SubElement(result, etree.QName(NS.core, name)).text = text
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


# "None", "null" (any case) are refused before sending, as a template's rendering of nothing.
job_ids = st.text(
    st.sampled_from(string.ascii_letters + string.digits + "_"), min_size=1, max_size=80
).filter(lambda job_id: job_id.lower() not in EMPTY_RENDERINGS)


@st.composite
def xsd_doubles(draw, values: st.SearchStrategy[float] | None = None) -> tuple[float, str]:
    """(value, a schema-valid xsd:double spelling of it): INF, -INF, NaN, decimal or E notation,
    a sign, an integer form, surrounding whitespace (the type's whiteSpace facet is collapse)."""
    value = draw(st.floats() if values is None else values)
    if math.isnan(value):
        text = "NaN"
    elif math.isinf(value):
        text = "INF" if value > 0 else "-INF"
    else:
        forms = [repr(value), f"{value:.17E}", f"{value:.17e}"]
        if math.copysign(1.0, value) > 0:  # not -0.0, whose repr has its own sign
            forms.append("+" + repr(value))
        if value.is_integer() and abs(value) < 1e15:
            forms.append(str(int(value)))
        text = draw(st.sampled_from(forms))
    space = st.sampled_from(["", " ", "\n\t"])
    return value, draw(space) + text + draw(space)


def assert_parsed(results, job_id: str, status: str, percent: float, est: float) -> AsyncJobStatus:
    expected = expected_numbers(percent, est)
    for result in results:
        if isinstance(expected, type):
            assert isinstance(result, expected), result
            assert not result.transient and job_id in str(result)
            continue
        assert isinstance(result, AsyncJobStatus), result
        assert (result.job_id, result.status.value) == (job_id, status)
        assert (result.percent_completed, result.est_remaining_duration) == expected
    return results[0]


in_range_percent = st.one_of(st.floats(0, 100), st.just(math.nan))
known_or_infinite_est = st.floats(min_value=0)  # 0 .. 1.8e308 and INF


@SETTINGS
@given(
    job_id=job_ids,
    status=st.sampled_from(STATUSES),
    percent=xsd_doubles(in_range_percent),
    est=xsd_doubles(known_or_infinite_est),
)
def test_a_valid_status_parses_to_its_values(netsuite, job_id, status, percent, est):
    (percent_value, percent_text), (est_value, est_text) = percent, est
    body = answer(
        [
            ("jobId", job_id),
            ("status", status),
            ("percentCompleted", percent_text),
            ("estRemainingDuration", est_text),
        ]
    )
    assert_parsed(netsuite.check(body, job_id), job_id, status, percent_value, est_value)


out_of_range_percent = st.one_of(
    st.floats(max_value=0.0, exclude_max=True), st.floats(min_value=100.0, exclude_min=True)
)


@SETTINGS
@given(
    job_id=job_ids,
    status=st.sampled_from(STATUSES),
    percent=xsd_doubles(out_of_range_percent),
    est=xsd_doubles(),
)
def test_out_of_range_numbers_are_normalised(netsuite, job_id, status, percent, est):
    (percent_value, percent_text), (est_value, est_text) = percent, est
    body = answer(
        [
            ("jobId", job_id),
            ("status", status),
            ("percentCompleted", percent_text),
            ("estRemainingDuration", est_text),
        ]
    )
    parsed = assert_parsed(netsuite.check(body, job_id), job_id, status, percent_value, est_value)
    assert 0 <= parsed.percent_completed <= 100
    if math.isinf(parsed.est_remaining_duration):
        assert UNKNOWN_SHOWN_AS in parsed.describe()


def _no_number(text: str) -> bool:
    """No digit of any script and no spelling of INF or NaN that Python's float() would read."""
    word = text.strip().lower().lstrip("+-")
    return not any(c.isdigit() or c.isnumeric() for c in text) and word not in ("inf", "infinity", "nan")


xml_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn")), max_size=16)
VALID = {"status": "processing", "percentCompleted": "50.0", "estRemainingDuration": "12.5"}


@st.composite
def invalid_results(draw, job_id: str) -> list[tuple[str, str]] | None:
    """An asyncStatusResult that is not schema-valid: a status outside AsyncStatusType, a number
    that is not a number, required elements missing, or no asyncStatusResult at all; or one about
    another job."""
    fields = dict(VALID)
    kind = draw(st.sampled_from(["status", "number", "missing", "no result", "other job"]))
    if kind == "no result":
        return None
    if kind == "status":
        fields["status"] = draw(xml_text.filter(lambda s: s.strip() not in STATUSES))
    elif kind == "number":
        name = draw(st.sampled_from(["percentCompleted", "estRemainingDuration"]))
        fields[name] = draw(xml_text.filter(_no_number))
    elif kind == "missing":
        gone = draw(st.sets(st.sampled_from(sorted(VALID)), min_size=1))
        fields = {name: value for name, value in fields.items() if name not in gone}
    other = draw(job_ids.filter(lambda j: j != job_id)) if kind == "other job" else job_id
    return [("jobId", other), *fields.items()]


@SETTINGS
@given(data=st.data(), job_id=job_ids)
def test_anything_else_raises_the_typed_error(netsuite, data, job_id):
    fields = data.draw(invalid_results(job_id))
    for result in netsuite.check(answer(fields), job_id):
        assert isinstance(result, NetSuiteResponseError), result
        assert isinstance(result, NetSuiteError) and not result.transient
        assert job_id in str(result)


#: Spellings Python's float() reads (zeep reads xsd:double with it) that are not xsd:double.
PYTHON_ONLY_WORDS = [
    "inf",
    "Inf",
    "+inf",
    "-inf",
    "infinity",
    "Infinity",
    "-Infinity",
    "nan",
    "NAN",
    "+NaN",
    "-NaN",
]
OTHER_DIGITS = ["\u0660", "\u06f0", "\u0966", "\uff10"]  # Arabic-Indic, Persian, Devanagari, fullwidth zero


@st.composite
def python_only_doubles(draw) -> str:
    """Text float() turns into a number that xsd:double's lexical space does not hold: digit
    groups with ``_``, INF/NaN in other cases or with a sign NaN does not take, ``infinity``,
    digits of other scripts; with or without XML whitespace around it."""
    kind = draw(st.sampled_from(["underscore", "word", "script"]))
    if kind == "underscore":
        digits = str(draw(st.integers(min_value=10, max_value=10**12)))
        cut = draw(st.integers(min_value=1, max_value=len(digits) - 1))
        text = f"{digits[:cut]}_{digits[cut:]}" + draw(st.sampled_from(["", ".5", "e1"]))
    elif kind == "word":
        text = draw(st.sampled_from(PYTHON_ONLY_WORDS))
    else:
        zero = ord(draw(st.sampled_from(OTHER_DIGITS)))
        number = str(draw(st.integers(min_value=0, max_value=100)))
        text = "".join(chr(zero + int(d)) for d in number)
    float(text)  # the premise: Python reads it
    space = st.sampled_from(["", " ", "\n\t"])
    return draw(space) + text + draw(space)


@SETTINGS
@given(
    job_id=job_ids,
    name=st.sampled_from(["percentCompleted", "estRemainingDuration"]),
    text=python_only_doubles(),
)
def test_python_float_spellings_that_are_not_xsd_doubles_are_refused(netsuite, job_id, name, text):
    fields = {"jobId": job_id, **VALID, name: text}
    for result in netsuite.check(answer(list(fields.items())), job_id):
        assert isinstance(result, NetSuiteResponseError), result
        assert not result.transient
        assert job_id in str(result) and f"{name} is " in str(result) and "xsd:double" in str(result)
