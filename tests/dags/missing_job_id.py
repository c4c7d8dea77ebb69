"""DAGs whose job id is rendered from nothing: the upstream task ``submit_elsewhere`` returns
None, so ``"{{ ti.xcom_pull(task_ids='submit_elsewhere') }}"`` renders ``"None"``. One DAG per
sensor mode (poke, reschedule, deferrable) and one for GetAsyncResultOperator."""

from __future__ import annotations

from airflow.sdk import DAG, task

from airflow_asyncjob.operators.async_job import GetAsyncResultOperator
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

JOB_ID = "{{ ti.xcom_pull(task_ids='submit_elsewhere') }}"
MODES = ("poke", "reschedule", "deferrable")

DAGS = {}


@task
def submit_elsewhere() -> None:
    """An upstream task that forgot to return the job id."""


for mode in MODES:
    with DAG(dag_id=f"missing_job_id_sensor_{mode}", schedule=None, catchup=False) as dag:
        submit_elsewhere() >> AsyncJobStatusSensor(
            task_id="wait_for_job",
            job_id=JOB_ID,
            mode="poke" if mode == "deferrable" else mode,
            deferrable=mode == "deferrable",
            poke_interval=0.2,
            max_poll_interval=0.5,
            timeout=30,
            retries=2,  # refused without retry: the same template renders the same value
        )
    DAGS[dag.dag_id] = dag

with DAG(dag_id="missing_job_id_results", schedule=None, catchup=False) as dag:
    submit_elsewhere() >> GetAsyncResultOperator(task_id="results", job_id=JOB_ID, retries=2)
DAGS[dag.dag_id] = dag
