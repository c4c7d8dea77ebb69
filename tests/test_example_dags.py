"""The example DAGs import cleanly and wire the sensor's branches to real tasks.

The README's first command (`python3 dev.py example`, run in CI too) runs them end to end.
"""

from __future__ import annotations

from pathlib import Path

from airflow.dag_processing.dagbag import DagBag

EXAMPLE_DAGS = Path(__file__).resolve().parents[1] / "example_dags"


def test_example_dags_import_without_errors():
    bag = DagBag(dag_folder=str(EXAMPLE_DAGS))
    assert bag.import_errors == {}
    assert "example_netsuite_async_job" in bag.dag_ids


def test_example_sensor_branches_to_its_direct_downstream_tasks(airflow_db):
    dag = DagBag(dag_folder=str(EXAMPLE_DAGS)).get_dag("example_netsuite_async_job")
    sensor = dag.get_task("wait_for_job")
    assert sensor.on_finished_with_errors == "branch"
    assert set(sensor.downstream_task_ids) == {"load", "report_failed_records"}
    assert sensor.follow_task_ids_if_finished == ["load"]
    assert sensor.follow_task_ids_if_finished_with_errors == ["report_failed_records"]
