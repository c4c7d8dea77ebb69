"""DAGs for tests/sensors/test_rest_task_progress.py: a REST job waited for with and without
``rest_task_progress``, in each waiting mode; the REST submit-and-wait with it; and a SOAP job
with it (ignored). The job id is the DAG param ``job_id``; the tests create the job first."""

from __future__ import annotations

from airflow.sdk import DAG, Param

from airflow_asyncjob.operators.rest import RestAsyncJobSubmitOperator
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

TASKS = 4


def dag_id(mode: str, rest_task_progress: bool) -> str:
    return f"rest_task_progress_{mode}_{str(rest_task_progress).lower()}"


DAGS = {}
for mode in ("poke", "deferrable"):
    for progress in (False, True):
        with DAG(
            dag_id=dag_id(mode, progress),
            schedule=None,
            catchup=False,
            params={"job_id": Param("", type="string")},
        ) as dag:
            AsyncJobStatusSensor(
                task_id="wait",
                job_id="{{ params.job_id }}",
                deferrable=mode == "deferrable",
                rest_task_progress=progress,
                poke_interval=0.2,
                max_poll_interval=0.3,
                timeout=60,
            )
        DAGS[dag.dag_id] = dag

with DAG(dag_id="rest_submit_and_wait_task_progress", schedule=None, catchup=False) as dag:
    RestAsyncJobSubmitOperator(
        task_id="submit",
        record_type="customer",
        records=[{"externalId": f"c{i}", "companyName": f"C{i}"} for i in range(TASKS)],
        operation="upsert",
        netsuite_conn_id="netsuite_default",
        wait_for_completion=True,
        rest_task_progress=True,
        poke_interval=0.2,
        max_poll_interval=0.3,
        timeout=60,
    )
DAGS[dag.dag_id] = dag
