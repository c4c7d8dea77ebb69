"""Wait for an asyncSearch in reschedule mode, then read every page of its results.

In ``mode="reschedule"`` the sensor gives its worker slot back between pokes: the scheduler runs
it again after ``poke_interval`` seconds, so a search that takes hours holds no slot while it
waits. When the job is ``finished``, ``read_search_pages`` reads its result pages with
getAsyncResult (1-based pages; NetSuite allows 20 getAsyncResult calls per job, so a search
with more than 20 pages needs a larger page size: up to 2000 rows).

Against the emulator (``python -m airflow_asyncjob.testing.emulator``), the default job is its
example scenario's asyncSearch: 2500 rows in pages of 1000, passing through ``retry``. Against
NetSuite, pass the id an asyncSearch returned:
``airflow dags trigger example_netsuite_search_reschedule -c '{"job_id": "..."}'``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import DAG, Param, task
from airflow.sdk.exceptions import AirflowFailException

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.models import MAX_ASYNC_RESULT_CALLS
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

log = logging.getLogger("airflow.task")

EXAMPLE_SEARCH_JOB_ID = "ASYNCWEBSERVICES_1234567_SB1_112920261015490000000004_d4e5f6a7"

with DAG(
    dag_id="example_netsuite_search_reschedule",
    schedule=None,
    catchup=False,
    tags=["netsuite", "example"],
    params={"job_id": Param(EXAMPLE_SEARCH_JOB_ID, type="string", description="asyncSearch job id")},
    doc_md=__doc__,
):
    # --8<-- [start:sensor]
    wait_for_search = AsyncJobStatusSensor(
        task_id="wait_for_search",
        job_id="{{ params.job_id }}",
        mode="reschedule",
        poke_interval=2,
        timeout=6 * 3600,
        # Airflow 3.2/3.3 can fail a reschedule-mode sensor when the executor's report of an
        # earlier poke arrives after the next poke started (apache/airflow#71172). The sensor
        # keeps nothing between pokes, so a retry just pokes again.
        retries=2,
        retry_delay=timedelta(seconds=5),
    )
    # --8<-- [end:sensor]

    # --8<-- [start:results]
    @task
    def read_search_pages(final_status: dict) -> dict:
        """Read every result page of a finished asyncSearch; return its paging summary."""
        hook = SoapAsyncJobHook()
        job_id = final_status["job_id"]
        first = hook.get_async_result(job_id, 1)
        total_pages = first.total_pages or 1
        if total_pages > MAX_ASYNC_RESULT_CALLS:
            raise AirflowFailException(
                f"search job {job_id} has {total_pages} pages but NetSuite allows {MAX_ASYNC_RESULT_CALLS} "
                "getAsyncResult calls per job: run the search again with a larger pageSize (up to 2000)."
            )
        pages = [first] + [hook.get_async_result(job_id, index) for index in range(2, total_pages + 1)]
        for page in pages:
            log.info("Search %s: read page %d of %d.", first.search_id, page.page_index, total_pages)
        return {
            "job_id": job_id,
            "search_id": first.search_id,
            "total_records": first.total_records,
            "page_size": first.page_size,
            "pages_read": [page.page_index for page in pages],
        }

    # --8<-- [end:results]

    read_search_pages(wait_for_search.output)
