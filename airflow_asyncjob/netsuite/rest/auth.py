"""REST authentication as httpx.Auth: TBA (OAuth 1.0a, HMAC-SHA256) and OAuth 2.0 client credentials.

- TBA (Help Center section_1534941295, section_156338994830): ``Authorization: OAuth realm=
  "<ACCOUNT_ID>", oauth_consumer_key, oauth_token, oauth_nonce, oauth_timestamp,
  oauth_signature_method="HMAC-SHA256", oauth_version="1.0", oauth_signature``, signed by
  oauthlib's ``oauth1.Client`` (RFC 5849 base string: method, URL without query, sorted parameters
  with the query's). The realm is the account id with its suffix upper-cased (``1234567_SB1``).
- OAuth 2.0 client credentials (section_162755359851, section_162790605110): a JWT assertion
  signed by PyJWT (header ``typ=JWT, alg, kid=<certificate id>``; payload ``iss=<client id>,
  scope, aud=<token URL>, iat, exp`` < 60 min after iat) is exchanged at
  ``/services/rest/auth/oauth2/v1/token`` for a bearer token valid one hour (article_0907013045).
  Tokens are cached per process and (account, client id, certificate id, token URL) until
  TOKEN_REFRESH_MARGIN seconds before they end, and fetched again once on a 401.

Nothing here logs or quotes a secret: keys, tokens, assertions and signatures stay out of reprs,
messages and log records (oauthlib's own DEBUG record of each signature is filtered out).
Imports nothing from Airflow.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from oauthlib import oauth1  # type: ignore[import-untyped]  # no stubs shipped

from airflow_asyncjob.netsuite.auth import TokenCredentials
from airflow_asyncjob.netsuite.endpoints import AccountId, normalize_account_id
from airflow_asyncjob.netsuite.faults import (
    AuthenticationError,
    ConfigurationError,
    NetSuiteError,
    NetSuiteResponseError,
)
from airflow_asyncjob.netsuite.rest import errors

#: NetSuite's JWT algorithms for client credentials (Help Center section_162790605110); RS256 is no
#: longer accepted there.
ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}
#: The scopes an OAuth 2.0 client credentials mapping may ask for (comma-separated in the JWT).
SCOPES = ("restlets", "rest_webservices", "suite_analytics")
DEFAULT_SCOPE = "rest_webservices"
#: Seconds the JWT assertion is valid; NetSuite refuses exp more than 3600 s after iat. Half an hour
#: leaves room for a clock that is behind NetSuite's.
ASSERTION_LIFETIME = 1800
#: A cached access token is not used in its last five minutes (it is fetched again instead).
TOKEN_REFRESH_MARGIN = 300.0
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
TOKEN_OPERATION = "OAuth 2.0 token"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

TOKEN_HINT = (
    "Check the connection's client_id and certificate_id (Setup > Integration > Manage "
    "Authentication > OAuth 2.0 Client Credentials (M2M) Setup), that the certificate there is the "
    "one of this private key and has not expired or been revoked, that the integration record has "
    "'Client Credentials (Machine to Machine) Grant' and the scope asked for enabled, that the "
    "mapping's role has the 'REST Web Services' and 'Log in using OAuth 2.0 Access Tokens' "
    "permissions, and that this machine's clock is right."
)
TBA_HINT = (
    "Check the account id (the realm, e.g. 1234567_SB1 for a sandbox), the consumer key/secret and "
    "token id/secret, that the token belongs to this account and its role has the 'REST Web "
    "Services' permission, and this machine's clock; NetSuite's Login Audit Trail names the cause."
)
BEARER_HINT = (
    "NetSuite refused the OAuth 2.0 access token even after fetching a new one: check that the "
    "mapping's role has the 'REST Web Services' permission and the account id of the connection; "
    "NetSuite's Login Audit Trail names the cause."
)


class _DropSignatureRecords(logging.Filter):
    """oauthlib logs every signature it makes at DEBUG ("Signature: ..."): never let it out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Signature:")


