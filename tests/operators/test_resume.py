"""A worker killed between the submit and the first status poll: the retry reconnects.

The first try runs ``airflow dags test`` in a subprocess; the emulator holds its first
checkAsyncStatus, and the test kills the process (SIGKILL) once the emulator has seen the submit.
The retry then runs as ``dag.test()`` runs a try (Airflow's ``_run_task``) on the same DAG run, so
that it reads the task_state_store row (or, on Airflow 3.2, the Variable) the first try wrote.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import operator_dags
import pytest

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.testing.emulator import EXAMPLE_JOB_IDS, Timeline
from airflow_asyncjob.testing.emulator.jobs import SubmitDefaults

DAG_ID = "submit_killed_before_status"
RECORDS = [{"externalId": "cust-1", "companyName": "Acme"}, {"externalId": "dup-2", "companyName": "Globex"}]


def wait_for(condition, what: str, bound: float = 180.0) -> None:
    """Poll ``condition`` until it holds; a generous bound only so that a broken run cannot hang."""
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


def first_try_killed_after_the_submit(emulator) -> None:
    from airflow.configuration import conf

    airflow = Path(sys.executable).with_name("airflow")
    # One deployment: the same metadata database, and the same Fernet key (Airflow 3.2 encrypts
    # the Variable that stands in for task_state_store; a key made up per process could not read it).
    env = {**os.environ, "AIRFLOW__CORE__FERNET_KEY": conf.get("core", "fernet_key", fallback="")}
    process = subprocess.Popen(
        [str(airflow), "dags", "test", DAG_ID, "-c", json.dumps({"records": RECORDS})],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        requests = lambda: emulator.stats()["requests"]  # noqa: E731
        wait_for(
            lambda: requests().get("checkAsyncStatus", 0) >= 1 or process.poll() is not None,
            "the first try's first checkAsyncStatus",
        )
        assert process.poll() is None, "the first try ended by itself"
        assert requests().get("asyncAddList", 0) == 1
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL


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
        _run_task(ti=ti, task=operator_dags.DAGS[dag_id].task_dict["submit"])
        session.commit()
        return ti


def test_a_worker_killed_before_the_first_status_is_retried_without_a_second_submit(
    airflow_db, emulator, monkeypatch
):
    monkeypatch.setattr(emulator.jobs, "submit_defaults", SubmitDefaults(timeline=Timeline(0.5, 1.0)))
    # The first try's first status poll is held long enough to kill the try while it waits.
    emulator.inject("delay", seconds=10, operation="checkAsyncStatus", times=1)

    first_try_killed_after_the_submit(emulator)
    ti = retry(DAG_ID)

    created = [j for j in emulator.jobs.job_ids() if j not in EXAMPLE_JOB_IDS.values()]
    submits = emulator.stats()["requests"]["asyncAddList"]
    print(f"submits at the emulator: {submits}; jobs created: {created}")
    assert submits == 1 and len(created) == 1
    (job_id,) = created
    assert getattr(ti.state, "value", ti.state) == "success"
    assert ti.try_number == 2
    real = SoapAsyncJobHook().check_async_status(job_id)
    final = ti.xcom_pull(task_ids="submit", key="status")
    assert (final["job_id"], final["status"]) == (job_id, real.status.value) == (job_id, "finishedWithErrors")
    assert ti.xcom_pull(task_ids="submit") == job_id
    # the held answer to the killed try goes out before the next test resets the emulator
    wait_for(lambda: emulator.stats()["in_flight"] == 0, "the held checkAsyncStatus answer")
