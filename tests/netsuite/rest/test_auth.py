"""REST authentication: TBA signatures against RFC 5849 and independent HMAC computations, JWT
assertions verified with cryptography, the token cache and its refresh on a 401, bad keys."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from oauthlib import oauth1  # type: ignore[import-untyped]
from oauthlib.common import Request as OAuthRequest  # type: ignore[import-untyped]

from airflow_asyncjob.netsuite.auth import TokenCredentials
from airflow_asyncjob.netsuite.endpoints import normalize_account_id
from airflow_asyncjob.netsuite.faults import AuthenticationError, ConfigurationError
from airflow_asyncjob.netsuite.rest.auth import (
    ASSERTION_LIFETIME,
    TOKENS,
    ClientCredentials,
    ClientCredentialsAuth,
    TbaAuth,
    rest_auth,
    tba_client,
    tba_header,
)
from airflow_asyncjob.netsuite.rest.client import AsyncRestClient, RestClient
from airflow_asyncjob.netsuite.rest.settings import RestSettings

from .conftest import BASE, FAST, JOB, error, job, pem, token_answer

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"

# RFC 5849 section 1.2: the photos.example.net request, its credentials and its signature.
RFC_CREDENTIALS = TokenCredentials(
    normalize_account_id("1234567"),
    consumer_key="dpf43f3p2l4k3l03",
    consumer_secret="kd94hf93k423kf44",
    token_id="nnch734d00sl2jdk",
    token_secret="pfkkdhi9sl3r4s00",
)
RFC_URL = "http://photos.example.net/photos?file=vacation.jpg&size=original"
RFC_BASE_STRING = (
    "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3D"
    "dpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp"
    "%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal"
)
RFC_SIGNATURE = "MdpQcU8iPSUjWoN/UDMsK2sui9I="


def _rfc_request(method_name: str) -> OAuthRequest:
    request = OAuthRequest(RFC_URL, "GET")
    request.oauth_params = [
        ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
        ("oauth_token", "nnch734d00sl2jdk"),
        ("oauth_signature_method", method_name),
        ("oauth_timestamp", "137131202"),
        ("oauth_nonce", "chapoH"),
    ]
    return request


def test_rfc5849_hmac_sha1_example_through_the_same_oauthlib_client():
    client = tba_client(RFC_CREDENTIALS, signature_method=oauth1.SIGNATURE_HMAC_SHA1)
    assert client.get_oauth_signature(_rfc_request("HMAC-SHA1")) == RFC_SIGNATURE


def test_rfc5849_base_string_signed_with_hmac_sha256_matches_hashlib():
    base_string = RFC_BASE_STRING.replace("HMAC-SHA1", "HMAC-SHA256")
    key = b"kd94hf93k423kf44&pfkkdhi9sl3r4s00"
    expected = base64.b64encode(hmac.new(key, base_string.encode(), hashlib.sha256).digest()).decode()
    client = tba_client(RFC_CREDENTIALS)  # the default: HMAC-SHA256, as NetSuite requires
    assert client.get_oauth_signature(_rfc_request("HMAC-SHA256")) == expected


def _header_params(header: str) -> dict[str, str]:
    assert header.startswith("OAuth ")
    params = {}
    for part in header[len("OAuth ") :].split(","):
        name, _, value = part.strip().partition("=")
        params[name] = unquote(value.strip('"'))
    return params


def _independent_signature(method: str, url: str, params: dict[str, str], secret: str) -> str:
    """RFC 5849 3.4.1 written out here: method, base URI, sorted encoded parameters."""
    enc = lambda s: quote(s, safe="~-._")  # noqa: E731
    parts = urlsplit(url)
    base_uri = f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"
    pairs = [(k, v) for k, v in params.items() if k not in ("realm", "oauth_signature")]
    pairs += parse_qsl(parts.query, keep_blank_values=True)
    normalized = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted((enc(k), enc(v)) for k, v in pairs))
    base = "&".join([method.upper(), enc(base_uri), enc(normalized)])
    return base64.b64encode(hmac.new(secret.encode(), base.encode(), hashlib.sha256).digest()).decode()


def test_tba_header_is_netsuites_shape_and_verifies_independently(tba):
    url = f"{BASE}{JOB}/42/task?offset=0&limit=1000"
    header = tba_header(tba, "get", url, nonce="n0nceABC123", timestamp="1764583200")
    params = _header_params(header)
    assert params["realm"] == "1234567_SB1"
    assert params["oauth_signature_method"] == "HMAC-SHA256"
    assert params["oauth_version"] == "1.0"
    assert params["oauth_consumer_key"] == tba.consumer_key
    assert params["oauth_token"] == tba.token_id
    assert (params["oauth_nonce"], params["oauth_timestamp"]) == ("n0nceABC123", "1764583200")
    assert "oauth_body_hash" not in params
    secret = f"{tba.consumer_secret}&{tba.token_secret}"
    assert params["oauth_signature"] == _independent_signature("GET", url, params, secret)


def test_realm_is_upper_case_whatever_case_the_account_was_given_in():
    credentials = TokenCredentials(normalize_account_id("tstdrv1234567_sb2"), "ck", "cs", "tk", "ts")
    assert _header_params(tba_header(credentials, "GET", BASE + "/x"))["realm"] == "TSTDRV1234567_SB2"


def test_each_request_and_each_retry_gets_a_fresh_nonce(tba_settings, server):
    server.on("GET", f"{JOB}/1", error(503, "UNEXPECTED_ERROR"), job("1", False, "pending"))
    with RestClient(tba_settings, retry=FAST, transport=server.transport()) as client:
        client.check_async_status("1")
    nonces = [_header_params(r.headers["authorization"])["oauth_nonce"] for r in server.requests]
    assert len(nonces) == 2 and nonces[0] != nonces[1]


def test_oauthlib_never_logs_the_signature(tba, caplog):
    caplog.set_level(logging.DEBUG)
    header = tba_header(tba, "GET", BASE + "/services/rest/system/v1/serverTime")
    signature = _header_params(header)["oauth_signature"]
    assert not any(signature in r.getMessage() for r in caplog.records)
    assert not any(quote(signature, safe="") in r.getMessage() for r in caplog.records)


# ---- JWT assertions ------------------------------------------------------------------------------


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _verify_jws(token: str, public_key: Any, algorithm: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a compact JWS with cryptography alone (no JWT library); return (header, payload)."""
    head, body, signature = token.split(".")
    signing_input = f"{head}.{body}".encode()
    raw = _b64(signature)
    if algorithm == "PS256":
        public_key.verify(
            raw,
            signing_input,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
            hashes.SHA256(),
        )
    else:
        assert len(raw) == 64  # JWS ES256: r || s, 32 bytes each
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public_key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    return json.loads(_b64(head)), json.loads(_b64(body))