logging.getLogger("oauthlib.oauth1.rfc5849").addFilter(_DropSignatureRecords())


# ---- TBA -----------------------------------------------------------------------------------------


def tba_client(
    credentials: TokenCredentials,
    *,
    signature_method: str = oauth1.SIGNATURE_HMAC_SHA256,
    nonce: str | None = None,
    timestamp: str | None = None,
) -> oauth1.Client:
    """The oauthlib OAuth 1.0a client for ``credentials`` (realm = the upper-case account id).

    ``nonce`` and ``timestamp`` (Unix seconds, as text) are for test vectors; by default oauthlib
    makes a fresh pair per signature. ``signature_method`` other than HMAC-SHA256 is for test
    vectors too: NetSuite accepts only HMAC-SHA256.
    """
    return oauth1.Client(
        credentials.consumer_key,
        client_secret=credentials.consumer_secret,
        resource_owner_key=credentials.token_id,
        resource_owner_secret=credentials.token_secret,
        signature_method=signature_method,
        realm=credentials.account.passport.upper(),
        nonce=nonce,
        timestamp=timestamp,
    )


def tba_header(
    credentials: TokenCredentials,
    method: str,
    url: str,
    *,
    nonce: str | None = None,
    timestamp: str | None = None,
) -> str:
    """The ``Authorization: OAuth ...`` value for one request (a new nonce and timestamp unless
    given). The body is not signed (RFC 5849 signs only form-encoded bodies; REST sends JSON);
    the URL's query parameters are."""
    client = tba_client(credentials, nonce=nonce, timestamp=timestamp)
    _, headers, _ = client.sign(url, http_method=method.upper())
    return str(headers["Authorization"])


class TbaAuth(httpx.Auth):
    """httpx.Auth signing each request (each retry too) with a fresh TBA header.

    Args:
        credentials: the four TBA secrets and the account.
    """

    def __init__(self, credentials: TokenCredentials) -> None:
        self.credentials = credentials
        self.auth_hint = TBA_HINT

    def __repr__(self) -> str:
        return f"TbaAuth(account={self.credentials.account.passport!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = tba_header(self.credentials, request.method, str(request.url))
        yield request


# ---- OAuth 2.0 client credentials ----------------------------------------------------------------


