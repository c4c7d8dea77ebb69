"""The REST clients against scripted NetSuite answers: submits and their resend rules, idempotent
replay, job outcomes and the requests they cost, task results, error mapping, the shared limiter."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import httpx
import pytest

from airflow_asyncjob.netsuite.auth import TokenCredentials
from airflow_asyncjob.netsuite.channels import AccountChannel, lease_channel, open_channels
from airflow_asyncjob.netsuite.faults import (
    AuthenticationError,
    ConcurrencyLimitError,
    ConfigurationError,
    InvalidJobIdError,
    NetSuiteFault,
    NetSuiteResponseError,
    NetSuiteTransportError,
    PermissionDeniedError,
    SubmitOutcomeUnknownError,
)
from airflow_asyncjob.netsuite.limiter import AimdLimiter
from airflow_asyncjob.netsuite.models import AsyncStatus
from airflow_asyncjob.netsuite.rest.client import (
    COLLECTION_CONTENT_TYPE,
    AsyncRestClient,
    RestClient,
    async_rest_client,
)
from airflow_asyncjob.netsuite.rest.settings import RestSettings
from airflow_asyncjob.netsuite.settings import ClientSettings

from .conftest import BASE, FAST, JOB, KEY, ONCE, error, job, serve_job, task, task_list

RECORD = "/services/rest/record/v1/customer"
ACCEPTED = httpx.Response(202, headers={"Location": f"{BASE}{JOB}/55", "Preference-Applied": "respond-async"})


@pytest.fixture
def client(tba_settings, server):
    with RestClient(tba_settings, retry=FAST, transport=server.transport()) as rest:
        yield rest


# ---- submit --------------------------------------------------------------------------------------


def test_one_record_add_is_an_async_post_with_the_idempotency_key(client, server):
    server.on("POST", RECORD, ACCEPTED)
    submitted = client.submit("customer", {"companyName": "Acme"}, idempotency_key=KEY)
    assert (submitted.job_id, submitted.replayed) == ("55", False)
    assert submitted.location == f"{BASE}{JOB}/55"
    (request,) = server.requests
    assert request.headers["prefer"] == "respond-async"
    assert request.headers["x-netsuite-idempotency-key"] == KEY
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"companyName": "Acme"}


def test_a_batch_is_one_request_with_the_collection_content_type(client, server):
    server.on("PUT", RECORD, httpx.Response(202, headers={"Location": f"{JOB}/56"}))
    items = [{"externalId": f"c{i}", "companyName": f"C {i}"} for i in range(100)]
    assert client.submit("customer", items, operation="upsert", idempotency_key=KEY).job_id == "56"
    (request,) = server.requests
    assert request.headers["content-type"] == COLLECTION_CONTENT_TYPE
    assert json.loads(request.content) == {"items": items}


@pytest.mark.parametrize(
    "operation, kwargs, method, path, has_body",
    [
        ("update", {"record_id": "107"}, "PATCH", f"{RECORD}/107", True),
        ("upsert", {"external_id": "cust 1"}, "PUT", f"{RECORD}/eid:cust%201", True),
        ("delete", {"record_id": "107"}, "DELETE", f"{RECORD}/107", False),
    ],
)
def test_one_record_operations_name_the_record_in_the_url(
    client, server, operation, kwargs, method, path, has_body
):
    server.on(method, path.replace("%20", " "), ACCEPTED)
    records = None if operation == "delete" else {"companyName": "Acme"}
    client.submit("customer", records, operation=operation, idempotency_key=KEY, **kwargs)
    (request,) = server.requests
    assert request.url.raw_path.decode() == path
    assert bool(request.content) is has_body


@pytest.mark.parametrize(
    "records, kwargs, message",
    [
        ([{}] * 101, {}, "1 to 100 records.*batches of 100"),
        ([], {}, "1 to 100 records"),
        ({"a": 1}, {"operation": "update"}, "record_id is missing"),
        ({"a": 1}, {"operation": "upsert"}, "external_id is missing"),
        ({"a": 1}, {"operation": "merge"}, "not a REST submit operation"),
        ([{"a": 1}], {"record_id": "1"}, "each item carries its own id"),
        (["x"], {}, "record 0 of the batch is a str"),
        ("x", {}, "records is a str"),
        ({"a": 1}, {"idempotency_key": "ti-123"}, "not a UUID"),
    ],
)
def test_bad_submit_arguments_are_refused_before_sending(client, server, records, kwargs, message):
    kwargs = {"idempotency_key": KEY, **kwargs}
    with pytest.raises(ConfigurationError, match=message):
        client.submit("customer", records, **kwargs)
    assert server.requests == []


def test_a_record_type_that_is_not_one_is_refused(client):
    with pytest.raises(ConfigurationError, match="not a REST record type"):
        client.submit("customer/../x", {"a": 1}, idempotency_key=KEY)


def test_a_replayed_idempotency_key_is_the_earlier_job(client, server):
    replay = error(
        400,
        "IDEMPOTENCY_ERROR",
        "A request with the same idempotency key is already submitted.",
        Location=f"{BASE}{JOB}/41",
    )
    server.on("POST", RECORD, replay)
    submitted = client.submit("customer", {"a": 1}, idempotency_key=KEY)
    assert (submitted.job_id, submitted.replayed) == ("41", True)


def test_a_replay_without_location_cannot_name_the_job(client, server):
    server.on("POST", RECORD, error(400, "IDEMPOTENCY_ERROR", "already submitted"))
    with pytest.raises(NetSuiteResponseError, match="without the earlier job's Location"):
        client.submit("customer", {"a": 1}, idempotency_key=KEY)


def test_an_accepted_submit_whose_location_is_not_a_job_url_is_a_typed_error(client, server):
    server.on(
        "POST",
        RECORD,
        httpx.Response(202, headers={"Location": f"{BASE}/services/rest/record/v1/customer/9"}),
    )
    with pytest.raises(NetSuiteResponseError, match="not a job URL") as caught:
        client.submit("customer", {"a": 1}, idempotency_key=KEY)
    assert "Web Services Usage Log" in (caught.value.hint or "")
    assert len(server.requests) == 1


def test_a_synchronous_answer_to_a_submit_is_not_a_job(client, server):
    server.on("POST", RECORD, httpx.Response(204, headers={"Location": f"{BASE}{RECORD}/9"}))
    with pytest.raises(NetSuiteResponseError, match="ran the request synchronously"):
        client.submit("customer", {"a": 1}, idempotency_key=KEY)


def test_a_submit_answered_by_a_maintenance_page_names_it(client, server):
    server.on("POST", RECORD, httpx.Response(200, text="<html><body>Scheduled maintenance</body></html>"))
    with pytest.raises(NetSuiteResponseError, match="an HTML page.*not 202 Accepted"):
        client.submit("customer", {"a": 1}, idempotency_key=KEY)


def test_without_a_key_a_timed_out_submit_is_never_resent(client, server):
    server.on("POST", RECORD, httpx.ReadTimeout("slow"), ACCEPTED)
    with pytest.raises(SubmitOutcomeUnknownError, match="may or may not have created a job"):
        client.submit("customer", {"a": 1}, idempotency_key=None)
    assert len(server.requests) == 1
    assert "x-netsuite-idempotency-key" not in server.requests[0].headers


def test_without_a_key_a_gateway_error_is_an_unknown_outcome(client, server):
    server.on("POST", RECORD, httpx.Response(502, text="<html>Bad Gateway</html>"), ACCEPTED)
    with pytest.raises(SubmitOutcomeUnknownError):
        client.submit("customer", {"a": 1}, idempotency_key=None)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "refusal",
    [
        httpx.ConnectError("refused"),
        httpx.Response(429, text=""),
        error(429, "CONCURRENCY_LIMIT_EXCEEDED", "over the concurrency limit"),
        error(503, "UNEXPECTED_ERROR", "try again"),
    ],
    ids=["no-connection", "429-bare", "429-netsuite", "503-netsuite"],
)
def test_without_a_key_a_submit_netsuite_refused_is_resent(client, server, refusal):
    server.on("POST", RECORD, refusal, ACCEPTED)
    assert client.submit("customer", {"a": 1}, idempotency_key=None).job_id == "55"
    assert len(server.requests) == 2


def test_with_a_key_a_timed_out_submit_is_resent_and_netsuite_deduplicates(client, server):
    replay = error(400, "IDEMPOTENCY_ERROR", "already submitted", Location=f"{JOB}/55")
    server.on("POST", RECORD, httpx.ReadTimeout("slow"), replay)
    submitted = client.submit("customer", {"a": 1}, idempotency_key=KEY)
    assert (submitted.job_id, submitted.replayed) == ("55", True)
    keys = {r.headers["x-netsuite-idempotency-key"] for r in server.requests}
    assert len(server.requests) == 2 and keys == {KEY}


def test_a_refused_submit_is_not_resent(client, server):
    server.on("POST", RECORD, error(400, "USER_ERROR", "Please enter a value for Company Name."))
    with pytest.raises(NetSuiteFault, match="USER_ERROR") as caught:
        client.submit("customer", {"a": 1}, idempotency_key=KEY)
    assert caught.value.code == "USER_ERROR" and not caught.value.transient
    assert len(server.requests) == 1


# ---- job status and its request count -----------------------------------------------------------


def test_a_running_job_costs_one_request_per_poll(client, server):
    server.on("GET", f"{JOB}/7", job("7", False, "pending"), job("7", False, "processing"))
    first, second = client.check_async_status("7"), client.check_async_status("7")
    assert (first.status, second.status) == (AsyncStatus.PENDING, AsyncStatus.PROCESSING)
    assert (second.percent_completed, second.est_remaining_duration) == (0.0, 0.0)
    assert (second.tasks_completed, second.tasks_total) == (None, None)
    assert server.paths() == [f"GET {JOB}/7", f"GET {JOB}/7"]


@pytest.mark.parametrize(
    "progresses, status",
    [
        (["succeeded"] * 3, AsyncStatus.FINISHED),
        (["succeeded", "failed", "succeeded"], AsyncStatus.FINISHED_WITH_ERRORS),
        (["failed", "failed"], AsyncStatus.FAILED),
        (["succeeded"], AsyncStatus.FINISHED),
    ],
)
def test_a_completed_jobs_outcome_comes_from_its_tasks(client, server, progresses, status):
    serve_job(server, "7", progresses)
    result = client.check_async_status("7")
    assert result.status is status
    assert (result.percent_completed, result.tasks_completed, result.tasks_total) == (
        100.0,
        len(progresses),
        len(progresses),
    )
    assert len(server.requests) == 2 + len(progresses)  # job, task list, each task


def test_progress_on_request_reads_the_tasks_of_a_running_job(client, server):
    serve_job(server, "7", ["succeeded", "processing", "pending", "failed"], completed=False)
    result = client.check_async_status("7", progress=True)
    assert result.status is AsyncStatus.PROCESSING
    assert (result.tasks_completed, result.tasks_total, result.percent_completed) == (2, 4, 50.0)
    assert "2 of 4 tasks completed" in result.describe()


def test_a_completed_job_with_a_task_still_running_is_still_processing(client, server):
    serve_job(server, "7", ["succeeded", "processing"])
    assert client.check_async_status("7").status is AsyncStatus.PROCESSING


def test_a_completed_job_with_an_empty_task_list_is_a_typed_error(client, server):
    server.on("GET", f"{JOB}/7", job("7", True, "succeeded"))
    server.on("GET", f"{JOB}/7/task", task_list("7", []))
    with pytest.raises(NetSuiteResponseError, match="task list is empty") as caught:
        client.check_async_status("7")
    assert caught.value.job_id == "7"


def test_an_unknown_job_is_an_invalid_job_id_error(client, server):
    with pytest.raises(InvalidJobIdError, match="NONEXISTENT_ID") as caught:
        client.check_async_status("999")
    assert caught.value.job_id == "999" and caught.value.code == "NONEXISTENT_ID"
    assert len(server.requests) == 1  # not retried


def test_an_undocumented_progress_is_logged_once_and_read_as_running(client, server, caplog):
    server.on("GET", f"{JOB}/7", job("7", False, "queuedForRetry"))
    caplog.set_level(logging.WARNING, logger="airflow_asyncjob.netsuite.rest.models")
    assert client.check_async_status("7").status is AsyncStatus.PROCESSING
    assert client.check_async_status("7").status is AsyncStatus.PROCESSING
    warnings = [r for r in caplog.records if "queuedForRetry" in r.getMessage()]
    assert len(warnings) == 1


def test_a_job_id_that_is_a_url_is_refused_before_sending(client, server):
    with pytest.raises(ConfigurationError, match="not a REST async job id"):
        client.check_async_status(f"{BASE}{JOB}/7")
    with pytest.raises(ConfigurationError):
        client.check_async_status("None")
    assert server.requests == []


def test_the_task_list_is_read_page_by_page(client, server):
    pages = [task_list("7", ["1", "2"], has_more=True, total=3), task_list("7", ["3"])]
    server.on("GET", f"{JOB}/7/task", *pages)
    assert client.task_ids("7") == ["1", "2", "3"]
    offsets = [r.url.params.get("offset") for r in server.requests]
    assert offsets == ["0", "2"]


def test_job_reads_every_task(client, server):
    serve_job(server, "7", ["succeeded", "failed"])
    read = client.job("7")
    assert [(t.task_id, t.completed, t.progress) for t in read.tasks or ()] == [
        ("1", True, "succeeded"),
        ("2", True, "failed"),
    ]
    assert read.tasks and read.tasks[0].start_time == "2026-12-01T10:00:00Z"


# ---- answers that are not NetSuite's ------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, words",
    [
        (httpx.Response(200, text="<!DOCTYPE html><html><title>Maintenance</title></html>"), "an HTML page"),
        (httpx.Response(200, json={"status": "ok"}), "not a NetSuite job"),
        (httpx.Response(200, json=[1, 2]), "not a NetSuite job"),
        (httpx.Response(200, text="job=7;done"), "not JSON"),
        (httpx.Response(404, text="<html>Not Found</html>"), "an HTML page"),
        (httpx.Response(400, json={"message": "bad"}), "JSON that is not NetSuite's"),
    ],
)
def test_an_answer_that_is_not_netsuites_json_names_what_came(client, server, answer, words):
    server.on("GET", f"{JOB}/7", answer)
    with pytest.raises(NetSuiteResponseError, match=words) as caught:
        client.check_async_status("7")
    assert "base URL" in (caught.value.hint or "")
    assert len(server.requests) == 1


def test_a_5xx_page_is_transient_and_retried(client, server):
    server.on(
        "GET", f"{JOB}/7", httpx.Response(502, text="<html>Bad Gateway</html>"), job("7", False, "pending")
    )
    assert client.check_async_status("7").status is AsyncStatus.PENDING
    assert len(server.requests) == 2


def test_retries_end_with_the_typed_transient_error(client, server):
    server.on("GET", f"{JOB}/7", error(500, "UNEXPECTED_ERROR", "An unexpected error occurred."))
    with pytest.raises(NetSuiteTransportError, match="UNEXPECTED_ERROR") as caught:
        client.check_async_status("7")
    assert caught.value.transient and caught.value.code == "UNEXPECTED_ERROR"
    assert len(server.requests) == FAST.max_attempts


@pytest.mark.parametrize(
    "answer, cls, code",
    [
        (error(401, "INVALID_LOGIN", "Invalid login attempt."), AuthenticationError, "INVALID_LOGIN"),
        (
            error(403, "INSUFFICIENT_PERMISSION", "Permission Violation"),
            PermissionDeniedError,
            "INSUFFICIENT_PERMISSION",
        ),
        (error(400, "SSS_REQUEST_LIMIT_EXCEEDED", "Request limit exceeded"), ConcurrencyLimitError, None),
    ],
)
def test_netsuite_error_codes_map_to_typed_errors(tba_settings, server, answer, cls, code):
    server.on("GET", f"{JOB}/7", answer)
    # Concurrency refusals are retried until max_delay: ONCE ends them at the first.
    policy = ONCE if cls is ConcurrencyLimitError else FAST
    with RestClient(tba_settings, retry=policy, transport=server.transport()) as client:
        with pytest.raises(cls) as caught:
            client.check_async_status("7")
    if code:
        assert caught.value.code == code and not caught.value.transient
        assert len(server.requests) == 1
    else:
        assert caught.value.transient


def test_a_tba_401_hint_names_realm_and_secrets(client, server):
    server.on("GET", f"{JOB}/7", error(401, "INVALID_LOGIN", "Invalid login attempt."))
    with pytest.raises(AuthenticationError) as caught:
        client.check_async_status("7")
    assert "realm" in (caught.value.hint or "") and "Login Audit Trail" in (caught.value.hint or "")


def test_a_concurrency_refusal_is_retried_until_it_passes(client, server):
    busy = error(429, "CONCURRENCY_LIMIT_EXCEEDED", "over the account's concurrency limit")
    server.on("GET", f"{JOB}/7", busy, busy, busy, busy, busy, job("7", False, "pending"))
    # Concurrency refusals do not use up attempts (RetryPolicy): only max_delay ends them.
    assert client.check_async_status("7").status is AsyncStatus.PENDING
    assert len(server.requests) == 6


def test_errors_round_trip_through_trigger_payloads(client, server):
    from airflow_asyncjob.netsuite.faults import NetSuiteError

    server.on("GET", f"{JOB}/7", error(404, "NONEXISTENT_ID", "not found"))
    with pytest.raises(InvalidJobIdError) as caught:
        client.check_async_status("7")
    again = NetSuiteError.from_payload(caught.value.to_payload())
    assert isinstance(again, InvalidJobIdError) and str(again) == str(caught.value)


# ---- task results, serverTime, governanceLimits --------------------------------------------------


def test_task_results_success_and_failure_bodies(client, server):
    server.on("GET", f"{JOB}/7/task", task_list("7", ["1", "2", "3"]))
    server.on("GET", f"{JOB}/7/task/1/result", httpx.Response(200, json={"id": "107", "links": []}))
    failure = error(400, "USER_ERROR", "Please enter a value for Company Name.")
    server.on("GET", f"{JOB}/7/task/2/result", httpx.Response(200, content=failure.content))
    server.on("GET", f"{JOB}/7/task/3/result", failure)
    results = list(client.iter_task_results("7"))
    assert [(r.task_id, r.succeeded, r.error_code) for r in results] == [
        ("1", True, None),
        ("2", False, "USER_ERROR"),
        ("3", False, "USER_ERROR"),
    ]
    assert results[0].body == {"id": "107", "links": []}
    assert results[1].message == "Please enter a value for Company Name."


def test_the_result_of_a_task_not_completed_is_an_error_not_a_failed_record(client, server):
    server.on("GET", f"{JOB}/7/task/1/result", error(400, "TASK_NOT_COMPLETED", "The task is not completed."))
    with pytest.raises(NetSuiteFault, match="TASK_NOT_COMPLETED"):
        client.task_result("7", "1")


def test_the_result_of_an_unknown_task_is_an_invalid_job_id_error(client, server):
    with pytest.raises(InvalidJobIdError):
        client.task_result("7", "9")


def test_server_time_is_a_timezone_aware_instant(client, server):
    server.on(
        "GET",
        "/services/rest/system/v1/serverTime",
        httpx.Response(200, json={"serverTime": "2025-03-26T16:21:00.000Z"}),
    )
    assert client.server_time() == datetime(2025, 3, 26, 16, 21, tzinfo=timezone.utc)


def test_server_time_that_is_not_an_instant_is_a_typed_error(client, server):
    server.on("GET", "/services/rest/system/v1/serverTime", httpx.Response(200, json={"serverTime": "soon"}))
    with pytest.raises(NetSuiteResponseError, match="not an ISO-8601 instant"):
        client.server_time()


def test_governance_limits_or_none_when_refused(client, server):
    limits = {
        "accountConcurrencyLimit": 5,
        "accountUnallocatedConcurrencyLimit": 5,
        "integrationConcurrencyLimit": None,
        "limitType": "accountLimit",
    }
    path = "/services/rest/system/v1/governanceLimits"
    server.on("GET", path, httpx.Response(200, json=limits), error(403, "INSUFFICIENT_PERMISSION", "no"))
    assert client.governance_limits() == limits
    assert client.governance_limits() is None


def test_governance_limits_with_a_refused_login_is_still_an_error(client, server):
    server.on(
        "GET",
        "/services/rest/system/v1/governanceLimits",
        error(401, "INVALID_LOGIN", "Invalid login attempt."),
    )
    with pytest.raises(AuthenticationError):
        client.governance_limits()


# ---- the async client on the account's shared channel --------------------------------------------


async def test_soap_and_rest_clients_of_one_account_lease_one_channel(tba: TokenCredentials):
    soap = ClientSettings(tba, base_url="http://127.0.0.1:1")
    rest = RestSettings(tba, base_url="http://127.0.0.1:1")
    async with lease_channel(soap) as soap_channel, async_rest_client(rest) as client:
        assert client.channel is soap_channel
        assert list(open_channels()) == ["1234567_SB1"]
    assert open_channels() == {}


async def test_a_429_halves_the_shared_limit_and_the_poll_is_retried(tba_settings, server):
    busy = error(429, "CONCURRENCY_LIMIT_EXCEEDED", "over the limit")
    server.on("GET", f"{JOB}/7", busy, job("7", False, "processing"))
    async with httpx.AsyncClient(transport=server.transport()) as http:
        channel = AccountChannel("1234567_SB1", AimdLimiter(4), http)
        client = AsyncRestClient(tba_settings, channel, retry=FAST)
        status = await client.check_async_status("7")
    assert status.status is AsyncStatus.PROCESSING
    assert channel.limiter.decreases == 1 and len(server.requests) == 2


async def test_the_async_client_gives_the_same_answers(tba_settings, server):
    serve_job(server, "7", ["succeeded", "failed"])
    server.on("POST", RECORD, ACCEPTED)
    server.on("GET", f"{JOB}/7/task/1/result", httpx.Response(200, json={"id": "1"}))
    server.on("GET", f"{JOB}/7/task/2/result", error(400, "USER_ERROR", "bad"))
    async with httpx.AsyncClient(transport=server.transport()) as http:
        client = AsyncRestClient(
            tba_settings, AccountChannel("1234567_SB1", AimdLimiter(4), http), retry=FAST
        )
        assert (await client.submit("customer", {"a": 1}, idempotency_key=KEY)).job_id == "55"
        assert (await client.check_async_status("7")).status is AsyncStatus.FINISHED_WITH_ERRORS
        assert [r.succeeded async for r in client.iter_task_results("7")] == [True, False]


async def test_an_async_submit_without_key_that_timed_out_is_not_resent(tba_settings, server):
    server.on("POST", RECORD, httpx.ReadTimeout("slow"), ACCEPTED)
    async with httpx.AsyncClient(transport=server.transport()) as http:
        client = AsyncRestClient(
            tba_settings, AccountChannel("1234567_SB1", AimdLimiter(4), http), retry=FAST
        )
        with pytest.raises(SubmitOutcomeUnknownError):
            await client.submit("customer", {"a": 1}, idempotency_key=None)
    assert len(server.requests) == 1


def test_task_is_parsed_with_its_times(client, server):
    server.on("GET", f"{JOB}/7", job("7", True, "succeeded"))
    server.on("GET", f"{JOB}/7/task", task_list("7", ["1"]))
    server.on("GET", f"{JOB}/7/task/1", task("1", True, "succeeded"))
    tasks = client.job("7").tasks
    assert tasks is not None and len(tasks) == 1
    only = tasks[0]
    assert only.end_time == "2026-12-01T10:00:05Z" and only.succeeded
