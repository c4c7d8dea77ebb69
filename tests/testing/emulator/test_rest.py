"""The emulator's REST web services, through plain httpx with oauthlib (TBA) and PyJWT (OAuth 2.0)
as the client: every resource, the auth failures, idempotency, the shared limit, injections and
batches where some or all records fail. The emulator's clock is stepped: nothing sleeps."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from airflow_asyncjob.testing.emulator import Emulator
from airflow_asyncjob.testing.emulator.rest_auth import hmac_sha256_signature, signature_base_string

from .rest_client import (
    JOBS,
    RECORDS,
    Bearer,
    Tba,
    assertion,
    async_headers,
    error_code,
    fetch_token,
    job_id_of,
    oauthlib_signature,
    token_form,
)

SCENARIO = {
    "submit_defaults": {"pending_seconds": 1, "processing_seconds": 4},
    "submit_rules": [
        {"external_id_prefix": "dup-", "code": "DUP_ENTITY", "message": "This entity already exists."},
        {"external_id_prefix": "boom-", "fails": "job", "code": "UNEXPECTED_ERROR", "message": "It broke."},
    ],
}


class SteppedClock:
    """Real time plus an offset the test advances (signatures carry real timestamps)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture(scope="module")
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture(scope="module")
def rest_emulator(clock: SteppedClock) -> Iterator[Emulator]:
    with Emulator(scenario=SCENARIO, clock=clock) as emu:
        yield emu


@pytest.fixture
def emu(rest_emulator: Emulator, clock: SteppedClock) -> Emulator:
    rest_emulator.reset()
    clock.offset = 0.0
    return rest_emulator


@pytest.fixture
def tba(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, auth=Tba(), timeout=10) as client:
        yield client


@pytest.fixture
def oauth2(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, auth=Bearer(fetch_token(emu)), timeout=10) as client:
        yield client


def submit_batch(
    client: httpx.Client, items: list[dict], method: str = "POST", key: str | None = None
) -> str:
    answer = client.request(
        method, f"{RECORDS}/customer", json={"items": items}, headers=async_headers(key, batch=True)
    )
    assert answer.status_code == 202, answer.text
    return job_id_of(answer)


def tasks_of(client: httpx.Client, job_id: str) -> list[dict]:
    listing = client.get(f"{JOBS}/{job_id}/task").json()
    return [client.get(item["links"][0]["href"]).json() for item in listing["items"]]


# ---- submit, job, tasks, results ----------------------------------------------------------------


def test_one_record_submit_answers_202_with_the_job_location(tba: httpx.Client, emu: Emulator) -> None:
    answer = tba.post(f"{RECORDS}/customer", json={"externalId": "c-1"}, headers=async_headers())
    assert answer.status_code == 202
    assert answer.headers["preference-applied"] == "respond-async"
    assert answer.headers["location"].startswith(f"{emu.base_url}{JOBS}/")
    assert answer.content == b""
    job = tba.get(f"{JOBS}/{job_id_of(answer)}").json()
    assert job["id"] == job_id_of(answer)
    assert job["completed"] is False and job["progress"] == "pending"
    assert job["links"] == [{"rel": "self", "href": answer.headers["location"]}]
    assert job["task"]["links"][0]["href"] == answer.headers["location"] + "/task"


def test_relative_location_when_asked(tba: httpx.Client, emu: Emulator) -> None:
    emu.rest_relative_location = True
    answer = tba.post(f"{RECORDS}/customer", json={"externalId": "c-1"}, headers=async_headers())
    assert answer.headers["location"] == f"{JOBS}/{job_id_of(answer)}"


