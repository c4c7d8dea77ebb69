"""The same AsyncJobStatusSensor DAGs (tests/dags/sensor_policies.py) waiting for REST async jobs:
only the connection changes (type ``netsuite_rest``), and every outcome x policy ends as for SOAP.

REST outcomes: every task succeeded -> finished; some failed -> finishedWithErrors; all failed ->
failed (the task fails with the failed tasks' error codes and details).
"""

from __future__ import annotations

import pytest
import sensor_policies  # noqa: E402

OK = {"externalId": "c1", "internalId": "1", "type": "customer", "success": True}
DUP = {
    "externalId": "c2",
    "type": "customer",
    "success": False,
    "code": "DUP_ENTITY",
    "message": "This entity already exists.",
}
BAD_REF = {
    "externalId": "c3",
    "type": "customer",
    "success": False,
    "code": "INVALID_KEY_OR_REF",
    "message": "Invalid subsidiary reference key 99.",
}
RECORDS = {"finished": [OK], "finishedWithErrors": [OK, DUP], "failed": [DUP, BAD_REF]}

# (final status, policy) -> (sensor state, load state, report state or None without a report task)
EXPECTED = {
    ("finished", "fail"): ("success", "success", None),
    ("finished", "branch"): ("success", "success", "skipped"),
    ("finishedWithErrors", "fail"): ("failed", "upstream_failed", None),
    ("finishedWithErrors", "succeed"): ("success", "success", None),
    ("finishedWithErrors", "branch"): ("success", "skipped", "success"),
    ("failed", "succeed"): ("failed", "upstream_failed", None),
    ("failed", "branch"): ("failed", "upstream_failed", "upstream_failed"),
}


@pytest.fixture
def rest_emulator(emulator, monkeypatch):
    """The emulator with ``netsuite_default`` a ``netsuite_rest`` connection (OAuth 2.0)."""
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", emulator.airflow_rest_connection_json(auth="oauth2"))
    return emulator


def create_rest_job(emulator, final_status: str) -> str:
    return emulator.create_job(
        {
            "api": "rest",
            "operation": "asyncUpsertList",
            "pending_seconds": 0.3,
            "processing_seconds": 1.0,
            "start_on_first_request": True,
            "records": RECORDS[final_status],
        }
    )


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
@pytest.mark.parametrize(("final_status", "policy"), sorted(EXPECTED))
def test_every_rest_outcome_and_policy(airflow_db, rest_emulator, capfd, final_status, policy, mode):
    job_id = create_rest_job(rest_emulator, final_status)
    dag_run = sensor_policies.DAGS[sensor_policies.dag_id(policy, mode)].test(run_conf={"job_id": job_id})
    states = {ti.task_id: getattr(ti.state, "value", ti.state) for ti in dag_run.get_task_instances()}

    sensor_state, load_state, report_state = EXPECTED[(final_status, policy)]
    assert states["wait"] == sensor_state
    assert states["load"] == load_state
    assert states.get("report") == report_state
    output = capfd.readouterr().out
    tasks = len(RECORDS[final_status])
    # progress is tasks completed of tasks (REST gives no percent or estimate)
    assert (
        f"NetSuite async job {final_status}, 100.0% completed, {tasks} of {tasks} tasks completed ({job_id})"
        in output
    )
    if final_status == "failed":
        assert f"NetSuite job {job_id} failed. NetSuite says: " in output
        assert "DUP_ENTITY: This entity already exists." in output
        assert "INVALID_KEY_OR_REF: Invalid subsidiary reference key 99." in output
    if sensor_state == "success":
        ti = next(t for t in dag_run.get_task_instances() if t.task_id == "wait")
        final = ti.xcom_pull(task_ids="wait")
        assert final["status"] == final_status
        assert (final["tasks_completed"], final["tasks_total"]) == (tasks, tasks)


def test_a_finished_with_errors_rest_job_names_the_rest_result_operator(airflow_db, rest_emulator, capfd):
    job_id = create_rest_job(rest_emulator, "finishedWithErrors")
    sensor_policies.DAGS[sensor_policies.dag_id("fail", "poke")].test(run_conf={"job_id": job_id})
    assert f"NetSuite REST job {job_id} finished with errors" in capfd.readouterr().out
