"""No REST secret leaves: the OAuth 2.0 private key (whole or any line of it), the JWT assertions
and the access tokens NetSuite issued, and the TBA secrets are absent from all a run of the same
sensor DAGs produces on a ``netsuite_rest`` connection — task logs at DEBUG (httpx, httpcore
included), XCom values, exception messages and the serialized trigger."""

from __future__ import annotations

import io
import json
import logging

import pytest
import sensor_policies  # noqa: E402

from airflow_asyncjob.hooks.rest_async_job import RestAsyncJobHook
from airflow_asyncjob.netsuite.faults import NetSuiteError
from airflow_asyncjob.testing.emulator import Emulator, Scenario
from airflow_asyncjob.testing.emulator.rest_auth import ClientCredentialsServer
from airflow_asyncjob.triggers.async_job_status import AsyncJobStatusTrigger

TBA_SECRETS = {"consumer_secret": "CS-REST-7f3a7c1e5b2d4f60", "token_secret": "TS-REST-2b2c3d4e5f6a7b8c"}
LOGGERS = ("", "httpx", "httpcore", "airflow_asyncjob", "airflow.task")


@pytest.fixture
def debug_logs():
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    saved = {}
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    yield buffer
    for name in LOGGERS:
        logging.getLogger(name).removeHandler(handler)
        logging.getLogger(name).setLevel(saved[name])


@pytest.fixture
def token_requests(monkeypatch):
    """Every JWT assertion the emulator's token endpoint receives and access token it hands out:
    ``{"assertions": [...], "tokens": [...]}``."""
    seen: dict[str, list[str]] = {"assertions": [], "tokens": []}
    original = ClientCredentialsServer.issue

    def recording(self, form, token_url):
        seen["assertions"].append(str(form.get("client_assertion", "")))
        answer = original(self, form, token_url)
        seen["tokens"].append(answer["access_token"])
        return answer

    monkeypatch.setattr(ClientCredentialsServer, "issue", recording)
    return seen


@pytest.fixture
def serialized_triggers(monkeypatch):
    seen = []
    original = AsyncJobStatusTrigger.serialize

    def recording(self):
        result = original(self)
        seen.append(json.dumps(result, default=str))
        return result

    monkeypatch.setattr(AsyncJobStatusTrigger, "serialize", recording)
    return seen


def rest_job(emulator, final_status):
    records = [{"externalId": "c1", "internalId": "1", "type": "customer", "success": True}]
    if final_status == "finishedWithErrors":
        records.append(
            {"externalId": "c2", "type": "customer", "success": False, "code": "DUP_ENTITY", "message": "dup"}
        )
    return emulator.create_job(
        {
            "api": "rest",
            "operation": "asyncUpsertList",
            "pending_seconds": 0.2,
            "processing_seconds": 0.6,
            "start_on_first_request": True,
            "records": records,
        }
    )


def test_no_private_key_token_or_secret_in_anything_a_rest_run_produces(
    airflow_db, debug_logs, token_requests, serialized_triggers, capfd, caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    produced: list[str] = []
    with Emulator(
        port=0,
        scenario=Scenario.example(),
        max_logged_requests=5000,
        consumer_secret=TBA_SECRETS["consumer_secret"],
        token_secret=TBA_SECRETS["token_secret"],
    ) as emulator:
        oauth2 = emulator.airflow_rest_connection(auth="oauth2")
        private_key = oauth2["extra"]["private_key"]
        for auth, dag_id, final_status in (
            ("oauth2", sensor_policies.dag_id("branch", "poke"), "finishedWithErrors"),
            ("oauth2", sensor_policies.dag_id("branch", "deferrable"), "finished"),
            ("tba", sensor_policies.dag_id("fail", "deferrable"), "finishedWithErrors"),
        ):
            monkeypatch.setenv(
                "AIRFLOW_CONN_NETSUITE_DEFAULT", emulator.airflow_rest_connection_json(auth=auth)
            )
            dag_run = sensor_policies.DAGS[dag_id].test(run_conf={"job_id": rest_job(emulator, final_status)})
            for ti in dag_run.get_task_instances():
                produced.append(json.dumps(ti.xcom_pull(task_ids=ti.task_id), default=str))
        # exception messages: a refused token request, a refused TBA login, an unknown job
        for auth, change in (
            ("oauth2", {"certificate_id": "not-the-certificate"}),
            ("tba", {"token_id": "x"}),
            ("oauth2", {}),
        ):
            conn = emulator.airflow_rest_connection(auth=auth)
            conn["extra"].update(change)
            monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_ERRORS", json.dumps(conn))
            with pytest.raises(NetSuiteError) as caught:
                RestAsyncJobHook("netsuite_errors").check_async_status("999999999")
            produced += [str(caught.value), repr(caught.value)]

    output = capfd.readouterr()
    produced += [output.out, output.err, debug_logs.getvalue(), caplog.text, *serialized_triggers]
    everything = "\n".join(produced)

    assert len(serialized_triggers) >= 2  # both deferrable runs deferred
    issued_tokens, assertions = token_requests["tokens"], token_requests["assertions"]
    assert issued_tokens and all(assertions) and len(assertions) >= 2  # tokens were fetched, with JWTs
    assert "NetSuite async job" in everything  # the scan read real logs
    key_lines = [line for line in private_key.splitlines() if line and not line.startswith("-----")]
    assert private_key.strip() not in everything
    assert [line for line in key_lines if line in everything] == []
    assert [token for token in issued_tokens if token in everything] == []
    assert [jwt for jwt in assertions if jwt in everything] == []
    for name, secret in TBA_SECRETS.items():
        assert secret not in everything, name