def test_job_moves_pending_processing_then_succeeded_task_by_task(
    tba: httpx.Client, emu: Emulator, clock: SteppedClock
) -> None:
    job_id = submit_batch(tba, [{"externalId": f"c-{n}"} for n in range(4)])
    assert [t["progress"] for t in tasks_of(tba, job_id)] == ["pending"] * 4
    clock.advance(1 + 2.5)  # pending 1 s, then 4 s of processing: two tasks done, the third running
    job = tba.get(f"{JOBS}/{job_id}").json()
    assert (job["progress"], job["completed"]) == ("processing", False)
    tasks = tasks_of(tba, job_id)
    assert [t["progress"] for t in tasks] == ["succeeded", "succeeded", "processing", "pending"]
    assert tasks[0]["completed"] is True and "endTime" in tasks[0] and tasks[0]["startTime"].endswith("Z")
    assert "endTime" not in tasks[2] and "startTime" not in tasks[3]
    clock.advance(2)
    assert tba.get(f"{JOBS}/{job_id}").json() | {"links": None, "task": None} == {
        "links": None,
        "task": None,
        "completed": True,
        "id": job_id,
        "progress": "succeeded",
    }
    results = [tba.get(task["links"][0]["href"]) for task in tasks_of(tba, job_id)]
    assert all(r.status_code == 200 for r in results)
    assert [r.json()["externalId"] for r in results] == ["c-0", "c-1", "c-2", "c-3"]
    assert (
        results[0].json()["links"][0]["href"] == f"{emu.base_url}{RECORDS}/customer/{results[0].json()['id']}"
    )


def test_task_list_pages_with_offset_and_limit(tba: httpx.Client, clock: SteppedClock) -> None:
    job_id = submit_batch(tba, [{"externalId": f"c-{n}"} for n in range(5)])
    page = tba.get(f"{JOBS}/{job_id}/task", params={"offset": 2, "limit": 2}).json()
    assert (page["count"], page["offset"], page["totalResults"], page["hasMore"]) == (2, 2, 5, True)
    assert [i["links"][0]["href"].rsplit("/", 1)[1] for i in page["items"]] == ["3", "4"]
    last = tba.get(f"{JOBS}/{job_id}/task/", params={"offset": 4}).json()
    assert (last["count"], last["hasMore"]) == (1, False)
    assert error_code(tba.get(f"{JOBS}/{job_id}/task", params={"limit": 0})) == "INVALID_PARAMETER"


def test_batch_with_some_records_failing_ends_with_failed_tasks(
    tba: httpx.Client, clock: SteppedClock
) -> None:
    job_id = submit_batch(tba, [{"externalId": "c-1"}, {"externalId": "dup-2"}, {"externalId": "c-3"}], "PUT")
    clock.advance(10)
    assert [t["progress"] for t in tasks_of(tba, job_id)] == ["succeeded", "failed", "succeeded"]
    failed = tba.get(f"{JOBS}/{job_id}/task/2/result")
    assert failed.status_code == 200
    assert error_code(failed) == "DUP_ENTITY"
    assert failed.json()["o:errorDetails"][0]["detail"] == "This entity already exists."
    assert tba.get(f"{JOBS}/{job_id}").json()["completed"] is True


def test_batch_matching_a_job_rule_fails_every_task(tba: httpx.Client, clock: SteppedClock) -> None:
    job_id = submit_batch(tba, [{"externalId": "c-1"}, {"externalId": "boom-2"}])
    clock.advance(10)
    assert [t["progress"] for t in tasks_of(tba, job_id)] == ["failed", "failed"]
    assert {error_code(tba.get(f"{JOBS}/{job_id}/task/{n}/result")) for n in (1, 2)} == {"UNEXPECTED_ERROR"}
    assert tba.get(f"{JOBS}/{job_id}").json()["progress"] == "failed"


def test_update_upsert_and_delete_of_one_record_make_one_task(tba: httpx.Client, clock: SteppedClock) -> None:
    update = tba.patch(f"{RECORDS}/customer/42", json={"companyName": "A"}, headers=async_headers())
    upsert = tba.put(f"{RECORDS}/customer/eid:cust-7", json={"companyName": "B"}, headers=async_headers())
    delete = tba.delete(f"{RECORDS}/customer/43", headers=async_headers())
    assert [a.status_code for a in (update, upsert, delete)] == [202, 202, 202]
    clock.advance(10)
    results = [tba.get(f"{JOBS}/{job_id_of(a)}/task/1/result").json() for a in (update, upsert, delete)]
    assert results[0]["id"] == "42" and results[2]["id"] == "43"
    assert results[1]["externalId"] == "cust-7" and results[1]["id"].isdigit()
    assert all(len(tasks_of(tba, job_id_of(a))) == 1 for a in (update, upsert, delete))


def test_result_of_a_task_not_completed_is_refused(tba: httpx.Client) -> None:
    job_id = submit_batch(tba, [{"externalId": "c-1"}])
    answer = tba.get(f"{JOBS}/{job_id}/task/1/result")
    assert (answer.status_code, error_code(answer)) == (400, "TASK_NOT_COMPLETED")