@pytest.mark.parametrize("algorithm", ["PS256", "ES256"])
def test_assertion_is_signed_with_the_private_key_and_carries_netsuites_claims(algorithm, rsa_key, ec_key):
    key = rsa_key if algorithm == "PS256" else ec_key
    credentials = ClientCredentials(
        normalize_account_id("1234567_SB1"), "client-1", "cert-1", pem(key), algorithm=algorithm
    )
    token_url = BASE + TOKEN_PATH
    header, payload = _verify_jws(
        credentials.assertion(token_url, now=1_764_583_200), key.public_key(), algorithm
    )
    assert header == {"typ": "JWT", "alg": algorithm, "kid": "cert-1"}
    assert payload["iss"] == "client-1"
    assert payload["scope"] == "rest_webservices"
    assert payload["aud"] == token_url
    assert payload["iat"] == 1_764_583_200
    assert 0 < payload["exp"] - payload["iat"] == ASSERTION_LIFETIME < 3600


def test_an_assertion_signed_by_another_key_does_not_verify(ec_key):
    credentials = ClientCredentials(normalize_account_id("1234567"), "c", "k", pem(ec_key), algorithm="ES256")
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(InvalidSignature):
        _verify_jws(credentials.assertion(BASE + TOKEN_PATH), other.public_key(), "ES256")


