"""Upsert customers and wait for the job in the same task: AsyncJobSubmitOperator(wait_for_completion=True).

The one-task form of the main example (``example_netsuite_upsert_customers`` submits, waits with
the sensor, branches and reads the results). Here ``upsert_and_wait`` submits asyncUpsertList,
pushes the job id (XCom ``job_id``) and defers to AsyncJobStatusTrigger until the job ends, with
the sensor's outcome rules: finished succeeds (the final status in XCom ``status``), failed and
finishedWithErrors fail without retry. A retry reconnects to the job it submitted (the job id
is in Airflow's task_state_store), never submitting twice. Against the emulator
(``python3 dev.py example``) every customer is written and the job ends ``finished``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import DAG, Param, task

from airflow_asyncjob.operators.async_job import AsyncJobSubmitOperator

log = logging.getLogger("airflow.task")

CUSTOMERS = [
    {"externalId": "cust-0301", "companyName": "Soylent Corp", "email": "ap@soylent.example"},
    {"externalId": "cust-0302", "companyName": "Vandelay Industries", "email": "art@vandelay.example"},
    {"externalId": "cust-0303", "companyName": "Stark Industries", "isPerson": False},
]
"""Customers in NetSuite's field names (lists.relationships.xsd Customer), keyed by externalId."""

with DAG(
    dag_id="example_netsuite_submit_and_wait",
    schedule=None,
    catchup=False,
    tags=["netsuite", "example"],
    params={
        "customers": Param(CUSTOMERS, type="array", description="Customer records (NetSuite field names)")
    },
    doc_md=__doc__,
):

    @task
    def extract_customers(params: dict) -> list[dict]:
        """Stand-in for the extraction: the customers to upsert, each keyed by its externalId."""
        return params["customers"]

    # --8<-- [start:submit_and_wait]
    upsert_and_wait = AsyncJobSubmitOperator(
        task_id="upsert_and_wait",
        operation="asyncUpsertList",
        records=extract_customers(),
        record_type="customer",
        wait_for_completion=True,
        deferrable=True,
        poke_interval=1,
        max_poll_interval=5,
        timeout=600,
        on_finished_with_errors="fail",
        # A deferred task can be failed by a stale executor event once its trigger fired
        # (apache/airflow#66374, fixed in 3.2.2; #72716, open in 3.3): a retry reconnects to the job.
        retries=2,
        retry_delay=timedelta(seconds=5),
    )
    # --8<-- [end:submit_and_wait]

    @task
    def load(job_id: str, ti=None) -> None:
        """Stand-in for the downstream load: the job wrote every record."""
        final = ti.xcom_pull(task_ids="upsert_and_wait", key="status")
        log.info("Job %s ended %s: every customer was written; loading.", job_id, final["status"])

    load(upsert_and_wait.output)