def test_unknown_job_and_task_are_404_nonexistent_id(tba: httpx.Client, emu: Emulator) -> None:
    soap_job = emu.create_job({"operation": "asyncAddList", "records": [{"externalId": "a"}]})
    for path in (f"{JOBS}/999", f"{JOBS}/{soap_job}", f"{JOBS}/999/task", f"{JOBS}/999/task/1/result"):
        answer = tba.get(path)
        assert (answer.status_code, error_code(answer)) == (404, "NONEXISTENT_ID"), path
    job_id = submit_batch(tba, [{"externalId": "c-1"}])
    assert error_code(tba.get(f"{JOBS}/{job_id}/task/2")) == "NONEXISTENT_ID"


def test_preset_rest_job_from_the_admin_api_with_no_tasks(tba: httpx.Client, emu: Emulator) -> None:
    job_id = emu.create_job(
        {"api": "rest", "operation": "asyncAddList", "pending_seconds": 0, "processing_seconds": 0}
    )
    assert job_id.isdigit()
    assert tba.get(f"{JOBS}/{job_id}").json()["completed"] is True
    assert tba.get(f"{JOBS}/{job_id}/task").json()["items"] == []


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "code"),
    [
        ("POST", "/customer", {"Prefer": "respond-async"}, b"not json", 400, "INVALID_CONTENT"),
        ("POST", "/customer", {}, b"{}", 400, "INVALID_HEADER"),
        (
            "POST",
            "/customer",
            {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": "nope"},
            b"{}",
            400,
            "INVALID_HEADER",
        ),
        ("PATCH", "/customer", {"Prefer": "respond-async"}, b"{}", 405, "METHOD_NOT_ALLOWED"),
        ("PUT", "/customer/42", {"Prefer": "respond-async"}, b"{}", 405, "METHOD_NOT_ALLOWED"),
    ],
)
def test_bad_record_requests_are_refused_with_an_error_code(
    tba: httpx.Client, method: str, path: str, headers: dict, body: bytes, status: int, code: str
) -> None:
    answer = tba.request(method, RECORDS + path, content=body, headers=headers)
    assert (answer.status_code, error_code(answer)) == (status, code)


def test_batch_of_more_than_100_records_is_refused(tba: httpx.Client, emu: Emulator) -> None:
    answer = tba.post(
        f"{RECORDS}/customer",
        json={"items": [{"externalId": f"c-{n}"} for n in range(101)]},
        headers=async_headers(batch=True),
    )
    assert (answer.status_code, error_code(answer)) == (400, "INVALID_CONTENT")
    assert emu.stats()["jobs"] == 0
    assert submit_batch(tba, [{"externalId": f"c-{n}"} for n in range(100)])


# ---- idempotency ---------------------------------------------------------------------------------


def test_replayed_idempotency_key_answers_400_with_the_first_jobs_location(
    tba: httpx.Client, emu: Emulator
) -> None:
    key = str(uuid.uuid4())
    first = tba.post(f"{RECORDS}/customer", json={"externalId": "c-1"}, headers=async_headers(key))
    again = tba.post(f"{RECORDS}/customer", json={"externalId": "c-1"}, headers=async_headers(key))
    assert again.status_code == 400
    assert error_code(again) == "IDEMPOTENCY_ERROR"
    assert again.json()["title"] == "Conflict"
    assert again.json()["o:errorDetails"][0]["detail"].startswith("A request with the same idempotency key")
    assert again.headers["location"] == first.headers["location"]
    other = tba.post(f"{RECORDS}/customer", json={"externalId": "c-1"}, headers=async_headers())
    assert job_id_of(other) != job_id_of(first)
    stats = emu.stats()
    assert (stats["idempotent_replays"], stats["jobs"], stats["rest_requests"]["submit"]) == (1, 2, 3)


# ---- TBA -----------------------------------------------------------------------------------------


