"""AsyncJobSubmitOperator(wait_for_completion=True): one task that submits and waits as the
sensor does, in the worker or deferred, and a retry that reconnects instead of resubmitting.

The DAGs are in tests/dags/operator_dags.py; they run with dag.test() against the emulator.
"""

from __future__ import annotations

import json
from datetime import timedelta

import operator_dags
import pytest

from airflow_asyncjob.operators.async_job import AsyncJobSubmitOperator
from airflow_asyncjob.testing.emulator import EXAMPLE_JOB_IDS, Timeline
from airflow_asyncjob.testing.emulator.jobs import SubmitDefaults

CLEAN = [{"externalId": "cust-1", "companyName": "Acme"}]
WITH_ERRORS = [
    {"externalId": "cust-1", "companyName": "Acme"},
    {"externalId": "dup-2", "companyName": "Globex"},
]
FAILING = [{"externalId": "fail-1", "companyName": "Initech"}]


@pytest.fixture
def quick(emulator, monkeypatch):
    """Submitted jobs end in 2.5 s, after a few polls."""
    monkeypatch.setattr(emulator.jobs, "submit_defaults", SubmitDefaults(timeline=Timeline(1.0, 1.5)))
    return emulator


@pytest.fixture
def instant(emulator, monkeypatch):
    """Submitted jobs have ended by the time anyone asks."""
    monkeypatch.setattr(emulator.jobs, "submit_defaults", SubmitDefaults(timeline=Timeline(0, 0)))
    return emulator


def run(dag_id, **conf):
    dag_run = operator_dags.DAGS[dag_id].test(run_conf=conf)
    (ti,) = dag_run.get_task_instances()
    return ti, getattr(ti.state, "value", ti.state)


def submitted(emulator, operation):
    jobs = [j for j in emulator.jobs.job_ids() if j not in EXAMPLE_JOB_IDS.values()]
    return jobs, emulator.stats()["requests"].get(operation, 0)


@pytest.mark.parametrize("dag_id", ["submit_wait_in_worker", "submit_wait_deferred"])
def test_a_finished_job_succeeds_with_its_job_id_and_final_status_in_xcom(airflow_db, quick, dag_id):
    ti, state = run(dag_id, records=CLEAN)
    assert state == "success"
    (job_id,), submits = submitted(quick, "asyncUpsertList")
    assert submits == 1
    assert ti.xcom_pull(task_ids="submit") == job_id
    assert ti.xcom_pull(task_ids="submit", key="job_id") == job_id
    final = ti.xcom_pull(task_ids="submit", key="status")
    assert (final["job_id"], final["status"], final["percent_completed"]) == (job_id, "finished", 100.0)
    if dag_id == "submit_wait_in_worker":  # it waited: the job was pending at first
        assert quick.stats()["requests"]["checkAsyncStatus"] >= 2


def test_finished_with_errors_fails_without_retry_by_default(airflow_db, quick, capfd):
    ti, state = run("submit_wait_in_worker", records=WITH_ERRORS)
    assert (state, ti.try_number) == ("failed", 1)
    (job_id,), _ = submitted(quick, "asyncUpsertList")
    assert ti.xcom_pull(task_ids="submit", key="job_id") == job_id  # pushed before the wait
    assert f"NetSuite job {job_id} finished with errors: some records failed." in capfd.readouterr().out


def test_finished_with_errors_succeeds_when_asked_and_deferred(airflow_db, quick):
    ti, state = run("submit_wait_deferred", records=WITH_ERRORS)
    assert state == "success"
    assert ti.xcom_pull(task_ids="submit", key="status")["status"] == "finishedWithErrors"


def test_a_failed_job_fails_without_retry_with_netsuites_detail(airflow_db, quick, capfd):
    ti, state = run("submit_wait_deferred", records=[{"externalId": "fail-1", "companyName": "X"}])
    assert (state, ti.try_number) == ("failed", 1)
    output = capfd.readouterr().out
    assert "failed. NetSuite says: UNEXPECTED_ERROR: An unexpected error occurred." in output