@dataclass(frozen=True)
class ClientCredentials:
    """An OAuth 2.0 client credentials (machine to machine) mapping, checked on construction.

    Attributes:
        account: the account (an AccountId, or the id as text, normalised).
        client_id: the integration record's client id (the JWT's ``iss``).
        certificate_id: the certificate id of the mapping (the JWT header's ``kid``).
        private_key: the certificate's private key, PEM (unencrypted PKCS#8 or traditional);
            never in a repr or message. ``\\n`` escapes, as a one-line form field gives them, are read
            as line breaks.
        algorithm: one of ALGORITHMS (PS256 default): PS* need an RSA key, ES256/384/512 an EC
            key on P-256/P-384/P-521.
        scope: comma-separated, of SCOPES (``rest_webservices`` default).

    Raises:
        ConfigurationError: a value missing, an unknown algorithm or scope, a PEM that does not
            load as a private key, or a key that does not fit the algorithm (the message names the
            field and the fix, and never quotes the key).
    """

    account: AccountId
    client_id: str
    certificate_id: str
    private_key: str = field(repr=False)
    algorithm: str = "PS256"
    scope: str = DEFAULT_SCOPE

    def __post_init__(self) -> None:
        if isinstance(self.account, str):
            object.__setattr__(self, "account", normalize_account_id(self.account))
        for name in ("client_id", "certificate_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(
                    f"{name} is missing: set it in the connection's extra (from Setup > Integration > "
                    "Manage Authentication > OAuth 2.0 Client Credentials (M2M) Setup)."
                )
            object.__setattr__(self, name, value.strip())
        algorithm = str(self.algorithm or "").strip().upper()
        if algorithm not in ALGORITHMS:
            raise ConfigurationError(
                f"algorithm {str(self.algorithm)[:20]!r} is not one NetSuite accepts for OAuth 2.0 "
                f"client credentials: use one of {', '.join(ALGORITHMS)} (PS* for an RSA certificate, "
                "ES* for an EC one)."
            )
        object.__setattr__(self, "algorithm", algorithm)
        scopes = [s.strip() for s in str(self.scope or "").split(",") if s.strip()]
        unknown = [s for s in scopes if s not in SCOPES]
        if not scopes or unknown:
            raise ConfigurationError(
                f"scope {str(self.scope)[:60]!r} is not a comma-separated list of {', '.join(SCOPES)}: "
                f"use {DEFAULT_SCOPE!r} for REST web services."
            )
        object.__setattr__(self, "scope", ",".join(scopes))
        # Loaded here to check it, and again per assertion (once an hour): the loaded key is not
        # kept, so these credentials stay plain values that copy and compare like the others.
        _load_private_key(self.private_key, algorithm)

    def assertion(self, token_url: str, *, now: float | None = None) -> str:
        """The signed JWT client assertion for ``token_url`` (its ``aud``), issued at ``now``
        (Unix seconds, default the clock) and valid ASSERTION_LIFETIME seconds."""
        issued = int(time.time() if now is None else now)
        payload = {
            "iss": self.client_id,
            "scope": self.scope,
            "aud": token_url,
            "iat": issued,
            "exp": issued + ASSERTION_LIFETIME,
        }
        headers = {"typ": "JWT", "kid": self.certificate_id}
        key = _load_private_key(self.private_key, self.algorithm)
        return jwt.encode(payload, key, algorithm=self.algorithm, headers=headers)


def _load_private_key(pem: Any, algorithm: str) -> Any:
    if not isinstance(pem, str) or not pem.strip():
        raise ConfigurationError(
            "private_key is missing: paste the PEM private key of the certificate uploaded on the "
            "OAuth 2.0 Client Credentials (M2M) Setup page into the connection's private_key field."
        )
    text = pem.strip()
    if "\\n" in text and "\n" not in text:
        text = text.replace("\\n", "\n")
    if "BEGIN CERTIFICATE" in text and "PRIVATE KEY" not in text:
        problem = "a certificate, not its private key"
    elif "PUBLIC KEY" in text and "PRIVATE KEY" not in text:
        problem = "a public key, not the private key"
    elif "ENCRYPTED" in text:
        problem = "an encrypted private key (give it unencrypted: the connection's field is a secret)"
    else:
        problem = ""
    key: Any = None
    if not problem:
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as error:
            # TypeError: a password is needed. The error's own text never holds key material.
            problem = f"a PEM that does not load as a private key ({type(error).__name__})"
        except Exception as error:  # cryptography's UnsupportedAlgorithm and friends
            problem = f"a key of a kind that cannot be used ({type(error).__name__})"
    if problem:
        raise ConfigurationError(
            f"private_key is {problem}. Give the PEM private key ('-----BEGIN PRIVATE KEY-----' ...) "
            "whose certificate is uploaded on the OAuth 2.0 Client Credentials (M2M) Setup page."
        )
    if algorithm.startswith("PS"):
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigurationError(
                f"private_key is {_kind(key)}, but algorithm {algorithm} needs an RSA key: set "
                "algorithm to ES256/ES384/ES512 for an EC key, or give the RSA key."
            )
    else:
        curve = _CURVES[algorithm]
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, curve):
            raise ConfigurationError(
                f"private_key is {_kind(key)}, but algorithm {algorithm} needs an EC key on "
                f"{curve.name}: set algorithm to the one of the key (PS256 for RSA; ES256, ES384, "
                "ES512 for P-256, P-384, P-521)."
            )
    return key


