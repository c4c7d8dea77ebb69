"""A job id rendered from nothing ("None" from an upstream task that returned nothing) fails the
task before any request, asking whether the upstream task returned the job id (issue 11, item 1).

The DAGs are in tests/dags/missing_job_id.py (the tests' DAG folder).
"""

from __future__ import annotations

import missing_job_id  # noqa: E402
import pytest

from airflow_asyncjob import cli

MESSAGE = (
    "job_id of task '{task}' must be NetSuite's jobId from an async* call, but it is 'None': what a "
    "template renders when the value it reads is missing. Did the upstream task ('submit_elsewhere') "
    "return the job id? Nothing was sent to NetSuite."
)


def run(dag_id: str):
    dag_run = missing_job_id.DAGS[dag_id].test()
    return {ti.task_id: ti for ti in dag_run.get_task_instances()}


def state(ti) -> str:
    return getattr(ti.state, "value", ti.state)


@pytest.mark.parametrize("mode", missing_job_id.MODES)
def test_sensor_refuses_a_job_id_rendered_from_nothing_before_any_request(airflow_db, emulator, capfd, mode):
    tis = run(f"missing_job_id_sensor_{mode}")

    assert state(tis["submit_elsewhere"]) == "success"
    wait = tis["wait_for_job"]
    assert state(wait) == "failed"
    assert wait.try_number == 1  # retries=2, yet not retried
    assert MESSAGE.format(task="wait_for_job") in capfd.readouterr().out
    assert emulator.stats()["requests"] == {}


def test_result_operator_refuses_a_job_id_rendered_from_nothing_before_any_request(
    airflow_db, emulator, capfd
):
    tis = run("missing_job_id_results")

    results = tis["results"]
    assert state(results) == "failed"
    assert results.try_number == 1
    assert MESSAGE.format(task="results") in capfd.readouterr().out
    assert emulator.stats()["requests"] == {}


@pytest.mark.parametrize("job_id", ["None", "null", "", "  "])
@pytest.mark.parametrize("command", ["status", "result"])
def test_cli_refuses_a_job_id_that_is_none_as_a_usage_error(emulator, capsys, command, job_id):
    assert cli.main([command, job_id]) == cli.EXIT_USAGE

    err = capsys.readouterr().err
    assert f"error: JOB_ID must be NetSuite's jobId from an async* call, but it is {job_id!r}" in err
    assert "Did the command or task that gave it return the job id? Nothing was sent to NetSuite." in err
    assert emulator.stats()["requests"] == {}