def test_a_retry_after_a_lost_worker_reconnects_and_takes_the_failed_outcome(airflow_db, instant, capfd):
    ti, state = run("submit_lost_then_failed", records=FAILING)
    (job_id,), submits = submitted(instant, "asyncAddList")
    assert (state, ti.try_number, submits) == ("failed", 2, 1)
    output = capfd.readouterr().out
    assert f"already submitted job(s) {job_id}: not submitting them again" in output
    assert (
        f"Job {job_id} of an earlier try failed; not submitting it again (resubmit_on_failure=False)"
        in output
    )
    assert f"NetSuite job {job_id} failed. NetSuite says: UNEXPECTED_ERROR" in output


def test_resubmit_on_failure_submits_a_failed_job_again_and_says_so(airflow_db, instant, capfd):
    ti, state = run("submit_lost_then_resubmitted", records=FAILING)
    jobs, submits = submitted(instant, "asyncAddList")
    assert (ti.try_number, submits, len(jobs)) == (2, 2, 2)
    (first,) = set(jobs) - {ti.xcom_pull(task_ids="submit", key="job_id")}
    assert (
        f"Job {first} of an earlier try failed; submitting its records again (resubmit_on_failure=True)"
        in (capfd.readouterr().out)
    )
    assert state == "failed"  # the new job fails as the first did (the emulator's rule for fail-*)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split_over_limit": True}, "wait_for_completion waits for one job"),
        ({"on_finished_with_errors": "branch"}, "use 'fail' or 'succeed'"),
        ({"poke_interval": 0}, "poke_interval"),
        ({"timeout": float("inf")}, "timeout must be positive finite seconds"),
        # Not a deferral that overflows Airflow's database at run time ("Database error").
        ({"timeout": 10**12, "deferrable": True}, "timeout=1000000000000 s is more than 365 days"),
        ({"poke_interval": "30"}, "task 's': poke_interval='30' must be a finite number of seconds"),
    ],
)
def test_arguments_that_do_not_fit_are_refused_when_the_dag_is_parsed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AsyncJobSubmitOperator(
            task_id="s", operation="asyncAddList", records=[{}], wait_for_completion=True, **kwargs
        )


def test_times_may_be_timedeltas_as_for_airflows_sensors():
    task = AsyncJobSubmitOperator(
        task_id="s",
        operation="asyncAddList",
        records=[{}],
        wait_for_completion=True,
        poke_interval=timedelta(seconds=30),
        max_poll_interval=timedelta(minutes=10),
        timeout=timedelta(hours=6),
    )
    assert (task.poke_interval, task.max_poll_interval, task.timeout) == (30.0, 600.0, 21600.0)


def test_on_kill_cancels_nothing_and_says_where_to_cancel_by_hand(capfd):
    task = AsyncJobSubmitOperator(task_id="s", operation="asyncAddList", records=[{}])
    task._job_ids = ["ASYNCWEBSERVICES_1234567_SB1_1_ab"]
    task.on_kill()
    output = capfd.readouterr().out
    assert "NetSuite job(s) ASYNCWEBSERVICES_1234567_SB1_1_ab go on running" in output
    assert "Setup > Integration > SOAP Web Services Process Status" in output


def test_the_rendered_fields_hold_a_summary_and_no_record(airflow_db, instant):
    from airflow.models.renderedtifields import RenderedTaskInstanceFields

    dag_run = operator_dags.DAGS["submit_from_xcom"].test()
    tis = {ti.task_id: ti for ti in dag_run.get_task_instances()}
    assert getattr(tis["submit"].state, "value", tis["submit"].state) == "success"
    (job_id,), _ = submitted(instant, "asyncUpsertList")
    assert [r.external_id for r in instant.jobs._jobs[job_id].spec.records] == ["priv-1", "priv-2"]
    rendered = RenderedTaskInstanceFields.get_templated_fields(tis["submit"])
    assert rendered is not None
    assert rendered["records"] == "<2 records: not kept in rendered fields>"
    assert "private.example" not in json.dumps(rendered) and "Private One" not in json.dumps(rendered)
