"""AsyncJobStatusSensor run through dag.test() against the emulator: every status x every policy.

The DAGs are in tests/dags/sensor_policies.py (the tests' DAG folder).
"""

from __future__ import annotations

import pytest
import sensor_policies  # noqa: E402

RECORDS = {
    "finished": [{"externalId": "c1", "internalId": "1", "type": "customer", "success": True}],
    "finishedWithErrors": [
        {"externalId": "c1", "internalId": "1", "type": "customer", "success": True},
        {
            "externalId": "c2",
            "type": "customer",
            "success": False,
            "code": "DUP_ENTITY",
            "message": "This entity already exists.",
        },
    ],
    "failed": [{"externalId": "c1", "type": "customer"}],
}

# (final status, policy) -> (sensor state, load state, report state or None without a report task)
EXPECTED = {
    ("finished", "fail"): ("success", "success", None),
    ("finished", "succeed"): ("success", "success", None),
    ("finished", "branch"): ("success", "success", "skipped"),
    ("finishedWithErrors", "fail"): ("failed", "upstream_failed", None),
    ("finishedWithErrors", "succeed"): ("success", "success", None),
    ("finishedWithErrors", "branch"): ("success", "skipped", "success"),
    ("failed", "fail"): ("failed", "upstream_failed", None),
    ("failed", "succeed"): ("failed", "upstream_failed", None),
    ("failed", "branch"): ("failed", "upstream_failed", "upstream_failed"),
}


def create_job(emulator, final_status: str) -> str:
    spec = {
        "operation": "asyncUpsertList",
        "pending_seconds": 0.3,
        # Long enough that a poke every 0.2 s sees processing even when one poke is slow (a
        # loaded CI machine once let a 1.0 s window pass between two pokes).
        "processing_seconds": 2.5,
        "start_on_first_request": True,  # the task starts seconds after the job is created
        "records": RECORDS[final_status],
    }
    if final_status == "failed":
        spec["failure"] = {
            "code": "UNEXPECTED_ERROR",
            "message": "An unexpected error occurred. Error ID: abc123",
        }
    return emulator.create_job(spec)


def run(dag_id: str, job_id: str):
    dag = sensor_policies.DAGS[dag_id]
    dag_run = dag.test(run_conf={"job_id": job_id})
    states = {ti.task_id: getattr(ti.state, "value", ti.state) for ti in dag_run.get_task_instances()}
    return dag_run, states


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
@pytest.mark.parametrize(("final_status", "policy"), sorted(EXPECTED))
def test_every_status_and_policy(airflow_db, emulator, capfd, final_status, policy, mode):
    job_id = create_job(emulator, final_status)
    dag_run, states = run(sensor_policies.dag_id(policy, mode), job_id)

    sensor_state, load_state, report_state = EXPECTED[(final_status, policy)]
    assert states["wait"] == sensor_state
    assert states["load"] == load_state
    assert states.get("report") == report_state
    output = capfd.readouterr().out
    # one line per poke with job id, status, percent and seconds remaining; the job passes
    # through pending and processing before its final status
    assert f"NetSuite async job pending, 0.0% completed, remaining time unknown ({job_id})" in output
    assert "NetSuite async job processing, " in output
    assert f"NetSuite async job {final_status}, 100.0% completed, about 0 s remaining ({job_id})" in output
    if sensor_state == "success":
        ti = next(t for t in dag_run.get_task_instances() if t.task_id == "wait")
        assert ti.xcom_pull(task_ids="wait") == {
            "job_id": job_id,
            "status": final_status,
            "percent_completed": 100.0,
            "est_remaining_duration": 0.0,
        }
    if final_status == "failed":
        assert (
            f"NetSuite job {job_id} failed. NetSuite says: UNEXPECTED_ERROR: An unexpected error occurred."
            in output
        )
    if (final_status, policy) == ("finishedWithErrors", "fail"):
        assert f"NetSuite job {job_id} finished with errors" in output


