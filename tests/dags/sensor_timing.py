"""A poke-mode sensor asked to poke once a week with a timeout of 2 s (issue 11, item 2).

The warning its parsing gives is kept in PARSE_WARNINGS (for the test to read) rather than
raised at import, as Airflow's DAG processor keeps it for the UI.
"""

from __future__ import annotations

import warnings

from airflow.sdk import DAG, Param

from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

TIMEOUT = 2.0

with warnings.catch_warnings(record=True) as PARSE_WARNINGS:
    warnings.simplefilter("always")
    with DAG(
        "sensor_poke_interval_over_timeout",
        schedule=None,
        catchup=False,
        params={"job_id": Param("", type="string")},
    ) as dag:
        AsyncJobStatusSensor(
            task_id="wait",
            job_id="{{ params.job_id }}",
            poke_interval=7 * 24 * 3600,
            timeout=TIMEOUT,
            retries=2,
        )
