"""REST authentication as the emulated account checks it: TBA (an OAuth 1.0a ``Authorization``
header signed with HMAC-SHA256) and OAuth 2.0 client credentials (a token endpoint verifying a
JWT assertion, then opaque bearer tokens).

The emulator is the server: it checks signatures with its own code (hmac, hashlib, and PyJWT with
cryptography for the JWT), never with the package's client (``airflow_asyncjob.netsuite``).

Sources: Help Center "The Authorization Headers" for TBA in REST (section_1534941295.html: realm =
the account id, upper-case sandbox suffix; HMAC-SHA256 only, section_156338994830.html), RFC 5849
section 3.4 (the signature base string); "OAuth 2.0 Client Credentials Flow" (section_162755359851.html,
section_162790605110.html: the JWT header and claims), "Access token validity" (one hour,
article_0907013045.html). Token lifetime is configurable here so tests can see a refresh.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from airflow_asyncjob.netsuite.auth import TokenCredentials
from airflow_asyncjob.testing.emulator.auth import TIMESTAMP_TOLERANCE, NonceStore
from airflow_asyncjob.testing.emulator.jobs import Clock
from airflow_asyncjob.testing.emulator.rest import LOGIN_DETAIL, RestError

JWT_ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
"""The assertion algorithms NetSuite accepts (section_162790605110.html)."""
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_SECONDS = 3600
"""``exp - iat`` may not exceed this (NetSuite: "less than 60 minutes")."""
TOKEN_SECONDS = 3600
"""An access token's validity (article_0907013045.html)."""
SCOPES = ("restlets", "rest_webservices", "suite_analytics")

_TIMESTAMP = re.compile(r"^(0|[1-9][0-9]*)\Z")
_HEADER_PARAM = re.compile(r'\s*([A-Za-z0-9_.~-]+)\s*=\s*"([^"]*)"\s*(?:,|$)')


@dataclass(frozen=True)
class RestClient:
    """An OAuth 2.0 client credentials (M2M) set-up: the integration's client id, the certificate
    id NetSuite shows on the OAuth 2.0 Client Credentials Setup page, the certificate's public key
    (PEM) and, for the emulator's own default client, the private key (PEM; None when only the
    public key was given)."""

    client_id: str
    certificate_id: str
    public_key: str
    private_key: str | None = field(default=None, repr=False)
    algorithm: str = "ES256"


def generate_client(
    client_id: str = "7f4e2b9c1d8a3e5f6b0c9d2a4e7f1b3c5d8e0a2f4b6c8d0e2f4a6b8c0d2e4f6a",
    certificate_id: str = "Zr8sN4vq2kXh7YcW1mTg5pLd3bJf9QeA0uRiOyEn6Ks",
) -> RestClient:
    """A client with a fresh EC P-256 key pair (ES256). Client id in NetSuite's shape (64 hex
    digits); certificate id in its shape (43 base64url characters)."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    return RestClient(client_id, certificate_id, public, private, "ES256")


DEFAULT_REST_CLIENT = generate_client()
"""The OAuth 2.0 client an emulator accepts unless told otherwise; its key pair is generated once
per process (so no private key ships in the package)."""


def load_public_key(pem: str | bytes) -> str:
    """The PEM of a public key (or of a certificate's public key), checked. Raises ValueError."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        if b"CERTIFICATE" in data:
            from cryptography import x509

            key: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError as error:
        raise ValueError(
            f"the OAuth 2.0 public key is not a PEM public key or certificate: {error}"
        ) from None
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def invalid_login(detail: str = LOGIN_DETAIL) -> RestError:
    return RestError(401, "INVALID_LOGIN", detail, title="Unauthorized")


# ---- TBA ----------------------------------------------------------------------------------------


def percent_encode(value: str) -> str:
    """RFC 5849 section 3.6: UTF-8, then every byte outside ALPHA / DIGIT / "-" / "." / "_" / "~"."""
    return quote(value, safe="~")


def parse_oauth_header(header: str) -> dict[str, str]:
    """``OAuth realm="X", oauth_...="..."`` -> its parameters, values percent-decoded (RFC 5849
    section 3.5.1). Raises RestError 401 when it is not such a header."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "oauth":
        raise invalid_login()
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _HEADER_PARAM.match(rest, position)
        if match is None or match.group(1) in params:
            raise invalid_login()
        params[match.group(1)] = unquote(match.group(2))
        position = match.end()
    return params


def signature_base_string(method: str, base_uri: str, params: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 section 3.4.1: METHOD & enc(base URI) & enc(sorted, encoded name=value pairs)."""
    pairs = sorted((percent_encode(name), percent_encode(value)) for name, value in params)
    normalized = "&".join(f"{name}={value}" for name, value in pairs)
    return "&".join((method.upper(), percent_encode(base_uri), percent_encode(normalized)))


def hmac_sha256_signature(base_string: str, consumer_secret: str, token_secret: str) -> str:
    """RFC 5849 section 3.4.2 with SHA-256: key enc(consumer secret)&enc(token secret), base64."""
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base_string.encode(), hashlib.sha256).digest()).decode("ascii")