@pytest.mark.parametrize("final_status", ["finished", "finishedWithErrors"])
def test_branch_in_reschedule_mode(airflow_db, emulator, final_status):
    job_id = create_job(emulator, final_status)
    _, states = run(sensor_policies.dag_id("branch", "reschedule"), job_id)
    _, load_state, report_state = EXPECTED[(final_status, "branch")]
    assert (states["wait"], states["load"], states["report"]) == ("success", load_state, report_state)


def test_fail_policy_in_reschedule_mode(airflow_db, emulator):
    job_id = create_job(emulator, "finishedWithErrors")
    _, states = run(sensor_policies.dag_id("fail", "reschedule"), job_id)
    assert (states["wait"], states["load"]) == ("failed", "upstream_failed")


def test_status_outside_the_schema_fails_naming_it(airflow_db, emulator, capfd):
    body = """<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<checkAsyncStatusResponse xmlns="urn:messages_2025_2.platform.webservices.netsuite.com">
<platformCore:asyncStatusResult xmlns:platformCore="urn:core_2025_2.platform.webservices.netsuite.com">
<platformCore:jobId>JOB-X</platformCore:jobId><platformCore:status>cancelled</platformCore:status>
<platformCore:percentCompleted>10.0</platformCore:percentCompleted>
<platformCore:estRemainingDuration>5.0</platformCore:estRemainingDuration>
</platformCore:asyncStatusResult></checkAsyncStatusResponse></soapenv:Body></soapenv:Envelope>"""
    emulator.inject("raw", body=body, content_type="text/xml; charset=utf-8", operation="checkAsyncStatus")
    _, states = run(sensor_policies.dag_id("fail", "poke"), "JOB-X")
    assert states["wait"] == "failed"
    assert "NetSuite returned the async status 'cancelled'" in capfd.readouterr().out


def test_unknown_job_fails_without_retry(airflow_db, emulator, capfd):
    _, states = run(sensor_policies.dag_id("fail", "poke"), "ASYNCWEBSERVICES_UNKNOWN")
    assert states["wait"] == "failed"
    output = capfd.readouterr().out
    assert "INVALID_JOB_ID" in output
    assert emulator.stats()["requests"]["checkAsyncStatus"] == 1


@pytest.mark.parametrize("final_status", ["finished", "finishedWithErrors"])
def test_branch_in_deferrable_mode_hands_the_wait_to_the_trigger(airflow_db, emulator, caplog, final_status):
    job_id = create_job(emulator, final_status)
    _, states = run(sensor_policies.dag_id("branch", "deferrable"), job_id)
    _, load_state, report_state = EXPECTED[(final_status, "branch")]
    assert (states["wait"], states["load"], states["report"]) == ("success", load_state, report_state)
    assert "running trigger in line" in caplog.text


def long_job(emulator) -> str:
    return emulator.create_job(
        {
            "operation": "asyncAddList",
            "pending_seconds": 0,
            "processing_seconds": 600,
            "start_on_first_request": True,
            "records": RECORDS["finished"],
        }
    )


def test_deferrable_timeout_fails_without_retry(airflow_db, emulator, capfd):
    dag_run, states = run("sensor_deferrable_timeout_soft_fail_false", long_job(emulator))
    assert (states["wait"], states["load"]) == ("failed", "upstream_failed")
    ti = next(t for t in dag_run.get_task_instances() if t.task_id == "wait")
    assert ti.try_number == 1  # retries=2, yet not retried
    output = capfd.readouterr().out
    assert "had not ended when the sensor's timeout ran out. Last seen: job" in output


def test_deferrable_timeout_with_soft_fail_skips(airflow_db, emulator):
    _, states = run("sensor_deferrable_timeout_soft_fail_true", long_job(emulator))
    assert (states["wait"], states["load"]) == ("skipped", "skipped")
