"""The browser test's DAG: a deferrable sensor, then GetAsyncResultOperator, which reads
the failures of a job that ended finishedWithErrors. The job id is the run's conf; the test
creates the job in the emulator."""

from __future__ import annotations

from airflow.sdk import DAG, Param

from airflow_asyncjob.operators.async_job import GetAsyncResultOperator
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

with DAG(
    dag_id="ui_netsuite_job",
    schedule=None,
    catchup=False,
    params={"job_id": Param("", type="string")},
) as dag:
    wait = AsyncJobStatusSensor(
        task_id="wait_for_job",
        job_id="{{ params.job_id }}",
        deferrable=True,
        on_finished_with_errors="succeed",
        poke_interval=2,
        max_poll_interval=3,
        timeout=600,
    )
    results = GetAsyncResultOperator(task_id="results", job_id="{{ params.job_id }}")
    wait >> results
