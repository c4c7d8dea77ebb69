"""Property: any tokenPassport the client signs passes the emulator's check after a trip through
the client's XML (zeep, compact WSDL) and the emulator's reading of it; a one-character change
of a secret, the nonce or the timestamp is refused (NETSUITE.md, "Authentication")."""

from __future__ import annotations

import dataclasses
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from airflow_asyncjob.netsuite.auth import TokenCredentials, token_passport
from airflow_asyncjob.netsuite.endpoints import DEFAULT_ENDPOINT_VERSION, normalize_account_id
from airflow_asyncjob.netsuite.process_state import zeep_service
from airflow_asyncjob.testing.emulator import soap
from airflow_asyncjob.testing.emulator.auth import TIMESTAMP_TOLERANCE, TokenPassport, TokenPassportChecker
from airflow_asyncjob.testing.emulator.exceptions import EmulatedFault

from .strategies import (
    ALPHANUMERIC,
    canonical_account_ids,
    credential_text,
    nonces,
    one_character_change,
    timestamps,
    xml_text_char,
)

VERSION = DEFAULT_ENDPOINT_VERSION
SETTINGS = settings(max_examples=100, deadline=None)

credentials = st.builds(
    TokenCredentials,
    account=canonical_account_ids().map(normalize_account_id),
    consumer_key=credential_text(),
    consumer_secret=credential_text(),
    token_id=credential_text(),
    token_secret=credential_text(),
)
skews = st.integers(-int(TIMESTAMP_TOLERANCE), int(TIMESTAMP_TOLERANCE))


def sent_and_read(credentials: TokenCredentials, nonce: str, timestamp: int) -> TokenPassport:
    """The passport as the client sends it (zeep serialises the header of a getServerTime
    request) and as the emulator reads it back from those bytes."""
    service = zeep_service(VERSION, f"http://127.0.0.1:9/services/NetSuitePort_{VERSION}", 60.0)
    passport = token_passport(credentials, nonce=nonce, timestamp=timestamp)
    headers = {"tokenPassport": passport}
    envelope = service._client.create_message(service, "getServerTime", _soapheaders=headers)
    request = soap.parse_request(etree.tostring(envelope), VERSION, '"getServerTime"')
    read = soap.read_token_passport(request)
    assert read is not None
    return read


def checker(credentials: TokenCredentials, now: int) -> TokenPassportChecker:
    return TokenPassportChecker(credentials, clock=lambda: now)  # a fresh one: no nonce seen yet


def refused(check: TokenPassportChecker, passport: TokenPassport) -> bool:
    try:
        check.check(passport)
    except EmulatedFault as fault:
        assert (fault.code, fault.message) == ("USER_ERROR", "Invalid login attempt.")
        return True
    return False


@SETTINGS
@given(credentials=credentials, nonce=nonces, timestamp=timestamps, skew=skews)
def test_every_passport_we_sign_is_accepted(credentials, nonce, timestamp, skew):
    passport = sent_and_read(credentials, nonce, timestamp)
    assert (passport.account, passport.nonce, passport.timestamp) == (
        credentials.account.passport,
        nonce,
        str(timestamp),
    )
    assert not refused(checker(credentials, timestamp + skew), passport)


@SETTINGS
@given(data=st.data(), credentials=credentials, nonce=nonces, timestamp=timestamps)
def test_a_secret_one_character_off_is_refused(data, credentials, nonce, timestamp):
    name = data.draw(st.sampled_from(["consumer_secret", "token_secret"]))
    wrong = data.draw(one_character_change(getattr(credentials, name)))
    signed_with_wrong_secret = dataclasses.replace(credentials, **{name: wrong})
    passport = sent_and_read(signed_with_wrong_secret, nonce, timestamp)
    assert refused(checker(credentials, timestamp), passport)


@SETTINGS
@given(data=st.data(), credentials=credentials, nonce=nonces, timestamp=timestamps)
def test_a_nonce_one_character_off_is_refused(data, credentials, nonce, timestamp):
    passport = sent_and_read(credentials, nonce, timestamp)
    # Alphanumeric changes keep the nonce within NetSuite's rule: only the signature can refuse it.
    keep_the_rule = data.draw(st.booleans())
    alphabet = st.sampled_from(ALPHANUMERIC) if keep_the_rule else xml_text_char
    changed = data.draw(one_character_change(nonce, alphabet))
    assert refused(checker(credentials, timestamp), dataclasses.replace(passport, nonce=changed))


@SETTINGS
@given(data=st.data(), credentials=credentials, nonce=nonces, timestamp=timestamps)
def test_a_timestamp_one_character_off_is_refused(data, credentials, nonce, timestamp):
    passport = sent_and_read(credentials, nonce, timestamp)
    # Digits of any script as well as ASCII ones: int() reads "١٧" as 17 and "007" as 7, the
    # signature was made over neither.
    any_digit = st.characters(categories=["Nd"])
    alphabet = st.one_of(st.sampled_from(string.digits), any_digit)
    changed = data.draw(one_character_change(str(timestamp), alphabet))
    # The server's clock is where the changed value would be, so only the signature can refuse it.
    try:
        now = int(changed)
    except ValueError:
        now = timestamp
    assert refused(checker(credentials, now), dataclasses.replace(passport, timestamp=changed))


@pytest.mark.parametrize("nonce", ["abc12", "a" * 65, "abc-123", "abcdé1"])
def test_a_nonce_outside_netsuites_rule_is_refused_even_when_signed(nonce):
    credentials = TokenCredentials(normalize_account_id("1234567"), "ck", "cs", "tk", "ts")
    passport = sent_and_read(credentials, nonce, 1_700_000_000)
    assert refused(checker(credentials, 1_700_000_000), passport)
