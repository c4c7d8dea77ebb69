"""RestAsyncJobSubmitOperator and RestAsyncResultOperator against the emulator's REST side: submit
and wait (in the worker and deferred), submit -> sensor -> results, the idempotent retry after a
worker kill counted at the emulator, and inputs refused before anything is sent.

The DAGs are in tests/dags/rest_operator_dags.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import rest_operator_dags
from airflow.sdk.exceptions import AirflowFailException

from airflow_asyncjob.operators.rest import RestAsyncJobSubmitOperator, idempotency_key
from airflow_asyncjob.testing.emulator import Timeline
from airflow_asyncjob.testing.emulator.jobs import SubmitDefaults

CLEAN = [{"externalId": "cust-1", "companyName": "Acme"}, {"externalId": "cust-2", "companyName": "Globex"}]
WITH_ERRORS = [
    {"externalId": "cust-1", "companyName": "Acme"},
    {"externalId": "dup-2", "companyName": "Globex"},
    {"externalId": "badref-3", "companyName": "Umbrella"},
]
ALL_FAIL = [
    {"externalId": "dup-1", "companyName": "Initech"},
    {"externalId": "badref-2", "companyName": "Hooli"},
]


@pytest.fixture
def rest(emulator, monkeypatch):
    """Submitted jobs end in 1.5 s; ``netsuite_rest_default`` is the emulator's OAuth 2.0 connection."""
    monkeypatch.setattr(emulator.jobs, "submit_defaults", SubmitDefaults(timeline=Timeline(0.5, 1.0)))
    monkeypatch.setenv(
        "AIRFLOW_CONN_NETSUITE_REST_DEFAULT", emulator.airflow_rest_connection_json(auth="oauth2")
    )
    return emulator


def run(dag_id, **conf):
    dag_run = rest_operator_dags.DAGS[dag_id].test(run_conf=conf)
    return {ti.task_id: ti for ti in dag_run.get_task_instances()}


def state(ti) -> str:
    return getattr(ti.state, "value", ti.state)


def rest_stats(emulator) -> dict:
    return emulator.stats()["rest_requests"]


def rest_jobs(emulator) -> list[str]:
    """The REST jobs the emulator created (their ids are decimal; the example SOAP jobs' are not).

    Jobs, not submit requests, are what counts: a request sent with an access token the emulator
    has forgotten (it forgets them on reset; the client caches them per process) is answered 401
    and sent again with a new token, before any job exists."""
    return [j for j in emulator.jobs.job_ids() if j.isdigit()]


@pytest.mark.parametrize("dag_id", ["rest_submit_wait_in_worker", "rest_submit_wait_deferred"])
@pytest.mark.parametrize(
    ("records", "expected", "final_status"),
    [(CLEAN, "success", "finished"), (WITH_ERRORS, "failed", None), (ALL_FAIL, "failed", None)],
)
def test_submit_and_wait_ends_as_the_sensor_would(
    airflow_db, rest, capfd, dag_id, records, expected, final_status
):
    tis = run(dag_id, records=records)
    submit = tis["submit"]
    assert state(submit) == expected
    assert len(rest_jobs(rest)) == 1
    # str(): Airflow's XCom pull outside a task reads a numeric-looking string back as a number
    job_id = str(submit.xcom_pull(task_ids="submit", key="job_id"))
    assert job_id
    output = capfd.readouterr().out
    if final_status:
        final = submit.xcom_pull(task_ids="submit", key="status")
        assert (str(final["job_id"]), final["status"]) == (job_id, final_status)
        assert (final["tasks_completed"], final["tasks_total"]) == (len(records), len(records))
        assert str(submit.xcom_pull(task_ids="submit")) == job_id
    elif records is WITH_ERRORS:
        assert f"NetSuite REST job {job_id} finished with errors" in output
    else:
        assert f"NetSuite job {job_id} failed. NetSuite says: DUP_ENTITY: " in output


def test_finished_with_errors_can_succeed(airflow_db, rest):
    submit = run("rest_submit_wait_succeed_on_errors", records=WITH_ERRORS)["submit"]
    assert state(submit) == "success"
    assert submit.xcom_pull(task_ids="submit", key="status")["status"] == "finishedWithErrors"