class TbaChecker:
    """Checks OAuth 1.0a ``Authorization`` headers against the account's TBA credentials.
    Thread-safe.

    A header passes when: realm is the account id exactly as NetSuite writes it (``1234567_SB1``;
    ``1234567_sb1`` is refused, with a detail saying so), consumer key and token match, the method
    is HMAC-SHA256, ``oauth_version`` (if sent) is 1.0, the signature is right, the timestamp is
    within TIMESTAMP_TOLERANCE seconds of the clock and the nonce was not used before.
    """

    def __init__(self, credentials: TokenCredentials, clock: Clock = time.time) -> None:
        self.credentials = credentials
        self.clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.nonces = NonceStore()

    def check(
        self,
        header: str,
        method: str,
        base_uri: str,
        query: Iterable[tuple[str, str]],
        form: Iterable[tuple[str, str]],
    ) -> None:
        """Check ``header`` for a request ``method base_uri`` with its query and form parameters.

        Raises:
            RestError: 401 INVALID_LOGIN on any failure.
        """
        params = parse_oauth_header(header)
        creds, realm = self.credentials, params.get("realm", "")
        if realm != creds.account.passport:
            if realm.upper() == creds.account.passport:
                raise invalid_login(
                    f"{LOGIN_DETAIL} The realm must be the account id in upper case "
                    f"({creds.account.passport}), not {realm!r}."
                )
            raise invalid_login()
        timestamp = params.get("oauth_timestamp", "")
        nonce = params.get("oauth_nonce", "")
        if (
            params.get("oauth_consumer_key") != creds.consumer_key
            or params.get("oauth_token") != creds.token_id
            or params.get("oauth_signature_method") != "HMAC-SHA256"
            or params.get("oauth_version", "1.0") != "1.0"
            or not 1 <= len(nonce) <= 128
            or not _TIMESTAMP.match(timestamp)
        ):
            raise invalid_login()
        signed = [(k, v) for k, v in params.items() if k not in ("realm", "oauth_signature")]
        expected = hmac_sha256_signature(
            signature_base_string(method, base_uri, [*query, *form, *signed]),
            creds.consumer_secret,
            creds.token_secret,
        )
        if not hmac.compare_digest(expected.encode(), params.get("oauth_signature", "").encode()):
            raise invalid_login()
        now = self.clock()
        if abs(now - int(timestamp)) > TIMESTAMP_TOLERANCE:
            raise invalid_login()
        with self._lock:
            if not self.nonces.add(nonce, int(timestamp), now):
                raise invalid_login()


# ---- OAuth 2.0 ----------------------------------------------------------------------------------


class OAuthError(Exception):
    """A token endpoint refusal: HTTP 400 with ``{"error", "error_description"}`` (RFC 6749 5.2)."""

    def __init__(self, error: str, description: str) -> None:
        self.error = error
        self.description = description
        super().__init__(f"{error}: {description}")


