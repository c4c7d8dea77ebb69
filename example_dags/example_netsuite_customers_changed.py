"""Run when customers changed in NetSuite: a DAG scheduled on the asset the upsert example writes.

``example_netsuite_upsert_customers`` upserts customers (asyncUpsertList). Its submit declares no
outlets, so it declares its connection's asset alias and, on success, adds an asset event for
``netsuite://<account>/customer`` (the connection's account) with the job in the event's extra:
``{"job_id", "job_ids", "operation", "account_id", "record_type", "records_submitted"}``. The
scheduler then starts a run of this DAG, scheduled on that asset:

read_change (the triggering event's extra) -> wait_for_job (the submit does not wait for the job,
so this waits for the job the event names; finishedWithErrors counts as done here).

``airflow dags test`` starts a run by hand, without a triggering event: ``read_change`` then reads
the asset's latest event (``python3 dev.py example`` runs the upsert example first). The asset
names the emulator's account, 1234567_SB1: against NetSuite, use your account id.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import DAG, task
from airflow.sdk.exceptions import AirflowSkipException

from airflow_asyncjob.assets import netsuite_asset
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

log = logging.getLogger("airflow.task")

# --8<-- [start:asset]
CUSTOMERS = netsuite_asset("1234567_SB1", "customer")  # netsuite://1234567-sb1/customer
# --8<-- [end:asset]

with DAG(
    dag_id="example_netsuite_customers_changed",
    schedule=[CUSTOMERS],
    catchup=False,
    tags=["netsuite", "example"],
    doc_md=__doc__,
):

    @task(inlets=[CUSTOMERS])
    def read_change(triggering_asset_events: Any = None, inlet_events: Any = None) -> dict[str, Any]:
        """The extra of the asset event that started this run (the latest one when run by hand)."""
        events = list(triggering_asset_events[CUSTOMERS]) if triggering_asset_events else []
        if not events:
            events = list(inlet_events[CUSTOMERS][-1:])
        if not events:
            raise AirflowSkipException(f"{CUSTOMERS.uri} has no asset event yet: nothing changed.")
        extra = dict(events[-1].extra)
        log.info(
            "NetSuite customers changed: %s of %s records submitted in job %s",
            extra.get("operation"),
            extra.get("records_submitted"),
            extra.get("job_id"),
        )
        return extra

    change = read_change()

    wait_for_job = AsyncJobStatusSensor(
        task_id="wait_for_job",
        job_id="{{ ti.xcom_pull(task_ids='read_change')['job_id'] }}",
        on_finished_with_errors="succeed",
        poke_interval=1,
        timeout=600,
    )
    change >> wait_for_job
