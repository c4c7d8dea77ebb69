"""DAGs for the extra-link tests: the sensor, and a stand-in for a submit operator that returns
the job id as a string (what the submit operator will push)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, BaseOperator, Param

from airflow_asyncjob.links.async_job import AsyncJobLink
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor


class ReturnsJobId(BaseOperator):
    """Returns the job id it is given, as a submit operator returns the id NetSuite assigned."""

    template_fields = ("value", "netsuite_conn_id")
    operator_extra_links = (AsyncJobLink(),)

    def __init__(self, *, value: str, netsuite_conn_id: str = "netsuite_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value = value
        self.netsuite_conn_id = netsuite_conn_id

    def execute(self, context: Any) -> str:
        return self.value


with DAG(
    dag_id="async_job_links",
    schedule=None,
    catchup=False,
    params={"job_id": Param("", type="string"), "conn_id": Param("netsuite_default", type="string")},
) as dag:
    submit = ReturnsJobId(
        task_id="submit", value="{{ params.job_id }}", netsuite_conn_id="{{ params.conn_id }}"
    )
    wait = AsyncJobStatusSensor(
        task_id="wait",
        job_id="{{ ti.xcom_pull(task_ids='submit') }}",
        netsuite_conn_id="{{ params.conn_id }}",
        on_finished_with_errors="succeed",
        poke_interval=0.2,
        timeout=60,
    )
    submit >> wait


with DAG(
    dag_id="async_job_links_deferred",
    schedule=None,
    catchup=False,
    params={"job_id": Param("", type="string")},
) as deferred_dag:
    # A deferred (or rescheduled) try ends with no return value yet: the link is computed then too.
    AsyncJobStatusSensor(
        task_id="wait_for_job",
        job_id="{{ params.job_id }}",
        deferrable=True,
        poke_interval=0.2,
        timeout=60,
    )
