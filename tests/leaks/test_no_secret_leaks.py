"""No secret leaves: consumer secret, token secret and every signature sent are absent from all a
run produces — task logs at DEBUG (zeep, httpx, urllib3 included), XCom values, exception
messages and the serialized trigger."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
import sensor_policies  # noqa: E402
from lxml import etree

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.faults import NetSuiteError
from airflow_asyncjob.testing.emulator import Emulator, Scenario
from airflow_asyncjob.triggers.async_job_status import AsyncJobStatusTrigger

SECRETS: dict[str, Any] = {
    "consumer_secret": "CS-9f3a7c1e5b2d4f60aa",
    "token_secret": "TS-1b2c3d4e5f6a7b8c99",
}
TBA = "{urn:core_2025_2.platform.webservices.netsuite.com}"
LOGGERS = ("", "zeep", "zeep.transports", "httpx", "httpcore", "urllib3", "airflow_asyncjob", "airflow.task")


@pytest.fixture
def debug_logs():
    """Every logger at DEBUG into one buffer, as a user chasing a problem would set it."""
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
def secret_emulator(monkeypatch):
    with Emulator(port=0, scenario=Scenario.example(), max_logged_requests=5000, **SECRETS) as emulator:
        monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", emulator.airflow_connection_json())
        yield emulator


@pytest.fixture
def serialized_triggers(monkeypatch):
    """Every trigger serialization (what the task runner stores and the triggerer reads)."""
    seen = []
    original = AsyncJobStatusTrigger.serialize

    def recording(self):
        result = original(self)
        seen.append(json.dumps(result, default=str))
        return result

    monkeypatch.setattr(AsyncJobStatusTrigger, "serialize", recording)
    return seen


def signatures_sent(emulator) -> set[str]:
    found: set[str] = set()
    for request in emulator.requests(limit=None):
        body = request["body"]
        envelope = etree.fromstring(body.encode() if isinstance(body, str) else body)
        found.update(s.text for s in envelope.iter(f"{TBA}signature") if s.text)
    return found


def job(emulator, final_status):
    records = [{"externalId": "c1", "internalId": "1", "type": "customer", "success": True}]
    if final_status == "finishedWithErrors":
        records.append(
            {"externalId": "c2", "type": "customer", "success": False, "code": "DUP_ENTITY", "message": "dup"}
        )
    return emulator.create_job(
        {
            "operation": "asyncUpsertList",
            "pending_seconds": 0.2,
            "processing_seconds": 0.6,
            "start_on_first_request": True,
            "records": records,
        }
    )


def test_no_secret_or_signature_in_anything_a_run_produces(
    airflow_db, secret_emulator, debug_logs, serialized_triggers, capfd, caplog
):
    caplog.set_level(logging.DEBUG)
    produced: list[str] = []
    for dag_id, final_status in (
        (sensor_policies.dag_id("branch", "poke"), "finishedWithErrors"),
        (sensor_policies.dag_id("branch", "deferrable"), "finished"),
        (sensor_policies.dag_id("fail", "deferrable"), "finishedWithErrors"),
    ):
        dag_run = sensor_policies.DAGS[dag_id].test(run_conf={"job_id": job(secret_emulator, final_status)})
        for ti in dag_run.get_task_instances():
            produced.append(json.dumps(ti.xcom_pull(task_ids=ti.task_id), default=str))
    # exception messages: a refused login and an unknown job, each through the hook
    for conn_change in ({"token_id": "wrong-token"}, {}):
        conn = secret_emulator.airflow_connection()
        conn["extra"].update(conn_change)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AIRFLOW_CONN_NETSUITE_ERRORS", json.dumps(conn))
            with pytest.raises(NetSuiteError) as caught:
                SoapAsyncJobHook("netsuite_errors").check_async_status("ASYNCWEBSERVICES_NO_SUCH_JOB")
            produced.append(str(caught.value))
            produced.append(repr(caught.value))

    output = capfd.readouterr()
    produced += [output.out, output.err, debug_logs.getvalue(), caplog.text, *serialized_triggers]
    everything = "\n".join(produced)
    signatures = signatures_sent(secret_emulator)

    assert len(serialized_triggers) >= 2  # both deferrable runs deferred
    assert len(signatures) >= 10  # every request carried a fresh one
    assert "NetSuite async job" in everything  # the scan read real logs
    for name, secret in SECRETS.items():
        assert secret not in everything, name
    leaked = [s for s in signatures if s in everything]
    assert leaked == []