def test_tba_signature_matches_an_independent_hmac_sha256_vector() -> None:
    # RFC 5849 section 3.4.1.1's request, signed with HMAC-SHA256; oauthlib is the other side.
    params = [
        ("b5", "=%3D"),
        ("a3", "a"),
        ("c@", ""),
        ("a2", "r b"),
        ("oauth_consumer_key", "9djdj82h48djs9d2"),
        ("oauth_token", "kkk9d7dh3k39sjv7"),
        ("oauth_signature_method", "HMAC-SHA256"),
        ("oauth_timestamp", "137131201"),
        ("oauth_nonce", "7d8f3e4a"),
        ("c2", ""),
        ("a3", "2 q"),
    ]
    base = signature_base_string("post", "http://example.com/request", params)
    signed = hmac_sha256_signature(base, "j49sk3j29djd", "dh893hdasih9")
    expected = oauthlib_signature(
        "POST", "http://example.com/request", params, ("j49sk3j29djd", "dh893hdasih9")
    )
    assert f"{base} {signed}" == expected


def test_tba_with_query_parameters_is_accepted(tba: httpx.Client) -> None:
    answer = tba.get("/services/rest/system/v1/serverTime", params={"x": "a b", "y": "ü"})
    assert answer.status_code == 200
    assert answer.json()["serverTime"].endswith("Z")


def test_realm_in_lower_case_is_refused_and_the_detail_says_so(emu: Emulator) -> None:
    answer = httpx.get(f"{emu.base_url}/services/rest/system/v1/serverTime", auth=Tba(realm="1234567_sb1"))
    assert (answer.status_code, error_code(answer)) == (401, "INVALID_LOGIN")
    assert "upper case (1234567_SB1)" in answer.json()["o:errorDetails"][0]["detail"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_secret": "0" * 64},
        {"resource_owner_secret": "0" * 64},
        {"client_key": "1" * 64},
        {"realm": "7654321"},
        {"signature_method": "HMAC-SHA1"},
        {"timestamp": str(int(time.time()) - 3600)},
    ],
    ids=["consumer-secret", "token-secret", "consumer-key", "realm", "sha1", "stale-timestamp"],
)
def test_bad_tba_headers_are_401_invalid_login(emu: Emulator, overrides: dict) -> None:
    answer = httpx.get(f"{emu.base_url}/services/rest/system/v1/serverTime", auth=Tba(**overrides))
    assert (answer.status_code, error_code(answer)) == (401, "INVALID_LOGIN")
    assert "upper case" not in answer.text


def test_a_replayed_tba_nonce_is_refused(emu: Emulator) -> None:
    auth = Tba(nonce="n0nce12345", timestamp=str(int(time.time())))
    url = f"{emu.base_url}/services/rest/system/v1/serverTime"
    assert httpx.get(url, auth=auth).status_code == 200
    assert httpx.get(url, auth=auth).status_code == 401


def test_no_authorization_is_401(emu: Emulator) -> None:
    answer = httpx.get(f"{emu.base_url}{JOBS}/1")
    assert (answer.status_code, error_code(answer)) == (401, "INVALID_LOGIN")


# ---- OAuth 2.0 -----------------------------------------------------------------------------------


def test_token_endpoint_issues_a_bearer_token_that_opens_every_resource(
    oauth2: httpx.Client, emu: Emulator
) -> None:
    answer = httpx.post(emu.rest_token_url, data=token_form(assertion(emu)))
    assert answer.status_code == 200
    body = answer.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", "3600")
    assert answer.headers["cache-control"] == "no-store"
    job_id = submit_batch(oauth2, [{"externalId": "c-1"}])
    assert oauth2.get(f"{JOBS}/{job_id}").status_code == 200
    assert emu.stats()["rest_requests"]["token"] == 2


def _other_ec_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda emu: assertion(emu, private_key=_other_ec_key()), "invalid_client"),
        (lambda emu: assertion(emu, kid="another-certificate"), "invalid_client"),
        (lambda emu: assertion(emu, iss="another-client"), "invalid_client"),
        (lambda emu: assertion(emu, aud="https://elsewhere/token"), "invalid_client"),
        (
            lambda emu: assertion(emu, alg="HS256", private_key="a-shared-secret-of-32-bytes-long!"),
            "invalid_client",
        ),
        (lambda emu: assertion(emu, typ="JWS"), "invalid_client"),
        (lambda emu: assertion(emu, scope="restlets"), "invalid_grant"),
        (lambda emu: assertion(emu, exp=int(time.time()) + 3601), "invalid_grant"),
        (
            lambda emu: assertion(emu, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
            "invalid_grant",
        ),
        (lambda emu: assertion(emu, exp=None), "invalid_grant"),
        (lambda emu: "not.a.jwt", "invalid_client"),
    ],
    ids=[
        "signature",
        "kid",
        "iss",
        "aud",
        "hs256",
        "typ",
        "scope",
        "too-long",
        "expired",
        "no-exp",
        "garbage",
    ],
)
def test_bad_jwt_assertions_are_refused(emu: Emulator, make, error: str) -> None:
    answer = httpx.post(emu.rest_token_url, data=token_form(make(emu)))
    assert answer.status_code == 400
    assert answer.json()["error"] == error
    assert emu.stats()["rest_errors"][error] == 1


