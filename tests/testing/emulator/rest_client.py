"""A REST client for the emulator's tests, independent of the package's: httpx with an OAuth 1.0a
header from oauthlib, or a bearer token fetched with a JWT assertion signed by PyJWT."""

from __future__ import annotations

import time
import uuid
from collections.abc import Generator
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
from oauthlib import oauth1  # type: ignore[import-untyped]
from oauthlib.oauth1.rfc5849 import signature as oauth_signature  # type: ignore[import-untyped]

from airflow_asyncjob.testing.emulator import DEFAULT_CREDENTIALS, Emulator

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
COLLECTION = "application/vnd.oracle.resource+json; type=collection"
RECORDS = "/services/rest/record/v1"
JOBS = "/services/rest/async/v1/job"


class Tba(httpx.Auth):
    """Signs each request with oauthlib (HMAC-SHA256); ``overrides`` replace the client's
    arguments (realm, client_secret, ...) or fix ``nonce`` / ``timestamp``."""

    def __init__(self, **overrides: Any) -> None:
        self.arguments: dict[str, Any] = {
            "client_key": DEFAULT_CREDENTIALS["consumer_key"],
            "client_secret": DEFAULT_CREDENTIALS["consumer_secret"],
            "resource_owner_key": DEFAULT_CREDENTIALS["token_id"],
            "resource_owner_secret": DEFAULT_CREDENTIALS["token_secret"],
            "signature_method": oauth1.SIGNATURE_HMAC_SHA256,
            "realm": "1234567_SB1",
            **overrides,
        }

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        client = oauth1.Client(**self.arguments)
        _, headers, _ = client.sign(str(request.url), request.method)
        request.headers["Authorization"] = headers["Authorization"]
        yield request


def oauthlib_signature(method: str, uri: str, params: list[tuple[str, str]], secrets: tuple[str, str]) -> str:
    """oauthlib's base string and HMAC-SHA256 signature, for a vector independent of the emulator."""
    base = oauth_signature.signature_base_string(method, uri, oauth_signature.normalize_parameters(params))
    client = SimpleNamespace(client_secret=secrets[0], resource_owner_secret=secrets[1])
    return f"{base} {oauth_signature.sign_hmac_sha256_with_client(base, client)}"


def assertion(emulator: Emulator, private_key: str | None = None, **overrides: Any) -> str:
    """A client assertion for the emulator's OAuth 2.0 client; ``overrides`` replace claims, and
    ``alg`` / ``kid`` / ``typ`` the header."""
    client = emulator.rest_client
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client.client_id,
        "scope": "rest_webservices",
        "aud": emulator.rest_token_url,
        "iat": now,
        "exp": now + 3600,
    }
    header = {"kid": client.certificate_id, "typ": "JWT"}
    algorithm = overrides.pop("alg", "ES256")
    for name in ("kid", "typ"):
        if name in overrides:
            header[name] = overrides.pop(name)
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    key = private_key or client.private_key
    assert key is not None
    return jwt.encode(claims, key, algorithm=algorithm, headers=header)


def token_form(jwt_assertion: str, **overrides: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": jwt_assertion,
        **overrides,
    }


class Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def fetch_token(emulator: Emulator) -> str:
    answer = httpx.post(emulator.rest_token_url, data=token_form(assertion(emulator)))
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def async_headers(key: str | None = None, batch: bool = False) -> dict[str, str]:
    headers = {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": key or str(uuid.uuid4())}
    if batch:
        headers["Content-Type"] = COLLECTION
    return headers


def error_code(response: httpx.Response) -> str:
    """The ``o:errorCode`` of a NetSuite REST error body (asserting its shape)."""
    body = response.json()
    assert body["status"] == response.status_code or response.status_code == 200
    assert {"type", "title", "status", "o:errorDetails"} <= set(body)
    return body["o:errorDetails"][0]["o:errorCode"]


def job_id_of(response: httpx.Response) -> str:
    location = response.headers["location"]
    assert JOBS + "/" in location, location
    return location.rsplit("/", 1)[1]