def test_submit_sensor_branch_reads_every_task_result(airflow_db, rest, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    tis = run("rest_submit_branch_results", records=WITH_ERRORS)
    assert {t: state(ti) for t, ti in tis.items()} == {
        "submit": "success",
        "wait": "success",
        "results": "success",
        "done": "skipped",
    }
    summary = tis["results"].xcom_pull(task_ids="results")
    job_id = str(tis["submit"].xcom_pull(task_ids="submit"))
    # GetAsyncResultOperator's summary shape
    assert set(summary) == {
        "job_id",
        "result_type",
        "pages",
        "records",
        "succeeded",
        "failed",
        "failures_by_code",
        "first_failures",
        "job_errors",
        "total_records",
        "output_path",
    }
    assert (summary["job_id"], summary["records"], summary["succeeded"], summary["failed"]) == (
        job_id,
        3,
        1,
        2,
    )
    assert summary["failures_by_code"] == {"DUP_ENTITY": 1, "INVALID_KEY_OR_REF": 1}
    assert [f["message"] for f in summary["first_failures"]] == [
        "This entity already exists.",
        "Invalid subsidiary reference key 99.",
    ]
    rows = [
        json.loads(line)
        for line in Path(summary["output_path"].removeprefix("file://")).read_text().splitlines()
    ]
    assert [r["is_success"] for r in rows] == [True, False, False]
    assert rows[0]["body"]["id"]  # the record's internal id, as the synchronous add would say
    assert rows[1]["body"]["o:errorDetails"][0]["o:errorCode"] == "DUP_ENTITY"


def test_the_idempotency_key_is_a_uuid_per_task_instance_stable_across_tries():
    key = idempotency_key("dag", "submit", "manual__2026-12-01", -1)
    assert uuid.UUID(key).version == 5
    assert key == idempotency_key("dag", "submit", "manual__2026-12-01", -1)
    others = {
        idempotency_key("dag", "submit", "manual__2026-12-02", -1),
        idempotency_key("dag", "submit", "manual__2026-12-01", 0),
        idempotency_key("dag", "other", "manual__2026-12-01", -1),
        idempotency_key("dag2", "submit", "manual__2026-12-01", -1),
    }
    assert key not in others and len(others) == 4


# ---- a worker killed while waiting: the retry sends the same key and gets the same job --------


def wait_for(condition, what: str, bound: float = 180.0) -> None:
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


def retry(dag_id: str):
    """What the scheduler does for a task whose worker vanished, then what dag.test() does for a try."""
    from airflow.models.dagrun import DagRun
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    with create_session() as session:
        dag_run = session.scalars(
            select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)
        ).one()
        ti = dag_run.get_task_instance("submit", session=session)
        assert ti is not None
        assert (ti.state, ti.try_number) == (TaskInstanceState.RUNNING, 1)  # killed mid-try
        ti.prepare_db_for_next_try(session)
        ti.try_number += 1
        ti.state = TaskInstanceState.SCHEDULED
        session.commit()
        _run_task(ti=ti, task=rest_operator_dags.DAGS[dag_id].task_dict["submit"])
        session.commit()
        return ti


def test_a_worker_killed_after_the_submit_is_retried_into_the_same_job(airflow_db, rest):
    from airflow.configuration import conf

    dag_id = "rest_submit_killed_while_waiting"
    # The first try's first job poll is held long enough to kill the try while it waits.
    rest.inject("delay", seconds=10, operation="job", times=1)
    airflow = Path(sys.executable).with_name("airflow")
    env = {**os.environ, "AIRFLOW__CORE__FERNET_KEY": conf.get("core", "fernet_key", fallback="")}
    process = subprocess.Popen(
        [str(airflow), "dags", "test", dag_id, "-c", json.dumps({"records": WITH_ERRORS})],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: rest_stats(rest).get("job", 0) >= 1 or process.poll() is not None,
            "the first try's first job poll",
        )
        assert process.poll() is None, "the first try ended by itself"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert (len(rest_jobs(rest)), rest.stats()["idempotent_replays"]) == (1, 0)  # one job so far

    ti = retry(dag_id)

    stats = rest.stats()
    print(
        f"REST submits at the emulator: {stats['rest_requests']['submit']}; "
        f"idempotent replays: {stats['idempotent_replays']}"
    )
    assert stats["idempotent_replays"] == 1  # the retry sent the request again, answered with the first job
    assert state(ti) == "success" and ti.try_number == 2
    final = ti.xcom_pull(task_ids="submit", key="status")
    assert final["status"] == "finishedWithErrors"
    assert rest_jobs(rest) == [str(final["job_id"])]  # one REST job in all
    wait_for(lambda: rest.stats()["in_flight"] == 0, "the held job answer")


# ---- refused before anything is sent ----------------------------------------------------------


def operator(**kwargs):
    defaults = {"task_id": "submit", "record_type": "customer", "records": CLEAN}
    return RestAsyncJobSubmitOperator(**{**defaults, **kwargs})


def test_an_unknown_operation_is_refused_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match="operation='insert'.*add, update, upsert, delete"):
        operator(operation="insert")


def test_branch_is_for_the_sensor():
    with pytest.raises(ValueError, match="AsyncJobStatusSensor"):
        operator(on_finished_with_errors="branch")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"records": [{"a": 1}] * 101}, "at most 100 records"),
        ({"records": []}, "no records"),
        ({"records": "not json"}, "not JSON"),
        ({"records": [1, 2]}, "one dict or a list of dicts"),
        ({"records": {"companyName": "A"}, "operation": "update"}, "needs record_id"),
        ({"records": {"companyName": "A"}, "operation": "upsert"}, "needs external_id"),
        ({"records": CLEAN, "record_id": "5"}, "for one record"),
    ],
)
def test_bad_records_fail_without_a_request(rest, kwargs, message):
    task = operator(**kwargs)
    with pytest.raises(AirflowFailException, match=message):
        task.execute(context={})
    assert rest_stats(rest).get("submit", 0) == 0 and rest_jobs(rest) == []