def test_a_key_pasted_with_escaped_newlines_loads(ec_key):
    one_line = pem(ec_key).replace("\n", "\\n")
    credentials = ClientCredentials(normalize_account_id("1234567"), "c", "k", one_line, algorithm="es256")
    assert credentials.algorithm == "ES256"


# ---- bad credentials -----------------------------------------------------------------------------


def _make(key_pem: str, algorithm: str = "PS256", **fields: Any) -> ClientCredentials:
    values = {"client_id": "client-1", "certificate_id": "cert-1", **fields}
    return ClientCredentials(
        normalize_account_id("1234567"), private_key=key_pem, algorithm=algorithm, **values
    )


def test_unknown_algorithm_names_the_ones_netsuite_accepts(rsa_key):
    with pytest.raises(ConfigurationError, match="RS256.*PS256, PS384, PS512, ES256, ES384, ES512"):
        _make(pem(rsa_key), "RS256")


@pytest.mark.parametrize(
    "algorithm, key_name, message",
    [
        ("ES256", "rsa", "an RSA key .*ES256 needs an EC key on secp256r1"),
        ("PS256", "ec", "an EC key on secp256r1.*PS256 needs an RSA key"),
        ("ES256", "p384", "an EC key on secp384r1.*ES256 needs an EC key on secp256r1"),
    ],
)
def test_a_key_of_the_wrong_type_for_the_algorithm_is_refused(algorithm, key_name, message, rsa_key, ec_key):
    key = {"rsa": rsa_key, "ec": ec_key, "p384": ec.generate_private_key(ec.SECP384R1())}[key_name]
    with pytest.raises(ConfigurationError, match=message):
        _make(pem(key), algorithm)


def test_a_pem_that_does_not_load_is_refused_without_quoting_it():
    garbage = (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-not-a-key\n-----END PRIVATE KEY-----"
    )
    with pytest.raises(ConfigurationError, match="does not load as a private key") as caught:
        _make(garbage)
    assert "MIIEvQ" not in str(caught.value)


def test_a_certificate_or_public_key_instead_of_the_private_key_says_so(ec_key):
    public = (
        ec_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ConfigurationError, match="a public key, not the private key"):
        _make(public, "ES256")
    with pytest.raises(ConfigurationError, match="a certificate, not its private key"):
        _make("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "ES256")


def test_an_encrypted_key_is_refused_with_what_to_do(ec_key):
    encrypted = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    ).decode()
    with pytest.raises(ConfigurationError, match="encrypted private key.*unencrypted"):
        _make(encrypted, "ES256")


def test_missing_ids_and_unknown_scopes_are_named(ec_key):
    with pytest.raises(ConfigurationError, match="certificate_id is missing"):
        _make(pem(ec_key), "ES256", certificate_id=" ")
    with pytest.raises(ConfigurationError, match="scope 'rest_web_services'"):
        _make(pem(ec_key), "ES256", scope="rest_web_services")
    assert (
        _make(pem(ec_key), "ES256", scope="restlets, rest_webservices").scope == "restlets,rest_webservices"
    )


def test_client_credentials_copy_like_plain_values(m2m):
    import copy
    import pickle

    assert copy.deepcopy(m2m) == m2m
    assert pickle.loads(pickle.dumps(m2m)) == m2m


def test_the_private_key_is_in_no_repr(m2m, ec_key):
    key_body = pem(ec_key).splitlines()[1]
    auth = rest_auth(m2m, BASE + TOKEN_PATH)
    for text in (repr(m2m), str(m2m), repr(auth), repr(RestSettings(m2m))):
        assert key_body not in text and "PRIVATE KEY" not in text