def _kind(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"an RSA key ({key.key_size} bits)"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"an EC key on {key.curve.name}"
    return f"a {type(key).__name__.lstrip('_')}"


#: (account, client id, certificate id, token URL)
TokenKey = tuple[str, str, str, str]


class TokenCache:
    """Access tokens by TokenKey, each until TOKEN_REFRESH_MARGIN seconds before it ends.

    Safe to share between threads; one instance per process (``TOKENS``). The monotonic clock
    is used, so a wall clock step does not keep a token past its end.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[TokenKey, tuple[str, float]] = {}
        self.fetches = 0
        """Tokens fetched into this cache since the process started (for tests and diagnostics)."""

    def __repr__(self) -> str:
        return f"TokenCache({len(self._tokens)} tokens)"

    def get(self, key: TokenKey) -> str | None:
        with self._lock:
            entry = self._tokens.get(key)
            if entry is None:
                return None
            token, usable_until = entry
            if time.monotonic() >= usable_until:
                del self._tokens[key]
                return None
            return token

    def put(self, key: TokenKey, token: str, expires_in: float) -> None:
        """Keep ``token`` for ``expires_in`` seconds less the margin (not at all when shorter)."""
        with self._lock:
            self.fetches += 1
            if expires_in > TOKEN_REFRESH_MARGIN:
                self._tokens[key] = (token, time.monotonic() + expires_in - TOKEN_REFRESH_MARGIN)

    def drop(self, key: TokenKey, token: str) -> None:
        """Forget ``token`` (refused by NetSuite) unless another one replaced it already."""
        with self._lock:
            entry = self._tokens.get(key)
            if entry is not None and entry[0] == token:
                del self._tokens[key]

    def clear(self) -> None:
        """Forget every token, as a new process would (tests)."""
        with self._lock:
            self._tokens.clear()


#: The access tokens of this process.
TOKENS = TokenCache()

_THREAD_LOCKS: dict[TokenKey, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()
_LOOP_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[TokenKey, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _thread_lock(key: TokenKey) -> threading.Lock:
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(key, threading.Lock())


def _loop_lock(key: TokenKey) -> asyncio.Lock:
    locks = _LOOP_LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(key, asyncio.Lock())


class ClientCredentialsAuth(httpx.Auth):
    """httpx.Auth sending ``Authorization: Bearer <token>``, fetching the token when needed.

    One token fetch at a time per key in a thread (sync clients) or an event loop (async ones):
    concurrent requests wait for the one fetch rather than each making its own. A request answered
    401 with a cached token gets a new token and is sent once more; a second 401 is the answer.

    Args:
        credentials: the client credentials mapping.
        token_url: NetSuite's token endpoint (``RestSettings.token_url``).
        timeout: seconds for the token request.
        cache: where tokens are kept (default the process's TOKENS).

    Raises (from the request that needed a token):
        AuthenticationError: the token endpoint refused the assertion (``invalid_client``,
            ``invalid_grant``...; ``code`` is the OAuth error, with TOKEN_HINT).
        NetSuiteResponseError: the token endpoint answered something that is not a token.
        NetSuiteError: as the REST client maps other statuses (5xx transient, 429 concurrency).
    """

    requires_response_body = True

    def __init__(
        self,
        credentials: ClientCredentials,
        token_url: str,
        *,
        timeout: float = 60.0,
        cache: TokenCache | None = None,
    ) -> None:
        self.credentials = credentials
        self.token_url = token_url
        self.timeout = timeout
        self.cache = TOKENS if cache is None else cache
        self.key: TokenKey = (
            credentials.account.passport,
            credentials.client_id,
            credentials.certificate_id,
            token_url,
        )
        self.auth_hint = BEARER_HINT

    def __repr__(self) -> str:
        c = self.credentials
        return f"ClientCredentialsAuth(account={c.account.passport!r}, client_id={c.client_id!r})"

    def token_request(self) -> httpx.Request:
        """The token request with a fresh assertion."""
        return httpx.Request(
            "POST",
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": self.credentials.assertion(self.token_url),
            },
            headers={"Accept": "application/json"},
            extensions={"timeout": httpx.Timeout(self.timeout).as_dict()},
        )

    def accept_token(self, response: httpx.Response) -> str:
        """The access token in the token endpoint's answer, cached; or raise the typed error."""
        token, expires_in = parse_token_response(response)
        self.cache.put(self.key, token, expires_in)
        return token

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.cache.get(self.key)
        fresh = False
        if token is None:
            with _thread_lock(self.key):
                token = self.cache.get(self.key)
                if token is None:
                    answer = yield self.token_request()
                    answer.read()
                    token, fresh = self.accept_token(answer), True
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401 or fresh:
            return
        self.cache.drop(self.key, token)
        with _thread_lock(self.key):
            renewed = self.cache.get(self.key)
            if renewed is None:
                answer = yield self.token_request()
                answer.read()
                renewed = self.accept_token(answer)
        request.headers["Authorization"] = f"Bearer {renewed}"
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = self.cache.get(self.key)
        fresh = False
        if token is None:
            async with _loop_lock(self.key):
                token = self.cache.get(self.key)
                if token is None:
                    answer = yield self.token_request()
                    await answer.aread()
                    token, fresh = self.accept_token(answer), True
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401 or fresh:
            return
        self.cache.drop(self.key, token)
        async with _loop_lock(self.key):
            renewed = self.cache.get(self.key)
            if renewed is None:
                answer = yield self.token_request()
                await answer.aread()
                renewed = self.accept_token(answer)
        request.headers["Authorization"] = f"Bearer {renewed}"
        yield request


def parse_token_response(response: httpx.Response) -> tuple[str, float]:
    """(access token, seconds it is valid) from the token endpoint's answer.

    Raises:
        AuthenticationError: a standard OAuth error answer (``{"error": "invalid_client"}``...).
        NetSuiteResponseError: a 200 without a usable ``access_token``/``expires_in``, or a body
            that is neither.
        NetSuiteError: another error status, mapped as the REST client maps it.
    """
    try:
        data = errors.read_json(response)
    except ValueError:
        data = None
    if response.status_code == 200 and isinstance(data, dict):
        token = data.get("access_token")
        try:
            expires_in = float(data.get("expires_in", 3600))
        except (TypeError, ValueError):
            expires_in = -1.0
        if isinstance(token, str) and token and expires_in >= 0:
            return token, expires_in
        raise NetSuiteResponseError(
            "the token endpoint answered HTTP 200 without a usable access_token and expires_in",
            operation=TOKEN_OPERATION,
            hint=errors.BASE_URL_HINT,
        )
    if isinstance(data, dict) and isinstance(data.get("error"), str) and response.status_code in (400, 401):
        description = data.get("error_description")
        return_error = AuthenticationError(
            fault_type="OAuth2",
            code=data["error"][:80],
            netsuite_message=description if isinstance(description, str) else "the token request was refused",
            http_status=response.status_code,
            operation=TOKEN_OPERATION,
            hint=TOKEN_HINT,
        )
        raise return_error
    error: NetSuiteError = errors.rest_error(response, operation=TOKEN_OPERATION, auth_hint=TOKEN_HINT)
    if response.status_code == 200:
        error = errors.not_netsuite_json(response, operation=TOKEN_OPERATION, wanted="a token")
    raise error


def rest_auth(
    credentials: TokenCredentials | ClientCredentials, token_url: str, *, timeout: float = 60.0
) -> TbaAuth | ClientCredentialsAuth:
    """The httpx.Auth for ``credentials``: TbaAuth, or ClientCredentialsAuth using ``token_url``."""
    if isinstance(credentials, ClientCredentials):
        return ClientCredentialsAuth(credentials, token_url, timeout=timeout)
    if isinstance(credentials, TokenCredentials):
        return TbaAuth(credentials)
    raise ConfigurationError(
        f"REST credentials must be TokenCredentials (TBA) or ClientCredentials (OAuth 2.0), "
        f"not {type(credentials).__name__}."
    )
