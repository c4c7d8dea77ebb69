"""The browser test's REST DAG: a REST batch upsert of the run's customers, then two deferrable
sensors on the same job, one with ``rest_task_progress=True`` (the tab shows "k of N tasks" while
it runs) and one without (the tab says the task counts come when the job completes), then
RestAsyncResultOperator, which reads the failed tasks. The customers are the run's conf; the
test's emulator scenario makes submitted jobs run for tens of seconds."""

from __future__ import annotations

from airflow.sdk import DAG, Param

from airflow_asyncjob.operators.rest import RestAsyncJobSubmitOperator, RestAsyncResultOperator
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

REST_CONN_ID = "netsuite_rest_default"
JOB_ID = "{{ ti.xcom_pull(task_ids='submit') }}"  # the submit's return value (submit >> below)

with DAG(
    dag_id="ui_netsuite_rest_job",
    schedule=None,
    catchup=False,
    params={"customers": Param([], type="array")},
) as dag:
    submit = RestAsyncJobSubmitOperator(
        task_id="submit",
        record_type="customer",
        records="{{ params.customers | tojson }}",
        operation="upsert",
        netsuite_conn_id=REST_CONN_ID,
    )
    wait = AsyncJobStatusSensor(
        task_id="wait_for_job",
        job_id=JOB_ID,
        netsuite_conn_id=REST_CONN_ID,
        rest_task_progress=True,
        deferrable=True,
        on_finished_with_errors="succeed",
        poke_interval=2,
        max_poll_interval=3,
        timeout=600,
    )
    quiet = AsyncJobStatusSensor(
        task_id="wait_without_task_progress",
        job_id=JOB_ID,
        netsuite_conn_id=REST_CONN_ID,
        deferrable=True,
        on_finished_with_errors="succeed",
        poke_interval=2,
        max_poll_interval=3,
        timeout=600,
    )
    results = RestAsyncResultOperator(task_id="results", job_id=JOB_ID, netsuite_conn_id=REST_CONN_ID)
    submit >> [wait, quiet]
    wait >> results
