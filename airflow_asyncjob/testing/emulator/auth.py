"""Token-based authentication as the emulated account checks it: the values of a request's
tokenPassport, the nonces already used, and the checker.

Source: Help Center "Token-based Authentication and Web Services" (the passport, its HMAC-SHA256
signature over account&consumerKey&token&nonce&timestamp, the nonce and timestamp rules). The
signature itself is computed with ``netsuite.auth.compute_signature`` (NetSuite's documented
formula, one implementation for both sides); everything else here is the emulator's own.
"""

from __future__ import annotations

import heapq
import hmac
import re
import threading
import time
from dataclasses import dataclass

from airflow_asyncjob.netsuite.auth import SIGNATURE_ALGORITHM, TokenCredentials, compute_signature
from airflow_asyncjob.testing.emulator import exceptions
from airflow_asyncjob.testing.emulator.jobs import Clock

TIMESTAMP_TOLERANCE = 300.0
"""Seconds a tokenPassport timestamp may differ from the server's clock."""
NONCE_MARGIN = 60.0
"""Seconds a nonce is kept beyond the last moment its timestamp could still be accepted."""
_NONCE = re.compile(r"^[A-Za-z0-9]{6,64}$")
# Unix seconds as a client writes them: ASCII digits, no leading zero. int() alone would also take
# "00" or other scripts' digits ("١٧"), accepting a timestamp other than the one signed.
_TIMESTAMP = re.compile(r"^(0|[1-9][0-9]*)\Z")


@dataclass(frozen=True)
class TokenPassport:
    """The values of a request's ``platformMsgs:tokenPassport`` header, as sent (strings;
    ``""`` for a missing element)."""

    account: str
    consumer_key: str
    token: str
    nonce: str
    timestamp: str
    signature: str
    algorithm: str


class NonceStore:
    """The nonces of accepted passports, each kept while its timestamp could still pass the
    time check (plus NONCE_MARGIN), so memory stays bounded by the request rate."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []

    def add(self, nonce: str, timestamp: int, now: float) -> bool:
        """Record ``nonce``; False when it was already used."""
        while self._heap and self._heap[0][0] < now:
            _, old = heapq.heappop(self._heap)
            self._expiry.pop(old, None)
        if nonce in self._expiry:
            return False
        expiry = timestamp + TIMESTAMP_TOLERANCE + NONCE_MARGIN
        self._expiry[nonce] = expiry
        heapq.heappush(self._heap, (expiry, nonce))
        return True

    def __len__(self) -> int:
        return len(self._expiry)


class TokenPassportChecker:
    """Checks tokenPassports against the emulated account's TBA credentials. Thread-safe.

    A passport passes when: ``account`` is the account id in its passport form, consumerKey
    and token match, the algorithm is HMAC-SHA256, the signature is ``compute_signature`` of the
    values with the secrets, the timestamp (decimal ASCII digits, no leading zero) is within
    TIMESTAMP_TOLERANCE seconds of the clock, and the nonce (6..64 alphanumerics) was not used
    before.
    """

    def __init__(self, credentials: TokenCredentials, clock: Clock = time.time) -> None:
        self.credentials = credentials
        self.clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.nonces = NonceStore()

    def check(self, passport: TokenPassport | None) -> None:
        """Raises EmulatedFault InvalidCredentialsFault USER_ERROR "Invalid login attempt." on any failure."""
        creds = self.credentials
        if (
            passport is None
            or passport.account != creds.account.passport
            or passport.consumer_key != creds.consumer_key
            or passport.token != creds.token_id
            or passport.algorithm != SIGNATURE_ALGORITHM
            or not _NONCE.match(passport.nonce)
            or not _TIMESTAMP.match(passport.timestamp)
        ):
            raise exceptions.invalid_login()
        timestamp = int(passport.timestamp)
        expected = compute_signature(
            account=passport.account,
            consumer_key=passport.consumer_key,
            token_id=passport.token,
            nonce=passport.nonce,
            timestamp=timestamp,
            consumer_secret=creds.consumer_secret,
            token_secret=creds.token_secret,
        )
        if not hmac.compare_digest(expected.encode(), passport.signature.encode()):
            raise exceptions.invalid_login()
        now = self.clock()
        if abs(now - timestamp) > TIMESTAMP_TOLERANCE:
            raise exceptions.invalid_login()
        with self._lock:
            if not self.nonces.add(passport.nonce, timestamp, now):
                raise exceptions.invalid_login()
