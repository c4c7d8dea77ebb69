"""Token-based authentication: the SOAP ``tokenPassport`` header.

Source: NetSuite Help Center, "Token-based Authentication and Web Services" (TokenPassport,
HMAC-SHA256 since 2023.1) and the 2023_2 schema type ``platformCore:TokenPassport``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

from airflow_asyncjob.netsuite.endpoints import AccountId
from airflow_asyncjob.netsuite.faults import ConfigurationError

SIGNATURE_ALGORITHM = "HMAC-SHA256"
NONCE_LENGTH = 32
"""NetSuite accepts 6..64 alphanumeric characters; 32 hex digits are 128 bits of randomness."""


@dataclass(frozen=True)
class TokenCredentials:
    """The four TBA credentials of an integration record and access token.

    The secrets are excluded from ``repr`` so that a logged or raised object never shows them.
    """

    account: AccountId
    consumer_key: str
    consumer_secret: str = field(repr=False)
    token_id: str
    token_secret: str = field(repr=False)

    def __post_init__(self) -> None:
        missing = [
            name
            for name in ("consumer_key", "consumer_secret", "token_id", "token_secret")
            if not getattr(self, name)
        ]
        if missing:
            raise ConfigurationError(
                f"missing token-based authentication values: {', '.join(missing)}. Set them in the "
                "connection's extra (from the integration record and the access token in NetSuite)."
            )


def compute_signature(
    *,
    account: str,
    consumer_key: str,
    token_id: str,
    nonce: str,
    timestamp: int,
    consumer_secret: str,
    token_secret: str,
) -> str:
    """Base64(HMAC-SHA256(consumer_secret&token_secret, account&consumer_key&token&nonce&timestamp)).

    ``account`` is the passport form (``1234567_SB1``); ``timestamp`` is Unix seconds.
    """
    key = f"{consumer_secret}&{token_secret}".encode()
    message = f"{account}&{consumer_key}&{token_id}&{nonce}&{timestamp}".encode()
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


def new_nonce() -> str:
    """A random nonce of NONCE_LENGTH hexadecimal characters (128 bits) from the OS's CSPRNG.

    Hex digits are alphanumeric, as the nonce must be (6 to 64 characters; see NETSUITE.md,
    tokenPassport); one ``token_hex`` call costs 1 microsecond where 20 ``secrets.choice``
    calls cost 36 (issue 14, CPU per poll).
    """
    return secrets.token_hex(NONCE_LENGTH // 2)


def token_passport(
    credentials: TokenCredentials, *, nonce: str | None = None, timestamp: int | None = None
) -> dict[str, object]:
    """A fresh tokenPassport as zeep values: a new nonce and timestamp unless given.

    Call it once per HTTP request, retries included: NetSuite rejects a resent passport.
    Shape: ``{"account", "consumerKey", "token", "nonce", "timestamp", "signature":
    {"_value_1": str, "algorithm": "HMAC-SHA256"}}``.
    """
    nonce = nonce or new_nonce()
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = compute_signature(
        account=credentials.account.passport,
        consumer_key=credentials.consumer_key,
        token_id=credentials.token_id,
        nonce=nonce,
        timestamp=timestamp,
        consumer_secret=credentials.consumer_secret,
        token_secret=credentials.token_secret,
    )
    return {
        "account": credentials.account.passport,
        "consumerKey": credentials.consumer_key,
        "token": credentials.token_id,
        "nonce": nonce,
        "timestamp": timestamp,
        "signature": {"_value_1": signature, "algorithm": SIGNATURE_ALGORITHM},
    }
