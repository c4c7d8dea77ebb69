"""Upsert customers keyed by externalId, wait, then load, or find out exactly which records failed.

extract_customers -> submit_customers (asyncUpsertList) -> wait_for_job (deferrable sensor in
branch mode) -> finished: ``load``; finishedWithErrors: ``get_results`` (every getAsyncResult page,
JSON lines in object storage, a summary in XCom) -> ``report_failures``.

Against the emulator (``python3 dev.py example``) two of the five customers fail as NetSuite would
answer: cust-0203 already exists (DUP_ENTITY) and cust-0204 names a subsidiary that does not
(INVALID_KEY_OR_REF), so the run branches to ``get_results``. Against NetSuite, pass your own
customers: ``airflow dags test example_netsuite_upsert_customers -c '{"customers": [...]}'``.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from airflow.sdk import DAG, ObjectStoragePath, Param, task

from airflow_asyncjob.operators.async_job import AsyncJobSubmitOperator, GetAsyncResultOperator
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

log = logging.getLogger("airflow.task")

CUSTOMERS = [
    {"externalId": "cust-0201", "companyName": "Acme Corporation", "email": "ap@acme.example"},
    {"externalId": "cust-0202", "companyName": "Globex", "email": "billing@globex.example"},
    {"externalId": "cust-0203", "companyName": "Initech", "email": "finance@initech.example"},
    {"externalId": "cust-0204", "companyName": "Umbrella", "subsidiary": {"internalId": "99"}},
    {"externalId": "cust-0205", "companyName": "Hooli", "isPerson": False, "phone": "555-0105"},
]
"""Customers in NetSuite's field names (lists.relationships.xsd Customer), keyed by externalId."""

with DAG(
    dag_id="example_netsuite_upsert_customers",
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

    submit = AsyncJobSubmitOperator(
        task_id="submit_customers",
        operation="asyncUpsertList",
        records=extract_customers(),
        record_type="customer",
    )

    # --8<-- [start:deferrable]
    wait_for_job = AsyncJobStatusSensor(
        task_id="wait_for_job",
        job_id=submit.output,
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
    # --8<-- [end:deferrable]

    get_results = GetAsyncResultOperator(task_id="get_results", job_id=submit.output)

    @task
    def load(final_status: dict) -> None:
        """Stand-in for the downstream load: the job wrote every record."""
        log.info("Job %s finished: every customer was written; loading.", final_status["job_id"])

    @task
    def report_failures(summary: dict) -> None:
        """Log each failed record (externalId, code, message) from the JSON lines, then the counts."""
        with ObjectStoragePath(summary["output_path"]).open("r", encoding="utf-8") as results:
            for line in results:
                row = json.loads(line)
                if row["is_success"]:
                    continue
                ref = row["base_ref"] or {}
                for detail in row["status_details"]:
                    log.info(
                        "Failed record externalId=%s code=%s message=%s",
                        ref.get("external_id"),
                        detail["code"],
                        detail["message"],
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
