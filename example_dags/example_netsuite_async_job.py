"""Wait for a NetSuite async job, then load on success or report the failed records.

Two DAGs from one definition: ``example_netsuite_async_job`` pokes from a worker;
``example_netsuite_async_job_deferrable`` pokes once, then waits in the triggerer (no worker slot
held) with adaptive polling between ``poke_interval`` and ``max_poll_interval``.

The job id is a DAG param. Against the emulator (``python -m airflow_asyncjob.testing.emulator``),
its example scenario pre-creates jobs with fixed ids: the poking DAG's default job ends in
finishedWithErrors, so its run branches to ``report_failed_records``; the deferrable DAG's default
job finishes, so its run branches to ``load``. Against NetSuite, pass the id of a job an
``async*`` call returned: ``airflow dags test example_netsuite_async_job -c '{"job_id": "..."}'``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import DAG, Param, task

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

log = logging.getLogger("airflow.task")

# Jobs the emulator's example scenario creates: one ends finishedWithErrors, one finished.
FINISHED_WITH_ERRORS_JOB_ID = "ASYNCWEBSERVICES_1234567_SB1_112920261015490000000002_b2c3d4e5"
FINISHED_JOB_ID = "ASYNCWEBSERVICES_1234567_SB1_112920261015490000000001_a1b2c3d4"


def build(dag_id: str, *, deferrable: bool, job_id: str) -> DAG:
    """The example DAG: sensor (branch mode) -> load | report_failed_records."""
    with DAG(
        dag_id=dag_id,
        schedule=None,
        catchup=False,
        tags=["netsuite", "example"],
        params={"job_id": Param(job_id, type="string", description="NetSuite async job id")},
        doc_md=__doc__,
    ) as dag:
        # --8<-- [start:sensor]
        wait_for_job = AsyncJobStatusSensor(
            task_id="wait_for_job",
            job_id="{{ params.job_id }}",
            on_finished_with_errors="branch",
            follow_task_ids_if_finished="load",
            follow_task_ids_if_finished_with_errors="report_failed_records",
            deferrable=deferrable,
            poke_interval=1,
            max_poll_interval=5,
            timeout=600,
            # A deferred task can be failed by a stale executor event once its trigger fired
            # (apache/airflow#66374, fixed in 3.2.2; #72716, open in 3.3): a retry pokes again.
            retries=2,
            retry_delay=timedelta(seconds=5),
        )
        # --8<-- [end:sensor]

        @task
        def load(final_status: dict) -> None:
            """Stand-in for the downstream load: the job wrote every record."""
            log.info("Job %s finished: every record was written; loading.", final_status["job_id"])

        # --8<-- [start:results]
        @task
        def report_failed_records(final_status: dict) -> list[dict]:
            """Read getAsyncResult page 1 and log each failed record's externalId, code and message."""
            page = SoapAsyncJobHook().get_async_result(final_status["job_id"], 1)
            failed = []
            for record in page.failed_records:
                ref = record.base_ref
                for detail in record.details or ():
                    failed.append(
                        {
                            "external_id": ref.external_id if ref else None,
                            "internal_id": ref.internal_id if ref else None,
                            "code": detail.code,
                            "message": detail.message,
                        }
                    )
                    log.info(
                        "Failed record externalId=%s code=%s message=%s",
                        failed[-1]["external_id"],
                        detail.code,
                        detail.message,
                    )
            log.info("%d of %d records failed.", len(page.failed_records), len(page.records))
            return failed

        # --8<-- [end:results]

        # --8<-- [start:wiring]
        load(wait_for_job.output)
        report_failed_records(wait_for_job.output)
        # --8<-- [end:wiring]
    return dag


example_netsuite_async_job = build(
    "example_netsuite_async_job", deferrable=False, job_id=FINISHED_WITH_ERRORS_JOB_ID
)
example_netsuite_async_job_deferrable = build(
    "example_netsuite_async_job_deferrable", deferrable=True, job_id=FINISHED_JOB_ID
)
