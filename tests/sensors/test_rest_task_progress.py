"""``rest_task_progress``: what a DAG author sees while a REST job runs, with and without it.

Without it (the default) a poll of a running REST job is one request and the log line says the
task counts come when the job completes (not "0.0% completed, about 0 s remaining", which read as
"about to end"); with it every poll reads the task list and each task (2 + N requests) and the
line says "k of N tasks completed". Counted at the emulator; through ``dag.test`` in both
waiting modes. A SOAP connection ignores the argument.
"""

from __future__ import annotations

import json
import re

import pytest
import rest_task_progress_dags
from airflow.sdk.exceptions import TaskDeferred

from airflow_asyncjob.operators.rest import RestAsyncJobSubmitOperator
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

TASKS = rest_task_progress_dags.TASKS
RECORDS = [
    {"externalId": f"c{i}", "internalId": str(i), "type": "customer", "success": True} for i in range(TASKS)
]


@pytest.fixture
def rest_emulator(emulator, monkeypatch):
    """The emulator with ``netsuite_default`` a ``netsuite_rest`` connection (OAuth 2.0)."""
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", emulator.airflow_rest_connection_json(auth="oauth2"))
    return emulator


def rest_job(emulator, processing_seconds: float = 1.6) -> str:
    return emulator.create_job(
        {
            "api": "rest",
            "operation": "asyncUpsertList",
            "pending_seconds": 0.2,
            "processing_seconds": processing_seconds,
            "start_on_first_request": True,
            "records": RECORDS,
        }
    )


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
@pytest.mark.parametrize("rest_task_progress", [False, True])
def test_a_running_rest_jobs_log_line_and_request_count(
    airflow_db, rest_emulator, capfd, mode, rest_task_progress
):
    job_id = rest_job(rest_emulator)
    dag = rest_task_progress_dags.DAGS[rest_task_progress_dags.dag_id(mode, rest_task_progress)]
    dag_run = dag.test(run_conf={"job_id": job_id})
    (ti,) = dag_run.get_task_instances()
    assert getattr(ti.state, "value", ti.state) == "success"
    final = ti.xcom_pull(task_ids="wait")
    assert (final["status"], final["tasks_completed"], final["tasks_total"]) == ("finished", TASKS, TASKS)
    assert "tasks_unread" not in final  # the XCom shape of an ended job is as before

    output = capfd.readouterr().out
    running = re.findall(rf"NetSuite async job (?:pending|processing), (.*) \({job_id}\)", output)
    assert running, output[-3000:]
    assert not re.search(rf"remaining \({job_id}\)", output)  # no "about 0 s remaining" for REST
    counts = rest_emulator.stats()["rest_requests"]
    polls = counts["job"]
    if rest_task_progress:
        assert all(
            re.fullmatch(rf"\d+\.\d% completed, \d of {TASKS} tasks completed", line) for line in running
        )
        assert any(
            re.fullmatch(rf"[1-9]\d*\.\d% completed, [1-{TASKS - 1}] of {TASKS} tasks completed", line)
            for line in running
        ), running
        # 2 + N requests on every poll (the job GETs include at most one answered 401: the
        # emulator forgets access tokens on reset, the client caches them per process).
        assert counts["task"] == TASKS * counts["task_list"]
        assert polls - 1 <= counts["task_list"] <= polls
    else:
        assert set(running) == {"task counts come when the job completes"}
        # 1 request a poll while it runs; the task list and each task once, on the completing poll.
        assert (counts.get("task_list"), counts.get("task")) == (1, TASKS)
    assert polls >= 2
    assert (
        f"NetSuite async job finished, 100.0% completed, {TASKS} of {TASKS} tasks completed ({job_id})"
        in output
    )


def test_the_deferred_trigger_carries_rest_task_progress_in_its_kwargs(rest_emulator):
    job_id = rest_job(rest_emulator, processing_seconds=600)
    wait = AsyncJobStatusSensor(
        task_id="wait", job_id=job_id, deferrable=True, poke_interval=1, rest_task_progress=True
    )
    with pytest.raises(TaskDeferred) as deferred:
        wait.execute(context={})
    _, kwargs = deferred.value.trigger.serialize()
    assert kwargs["rest_task_progress"] is True
    json.dumps(kwargs)  # plain values
    # The poke read the tasks too: 2 + N requests, and the status it saw counts them.
    assert rest_emulator.stats()["rest_requests"]["task"] == TASKS


def test_a_soap_connection_ignores_rest_task_progress(airflow_db, emulator, capfd):
    job_id = emulator.create_job(
        {
            "operation": "asyncUpsertList",
            "pending_seconds": 0.2,
            "processing_seconds": 0.8,
            "start_on_first_request": True,
            "records": RECORDS,
        }
    )
    dag = rest_task_progress_dags.DAGS[rest_task_progress_dags.dag_id("deferrable", True)]
    dag_run = dag.test(run_conf={"job_id": job_id})
    (ti,) = dag_run.get_task_instances()
    assert getattr(ti.state, "value", ti.state) == "success"
    assert "tasks" not in capfd.readouterr().out.split("NetSuite async job finished")[-1].split("\n")[0]
    assert "rest_requests" not in emulator.stats() or not emulator.stats()["rest_requests"].get("job")


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_rest_task_progress_must_be_a_bool(value):
    with pytest.raises(ValueError, match="rest_task_progress must be True or False"):
        AsyncJobStatusSensor(task_id="wait", job_id="1", rest_task_progress=value)
    with pytest.raises(ValueError, match="rest_task_progress must be True or False"):
        RestAsyncJobSubmitOperator(
            task_id="submit", record_type="customer", records=[{}], rest_task_progress=value
        )


def test_the_rest_submit_and_wait_counts_tasks_while_it_waits(airflow_db, rest_emulator, capfd):
    dag = rest_task_progress_dags.DAGS["rest_submit_and_wait_task_progress"]
    dag_run = dag.test()
    (ti,) = dag_run.get_task_instances()
    assert getattr(ti.state, "value", ti.state) == "success"
    counts = rest_emulator.stats()["rest_requests"]
    assert counts["task"] == TASKS * counts["task_list"]
    assert counts["job"] - 1 <= counts["task_list"] <= counts["job"] and counts["task_list"] >= 2
    assert f"of {TASKS} tasks completed" in capfd.readouterr().out