def test_token_request_with_the_wrong_grant_type_is_refused(emu: Emulator) -> None:
    answer = httpx.post(emu.rest_token_url, data=token_form(assertion(emu), grant_type="password"))
    assert (answer.status_code, answer.json()["error"]) == (400, "unsupported_grant_type")


def test_an_expired_token_is_401_and_a_fresh_one_works(emu: Emulator, clock: SteppedClock) -> None:
    emu.rest_token_seconds = 60
    token = fetch_token(emu)
    url = f"{emu.base_url}/services/rest/system/v1/serverTime"
    assert httpx.get(url, auth=Bearer(token)).status_code == 200
    clock.advance(61)
    answer = httpx.get(url, auth=Bearer(token))
    assert (answer.status_code, error_code(answer)) == (401, "INVALID_LOGIN")
    clock.offset = 0
    assert httpx.get(url, auth=Bearer(fetch_token(emu))).status_code == 200
    assert emu.expire_rest_tokens() == 2
    assert httpx.get(url, auth=Bearer(token)).status_code == 401


def test_an_unknown_bearer_token_is_401(emu: Emulator) -> None:
    answer = httpx.get(f"{emu.base_url}/services/rest/system/v1/serverTime", auth=Bearer("made-up"))
    assert (answer.status_code, error_code(answer)) == (401, "INVALID_LOGIN")


def test_a_configured_rsa_public_key_verifies_ps256_assertions() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with Emulator(
        oauth2_public_key=public, oauth2_client_id="my-client", oauth2_certificate_id="my-cert"
    ) as emu:
        good = httpx.post(
            emu.rest_token_url, data=token_form(assertion(emu, private_key=private, alg="PS256"))
        )
        assert good.status_code == 200, good.text
        ec_signed = httpx.post(
            emu.rest_token_url, data=token_form(assertion(emu, private_key=_other_ec_key()))
        )
        assert ec_signed.json()["error"] == "invalid_client"
        with pytest.raises(ValueError, match="no private key"):
            emu.airflow_rest_connection("oauth2")


# ---- system resources ------------------------------------------------------------------------------


def test_server_time_is_the_emulators_clock(tba: httpx.Client, clock: SteppedClock) -> None:
    clock.advance(120)  # within the TBA timestamp tolerance of the client's real clock
    stamp = tba.get("/services/rest/system/v1/serverTime").json()["serverTime"]
    assert stamp == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(clock())) + stamp[19:]
    assert len(stamp) == len("2025-03-26T16:21:00.000Z")


def test_governance_limits_answer_or_403(tba: httpx.Client, emu: Emulator) -> None:
    assert tba.get("/services/rest/system/v1/governanceLimits").json() == {
        "accountConcurrencyLimit": 5,
        "accountUnallocatedConcurrencyLimit": 5,
        "integrationConcurrencyLimit": None,
        "limitType": "accountLimit",
    }
    emu.rest_governance_limits = False
    answer = tba.get("/services/rest/system/v1/governanceLimits")
    assert (answer.status_code, error_code(answer)) == (403, "INSUFFICIENT_PERMISSION")
    emu.reset()
    assert emu.rest_governance_limits is True


# ---- the shared concurrency limit ------------------------------------------------------------------


def test_over_the_shared_limit_rest_gets_429(emu: Emulator) -> None:
    emu.latency = 0.5  # requests overlap as against NetSuite; the sixth of six finds five in flight

    async def six() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=emu.base_url, auth=Tba(), timeout=10) as client:
            return await asyncio.gather(
                *(client.get("/services/rest/system/v1/serverTime") for _ in range(6))
            )

    answers = asyncio.run(six())
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) == 1
    assert error_code(refused[0]) == "CONCURRENCY_LIMIT_EXCEEDED"
    stats = emu.stats()
    assert (stats["refused_over_limit"], stats["max_in_flight"]) == (1, 5)