def test_tba_secrets_are_in_no_repr(tba):
    auth = rest_auth(tba, BASE + TOKEN_PATH)
    assert isinstance(auth, TbaAuth)
    for text in (repr(auth), repr(RestSettings(tba))):
        assert tba.consumer_secret not in text and tba.token_secret not in text


# ---- the token: fetched, cached, refreshed -------------------------------------------------------


def _token_form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))


def test_token_request_is_the_client_credentials_grant_with_a_jwt_assertion(m2m_settings, ec_key, server):
    server.on("POST", TOKEN_PATH, token_answer())
    server.on("GET", f"{JOB}/1", job("1", False, "pending"))
    with RestClient(m2m_settings, retry=FAST, transport=server.transport()) as client:
        client.check_async_status("1")
    token_request, poll = server.requests
    form = _token_form(token_request)
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    _, payload = _verify_jws(form["client_assertion"], ec_key.public_key(), "ES256")
    assert payload["aud"] == m2m_settings.token_url == BASE + TOKEN_PATH
    assert poll.headers["authorization"] == "Bearer access-token-1"


def test_one_token_serves_many_requests_and_clients_in_the_process(m2m_settings, server):
    server.on("POST", TOKEN_PATH, token_answer())
    server.on("GET", f"{JOB}/1", job("1", False, "pending"))
    for _ in range(2):
        with RestClient(m2m_settings, retry=FAST, transport=server.transport()) as client:
            client.check_async_status("1")
            client.check_async_status("1")
    assert server.paths().count(f"POST {TOKEN_PATH}") == 1
    assert len(server.requests) == 5


def test_a_token_about_to_end_is_not_reused(m2m_settings, server):
    server.on("POST", TOKEN_PATH, token_answer("short", expires_in="200"), token_answer("next"))
    server.on("GET", f"{JOB}/1", job("1", False, "pending"))
    with RestClient(m2m_settings, retry=FAST, transport=server.transport()) as client:
        client.check_async_status("1")
        client.check_async_status("1")
    assert server.paths().count(f"POST {TOKEN_PATH}") == 2
    assert server.requests[-1].headers["authorization"] == "Bearer next"


def test_a_401_with_a_cached_token_fetches_a_new_one_and_resends_once(m2m_settings, server):
    server.on("POST", TOKEN_PATH, token_answer("old"), token_answer("new"))
    server.on(
        "GET",
        f"{JOB}/1",
        job("1", False, "pending"),
        error(401, "INVALID_LOGIN", "Invalid login attempt."),
        job("1", True, "succeeded"),
    )
    server.on("GET", f"{JOB}/1/task", httpx.Response(200, json={"items": [], "hasMore": False}))
    with RestClient(m2m_settings, retry=FAST, transport=server.transport()) as client:
        client.check_async_status("1")  # caches "old"
        with pytest.raises(Exception):  # noqa: B017  (the empty task list: not what is tested here)
            client.check_async_status("1")
    auths = [r.headers.get("authorization") for r in server.requests if r.url.path.startswith(JOB)]
    assert auths[:3] == ["Bearer old", "Bearer old", "Bearer new"]
    assert server.paths().count(f"POST {TOKEN_PATH}") == 2


def test_a_401_with_a_fresh_token_is_an_authentication_error_not_a_loop(m2m_settings, server):
    server.on("POST", TOKEN_PATH, token_answer())
    server.on("GET", f"{JOB}/1", error(401, "INVALID_LOGIN", "Invalid login attempt."))
    with RestClient(m2m_settings, retry=FAST, transport=server.transport()) as client:
        with pytest.raises(AuthenticationError, match="INVALID_LOGIN") as caught:
            client.check_async_status("1")
    assert caught.value.hint and "REST Web Services" in caught.value.hint
    assert server.paths() == [f"POST {TOKEN_PATH}", f"GET {JOB}/1"]
    assert "access-token-1" not in str(caught.value)


