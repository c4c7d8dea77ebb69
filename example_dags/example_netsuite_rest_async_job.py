"""The REST twin of ``example_netsuite_upsert_customers``: a batch of customers submitted to NetSuite
REST web services asynchronously, then the same sensor, branch and result task.

submit_customers (RestAsyncJobSubmitOperator: one batch upsert of five customers with ``Prefer:
respond-async`` and an idempotency key) -> wait_for_job (AsyncJobStatusSensor on the
``netsuite_rest`` connection, deferrable, branch mode) -> finished: ``load``; finishedWithErrors:
``get_results`` (RestAsyncResultOperator: every task's result, JSON lines in object storage, the
same summary in XCom) -> ``report_failures``.

Against the emulator (``python3 dev.py example``) two of the five customers fail as on the SOAP
side: cust-0203 already exists (DUP_ENTITY) and cust-0204 names a subsidiary that does not
(INVALID_KEY_OR_REF), so two of the job's five tasks fail and the run branches to
``get_results``. Against NetSuite, create a ``netsuite_rest_default`` connection
(docs/connection.md) and pass your own customers:
``airflow dags test example_netsuite_rest_async_job -c '{"customers": [...]}'``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import DAG, Param, task

from airflow_asyncjob.operators.rest import RestAsyncJobSubmitOperator, RestAsyncResultOperator
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

log = logging.getLogger("airflow.task")

CUSTOMERS = [
    {"externalId": "cust-0201", "companyName": "Acme Corporation", "email": "ap@acme.example"},
    {"externalId": "cust-0202", "companyName": "Globex", "email": "billing@globex.example"},
    {"externalId": "cust-0203", "companyName": "Initech", "email": "finance@initech.example"},
    {"externalId": "cust-0204", "companyName": "Umbrella", "subsidiary": {"id": "99"}},
    {"externalId": "cust-0205", "companyName": "Hooli", "isPerson": False, "phone": "555-0105"},
]
"""The SOAP example's customers in REST's field names (record/v1/customer), keyed by externalId."""

REST_CONN_ID = "netsuite_rest_default"

with DAG(
    dag_id="example_netsuite_rest_async_job",
    schedule=None,
    catchup=False,
    tags=["netsuite", "rest", "example"],
    params={"customers": Param(CUSTOMERS, type="array", description="Customer records (REST field names)")},
    doc_md=__doc__,
):

    @task
    def extract_customers(params: dict) -> list[dict]:
        """Stand-in for the extraction: at most 100 customers (one REST batch request)."""
        return params["customers"]

    # --8<-- [start:submit]
    submit = RestAsyncJobSubmitOperator(
        task_id="submit_customers",
        record_type="customer",
        records=extract_customers(),
        operation="upsert",  # PUT, each item keyed by its externalId, as asyncUpsertList
        netsuite_conn_id=REST_CONN_ID,
        # A retry sends the same X-NetSuite-Idempotency-Key: NetSuite answers with the same job.
        retries=2,
        retry_delay=timedelta(seconds=5),
    )
    # --8<-- [end:submit]

    # --8<-- [start:sensor]
    wait_for_job = AsyncJobStatusSensor(
        task_id="wait_for_job",
        job_id=submit.output,
        netsuite_conn_id=REST_CONN_ID,  # a netsuite_rest connection: the job is a REST job
        on_finished_with_errors="branch",
        follow_task_ids_if_finished="load",
        follow_task_ids_if_finished_with_errors="get_results",
        deferrable=True,
        poke_interval=1,
        max_poll_interval=5,
        timeout=600,
        # A deferred task can be failed by a stale executor event once its trigger fired
        # (apache/airflow#66374, fixed in 3.2.2; #72716, open in 3.3): a retry pokes again.
        retries=2,
        retry_delay=timedelta(seconds=5),
    )
    # --8<-- [end:sensor]

    get_results = RestAsyncResultOperator(
        task_id="get_results", job_id=submit.output, netsuite_conn_id=REST_CONN_ID
    )

    @task
    def load(final_status: dict) -> None:
        """Stand-in for the downstream load: every task succeeded."""
        log.info("REST job %s finished: every customer was written; loading.", final_status["job_id"])

    @task
    def report_failures(summary: dict) -> None:
        """Log the failed tasks (code, message) from the summary, then the counts."""
        for failure in summary["first_failures"]:
            log.info(
                "Failed task %s code=%s message=%s", failure["task_id"], failure["code"], failure["message"]
            )
        log.info(
            "%d of %d records failed, by code: %s. All results: %s",
            summary["failed"],
            summary["records"],
            summary["failures_by_code"],
            summary["output_path"],
        )

    wait_for_job >> [get_results, load(wait_for_job.output)]
    report_failures(get_results.output)