# ---- injections ---------------------------------------------------------------------------------------


def test_injected_rest_error_replaces_one_answer_of_its_kind(tba: httpx.Client, emu: Emulator) -> None:
    job_id = submit_batch(tba, [{"externalId": "c-1"}])
    emu.inject("rest_error", status=429, operation="job")
    assert tba.get(f"{JOBS}/{job_id}/task").status_code == 200  # another kind: untouched
    refused = tba.get(f"{JOBS}/{job_id}")
    assert (refused.status_code, error_code(refused)) == (429, "CONCURRENCY_LIMIT_EXCEEDED")
    assert tba.get(f"{JOBS}/{job_id}").status_code == 200
    emu.inject(
        "rest_error", status=503, code="SERVICE_UNAVAILABLE", detail="Down.", path=f"{JOBS}/{job_id}/task"
    )
    answer = tba.get(f"{JOBS}/{job_id}/task/1")
    assert (answer.status_code, error_code(answer)) == (503, "SERVICE_UNAVAILABLE")
    assert emu.stats()["injections_applied"] == {"rest_error": 2}


def test_injected_html_page_and_dropped_connection(tba: httpx.Client, emu: Emulator) -> None:
    emu.inject("http_error", status=502, operation="server_time")
    page = tba.get("/services/rest/system/v1/serverTime")
    assert page.status_code == 502 and page.headers["content-type"].startswith("text/html")
    emu.inject("drop", operation="submit")
    with pytest.raises(httpx.RemoteProtocolError):
        tba.post(f"{RECORDS}/customer", json={"externalId": "c-1"}, headers=async_headers())
    assert emu.stats()["jobs"] == 0


def test_injected_delay_keeps_the_request_in_flight(tba: httpx.Client, emu: Emulator) -> None:
    emu.inject("delay", seconds=0.2, operation="server_time")
    assert tba.get("/services/rest/system/v1/serverTime").status_code == 200
    assert emu.stats()["injections_applied"] == {"delay": 1}


def test_rest_error_injection_is_not_taken_by_soap_and_soap_fault_not_by_rest(
    tba: httpx.Client, emu: Emulator
) -> None:
    emu.inject("soap_fault", code="WS_REQUEST_BLOCKED")
    assert tba.get("/services/rest/system/v1/serverTime").status_code == 200
    with pytest.raises(ValueError, match="applies to api 'rest' only"):
        emu.inject("rest_error", operation="checkAsyncStatus")
    with pytest.raises(ValueError, match="REST"):
        emu.inject("delay", operation="jobs")


# ---- the connection and the log -------------------------------------------------------------------


def test_rest_connections_carry_the_contracts_extras(emu: Emulator) -> None:
    oauth = emu.airflow_rest_connection("oauth2")
    assert oauth["conn_type"] == "netsuite_rest"
    extra = oauth["extra"]
    assert extra["auth_method"] == "oauth2" and extra["algorithm"] == "ES256"
    assert extra["base_url"] == emu.rest_url == emu.base_url
    assert extra["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert {"account_id", "client_id", "certificate_id", "scope"} <= set(extra)
    tba = emu.airflow_rest_connection("tba")["extra"]
    assert {"consumer_key", "consumer_secret", "token_id", "token_secret"} <= set(tba)
    assert tba["account_id"] == "1234567_SB1"
    with pytest.raises(ValueError, match="oauth2, tba"):
        emu.airflow_rest_connection("basic")


def test_request_log_marks_rest_requests_without_the_authorization_header(
    tba: httpx.Client, emu: Emulator
) -> None:
    tba.get("/services/rest/system/v1/serverTime")
    (entry,) = emu.requests()
    assert entry == {
        "api": "rest",
        "kind": "server_time",
        "method": "GET",
        "path": "/services/rest/system/v1/serverTime",
        "body": "",
    }


def test_connections_from_the_admin_api_and_no_assertion_in_the_log(emu: Emulator) -> None:
    fetch_token(emu)
    assert all(entry["body"] == "" for entry in emu.requests())
    connections = httpx.get(f"{emu.base_url}/_emulator/connections").json()
    assert set(connections) == {"netsuite_default", "netsuite_rest_default", "netsuite_rest_tba"}
    assert connections["netsuite_rest_default"] == emu.airflow_rest_connection("oauth2")
    assert connections["netsuite_rest_tba"]["extra"]["auth_method"] == "tba"
