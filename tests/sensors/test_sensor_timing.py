"""A poke-mode sensor whose poke_interval is longer than its timeout ends at the timeout: it no
longer sleeps for the whole poke_interval (a week) after its first poke (issue 11, item 2).

The DAG is in tests/dags/sensor_timing.py (the tests' DAG folder).
"""

from __future__ import annotations

import time
import types

import sensor_timing  # noqa: E402
from airflow.sdk.bases import sensor as airflow_sensor

from airflow_asyncjob.sensors.async_job_status import SensorTimingWarning


def test_a_week_long_poke_interval_warns_and_times_out_at_the_timeout(
    airflow_db, emulator, monkeypatch, capfd
):
    assert [str(w.message) for w in sensor_timing.PARSE_WARNINGS if w.category is SensorTimingWarning] == [
        "AsyncJobStatusSensor(task_id='wait'): poke_interval=604800 s is longer than timeout=2 s, so the "
        "sensor would sleep past its timeout; poking every 2 s instead."
    ]
    job_id = emulator.create_job(
        {
            "operation": "asyncAddList",
            "pending_seconds": 0,
            "processing_seconds": 600,
            "records": [{"externalId": "c1"}],
        }
    )
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(min(seconds, sensor_timing.TIMEOUT))  # never a week, even before the fix

    # Airflow's poke loop sleeps through its module's `time`: record what it asks for.
    monkeypatch.setattr(airflow_sensor, "time", types.SimpleNamespace(monotonic=time.monotonic, sleep=sleep))

    dag_run = sensor_timing.dag.test(run_conf={"job_id": job_id})

    (wait,) = dag_run.get_task_instances()
    assert getattr(wait.state, "value", wait.state) == "failed"
    assert wait.try_number == 1  # a sensor timeout is not retried
    assert "Sensor has timed out" in capfd.readouterr().out
    assert sleeps and max(sleeps) <= sensor_timing.TIMEOUT
    assert emulator.stats()["requests"]["checkAsyncStatus"] == len(sleeps) + 1
