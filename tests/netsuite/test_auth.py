"""tokenPassport signature and nonces (Help Center: Token-based Authentication, HMAC-SHA256)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

import pytest

from airflow_asyncjob.netsuite.auth import TokenCredentials, compute_signature, new_nonce, token_passport
from airflow_asyncjob.netsuite.endpoints import normalize_account_id
from airflow_asyncjob.netsuite.faults import ConfigurationError

# The vectors below were computed outside Python with OpenSSL, from NetSuite's rule
#   key     = consumerSecret + "&" + tokenSecret
#   message = account + "&" + consumerKey + "&" + token + "&" + nonce + "&" + timestamp
#   signature = Base64(HMAC-SHA256(key, message))
# e.g. printf '%s' '1234567_SB1&ck&tk&AbCdEf123456&1700000000' \
#        | openssl dgst -sha256 -hmac 'cs&ts' -binary | base64
VECTORS = [
    (
        dict(
            account="1234567_SB1",
            consumer_key="ck",
            token_id="tk",
            nonce="AbCdEf123456",
            timestamp=1700000000,
            consumer_secret="cs",
            token_secret="ts",
        ),
        "vxRfbyrsohqRC4YvNBO07hmgha/Wi0zmHaWQMcg5VuQ=",
    ),
    (
        dict(
            account="TSTDRV1234567",
            consumer_key="4e3b0c9a",
            token_id="7f1d2e3c",
            nonce="abc123XYZ789",
            timestamp=1795939200,
            consumer_secret="consumer-secret",
            token_secret="token-secret",
        ),
        "r/xs9Do3qCRw5hrwbOWs/7M+ZiimmTpKvdZNQA0dB34=",
    ),
]


@pytest.mark.parametrize(("inputs", "expected"), VECTORS)
def test_signature_matches_openssl_vector(inputs, expected):
    assert compute_signature(**inputs) == expected


def credentials(**overrides: str) -> TokenCredentials:
    values: dict[str, Any] = dict(
        account=normalize_account_id("1234567_sb1"),
        consumer_key="ck",
        consumer_secret="cs",
        token_id="tk",
        token_secret="ts",
    )
    values.update(overrides)
    return TokenCredentials(**values)


def test_passport_uses_netsuite_account_form_and_signs_it():
    passport = token_passport(credentials(), nonce="AbCdEf123456", timestamp=1700000000)
    assert passport["account"] == "1234567_SB1"
    assert passport["signature"] == {"_value_1": VECTORS[0][1], "algorithm": "HMAC-SHA256"}


def test_every_passport_has_a_new_nonce_and_signature():
    passports: list[dict[str, Any]] = [token_passport(credentials()) for _ in range(50)]
    assert len({p["nonce"] for p in passports}) == 50
    assert len({p["signature"]["_value_1"] for p in passports}) == 50


def test_nonce_is_alphanumeric_within_netsuite_bounds():
    nonces = {new_nonce() for _ in range(1000)}
    assert len(nonces) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9]{6,64}", nonce) for nonce in nonces)
    assert {len(nonce) for nonce in nonces} == {32}  # 128 bits of the CSPRNG


def netsuite_signature(passport: dict[str, Any]) -> bytes:
    """The HMAC-SHA256 digest NetSuite computes over a passport's own fields (NETSUITE.md,
    "Authentication"), written here with hmac/hashlib apart from auth.compute_signature."""
    key = b"cs&ts"  # consumerSecret & tokenSecret of credentials()
    fields = ("account", "consumerKey", "token", "nonce", "timestamp")
    message = "&".join(str(passport[name]) for name in fields).encode()
    return hmac.new(key, message, hashlib.sha256).digest()


def test_every_passport_is_signed_over_its_own_fields():
    """What NetSuite checks: the signature sent is Base64 of the HMAC over the fields sent with
    it (new nonce and timestamp each time), so a change to the key, the field order, the
    separator or the encoding fails here."""
    for _ in range(5):
        passport: dict[str, Any] = token_passport(credentials())
        signature = passport["signature"]
        assert signature["algorithm"] == "HMAC-SHA256"
        assert base64.b64decode(signature["_value_1"], validate=True) == netsuite_signature(passport)


def test_secrets_are_not_in_repr():
    text = repr(credentials(consumer_secret="very-secret-1", token_secret="very-secret-2"))
    assert "very-secret-1" not in text and "very-secret-2" not in text


def test_missing_credentials_are_named():
    with pytest.raises(ConfigurationError, match="consumer_secret, token_id"):
        credentials(consumer_secret="", token_id="")