class ClientCredentialsServer:
    """The token endpoint and the bearer tokens it issued. Thread-safe.

    Args:
        client: the accepted client (its client id, certificate id and public key).
        clock: Unix seconds.
        token_seconds: an access token's validity (3600, as NetSuite; smaller to test refresh).
    """

    def __init__(
        self, client: RestClient, clock: Clock = time.time, token_seconds: float = TOKEN_SECONDS
    ) -> None:
        if token_seconds <= 0:
            raise ValueError("token_seconds must be > 0")
        self.client = client
        self.clock = clock
        self.default_token_seconds = token_seconds
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every issued token; tokens last ``token_seconds`` as given at start again."""
        with self._lock:
            self._tokens: dict[str, float] = {}
            self.token_seconds = self.default_token_seconds

    def expire_tokens(self) -> int:
        """Make every issued token expired now (a client's next call gets 401); returns how many."""
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
            return count

    def issue(self, form: Mapping[str, str], token_url: str) -> dict[str, str]:
        """Answer a token request (form fields) sent to ``token_url``.

        Checks: ``grant_type=client_credentials``, the jwt-bearer assertion type; the JWT's
        header ``typ`` JWT, ``alg`` in JWT_ALGORITHMS, ``kid`` the certificate id; its signature
        with the public key; ``iss`` the client id, ``aud`` the token URL, ``iat``/``exp`` numbers
        with ``exp - iat`` <= 3600, not expired and not issued in the future (beyond
        TIMESTAMP_TOLERANCE), ``scope`` (comma or space separated) containing rest_webservices.

        Returns ``{"access_token", "expires_in" (seconds, a string as NetSuite sends it),
        "token_type": "Bearer"}``.

        Raises:
            OAuthError: unsupported_grant_type, invalid_request, invalid_client (header, signature,
                iss, aud) or invalid_grant (times, scope).
        """
        if form.get("grant_type") != "client_credentials":
            raise OAuthError("unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
        assertion = form.get("client_assertion")
        if not assertion:
            raise OAuthError("invalid_request", "client_assertion (the signed JWT) is missing")
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise OAuthError("invalid_client", "client_assertion is not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in JWT_ALGORITHMS:
            raise OAuthError("invalid_client", f"alg {algorithm!r} is not one of {', '.join(JWT_ALGORITHMS)}")
        if header.get("typ") != "JWT":
            raise OAuthError("invalid_client", "the JWT header's typ must be JWT")
        if header.get("kid") != self.client.certificate_id:
            raise OAuthError(
                "invalid_client", "kid is not the certificate id of a certificate of this client"
            )
        try:
            claims = jwt.decode(
                assertion,
                self.client.public_key,
                algorithms=[algorithm],
                audience=token_url,
                issuer=self.client.client_id,
                # Times are checked below against the emulator's clock, not PyJWT's.
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["iss", "aud"],
                },
            )
        except jwt.InvalidAudienceError:
            raise OAuthError("invalid_client", f"aud must be the token URL {token_url}") from None
        except jwt.InvalidIssuerError:
            raise OAuthError("invalid_client", "iss is not the client id of this integration") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            # A bad signature, or a key that does not fit the algorithm (PS* need RSA, ES* EC).
            raise OAuthError(
                "invalid_client", "the JWT's signature does not verify with the certificate's public key"
            ) from None
        iat, exp = claims.get("iat"), claims.get("exp")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (iat, exp)):
            raise OAuthError("invalid_grant", "iat and exp must be numbers (Unix seconds)")
        assert isinstance(iat, (int, float)) and isinstance(exp, (int, float))
        if exp - iat > MAX_ASSERTION_SECONDS or exp <= iat:
            raise OAuthError("invalid_grant", "exp must be after iat and at most 3600 seconds after it")
        now = self.clock()
        if exp <= now:
            raise OAuthError("invalid_grant", "the JWT has expired (exp is past): check the clock")
        if iat > now + TIMESTAMP_TOLERANCE:
            raise OAuthError("invalid_grant", "iat is in the future: check the clock")
        scope = claims.get("scope")
        scopes = re.split(r"[,\s]+", scope.strip()) if isinstance(scope, str) else []
        if "rest_webservices" not in scopes:
            raise OAuthError("invalid_grant", "scope must contain rest_webservices")
        token = secrets.token_urlsafe(48)
        with self._lock:
            self._tokens = {t: e for t, e in self._tokens.items() if e > now}
            self._tokens[token] = now + self.token_seconds
        return {"access_token": token, "expires_in": str(int(self.token_seconds)), "token_type": "Bearer"}

    def check(self, header: str) -> None:
        """``Bearer <token>``: an issued token not yet expired. Raises RestError 401 INVALID_LOGIN."""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        with self._lock:
            expiry = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if expiry is None or expiry <= self.clock():
            raise invalid_login()


class RestAuthenticator:
    """Either scheme by the ``Authorization`` header: ``OAuth ...`` (TBA) or ``Bearer ...``."""

    def __init__(self, tba: TbaChecker, oauth2: ClientCredentialsServer) -> None:
        self.tba = tba
        self.oauth2 = oauth2

    def reset(self) -> None:
        self.tba.reset()
        self.oauth2.reset()

    def check(
        self,
        header: str | None,
        method: str,
        base_uri: str,
        query: Iterable[tuple[str, str]],
        form: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Raises RestError 401 INVALID_LOGIN when the header is missing or does not pass."""
        if not header:
            raise invalid_login()
        if header.split(" ", 1)[0].lower() == "bearer":
            self.oauth2.check(header)
        else:
            self.tba.check(header, method, base_uri, query, form)