@pytest.mark.parametrize("oauth_error", ["invalid_client", "invalid_grant"])
def test_a_refused_assertion_is_an_authentication_error_with_the_certificate_hint(
    m2m_settings, server, oauth_error
):
    # What NetSuite answers for an expired or revoked certificate, a wrong certificate id or kid.
    server.on("POST", TOKEN_PATH, httpx.Response(400, json={"error": oauth_error}))
    with RestClient(m2m_settings, retry=FAST, transport=server.transport()) as client:
        with pytest.raises(AuthenticationError) as caught:
            client.server_time()
    error_ = caught.value
    assert error_.code == oauth_error and not error_.transient
    assert (
        error_.hint
        and "certificate_id" in error_.hint
        and "expired" in error_.hint
        and "clock" in error_.hint
    )
    assert len(server.requests) == 1  # not retried: it cannot succeed
    assert _token_form(server.requests[0])["client_assertion"] not in str(error_)


def test_a_token_endpoint_answering_html_is_a_response_error(m2m_settings, server):
    server.on("POST", TOKEN_PATH, httpx.Response(200, text="<html><body>Login</body></html>"))
    with RestClient(m2m_settings, retry=FAST, transport=server.transport()) as client:
        with pytest.raises(Exception, match="an HTML page") as caught:
            client.server_time()
    assert type(caught.value).__name__ == "NetSuiteResponseError"


async def test_concurrent_async_requests_share_one_token_fetch(m2m_settings, server):
    from airflow_asyncjob.netsuite.channels import AccountChannel
    from airflow_asyncjob.netsuite.limiter import AimdLimiter

    server.on("POST", TOKEN_PATH, token_answer())
    server.on("GET", f"{JOB}/1", job("1", False, "pending"))
    async with httpx.AsyncClient(transport=server.transport()) as http:
        channel = AccountChannel("1234567_SB1", AimdLimiter(4), http)
        client = AsyncRestClient(m2m_settings, channel, retry=FAST)
        await asyncio.gather(*(client.check_async_status("1") for _ in range(4)))
    assert server.paths().count(f"POST {TOKEN_PATH}") == 1
    assert (
        TOKENS.get(ClientCredentialsAuth(m2m_settings.credentials, m2m_settings.token_url).key)
        == "access-token-1"
    )


def test_rest_auth_refuses_other_credentials():
    with pytest.raises(ConfigurationError, match="TokenCredentials .* or ClientCredentials"):
        rest_auth(object(), BASE + TOKEN_PATH)  # type: ignore[arg-type]


def test_rsa_key_type_is_named_with_its_size(rsa_key):
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    with pytest.raises(ConfigurationError, match=r"an RSA key \(2048 bits\)"):
        _make(pem(rsa_key), "ES384")


async def test_the_async_client_refreshes_a_refused_token_once(m2m_settings, server):
    from airflow_asyncjob.netsuite.channels import AccountChannel
    from airflow_asyncjob.netsuite.limiter import AimdLimiter

    server.on("POST", TOKEN_PATH, token_answer("old"), token_answer("new"))
    server.on(
        "GET",
        f"{JOB}/1",
        job("1", False, "pending"),
        error(401, "INVALID_LOGIN", "Invalid login attempt."),
        job("1", False, "processing"),
    )
    async with httpx.AsyncClient(transport=server.transport()) as http:
        client = AsyncRestClient(
            m2m_settings, AccountChannel("1234567_SB1", AimdLimiter(4), http), retry=FAST
        )
        await client.check_async_status("1")
        assert (await client.check_async_status("1")).status.value == "processing"
    auths = [r.headers.get("authorization") for r in server.requests if r.url.path.startswith(JOB)]
    assert auths == ["Bearer old", "Bearer old", "Bearer new"]
