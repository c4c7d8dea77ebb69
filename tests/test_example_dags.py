"""The example DAGs import cleanly and wire the sensor's branches to real tasks.

The README's first command (`python3 dev.py example`, run in CI too) runs them end to end.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

EXAMPLE_DAGS = Path(__file__).resolve().parents[1] / "example_dags"


def test_example_dags_import_without_errors(airflow_db):
    bag = DagBag(dag_folder=str(EXAMPLE_DAGS))
    assert bag.import_errors == {}
    assert {
        "example_netsuite_async_job",
        "example_netsuite_async_job_deferrable",
        "example_netsuite_submit_and_wait",
    } <= set(bag.dag_ids)


def test_the_one_task_example_submits_and_waits_deferred():
    dag = DagBag(dag_folder=str(EXAMPLE_DAGS)).get_dag("example_netsuite_submit_and_wait")
    task = dag.get_task("upsert_and_wait")
    assert (task.operation, task.wait_for_completion, task.deferrable) == ("asyncUpsertList", True, True)
    assert task.on_finished_with_errors == "fail"


@pytest.mark.parametrize(
    ("dag_id", "deferrable"),
    [("example_netsuite_async_job", False), ("example_netsuite_async_job_deferrable", True)],
)
def test_example_sensor_branches_to_its_direct_downstream_tasks(airflow_db, dag_id, deferrable):
    dag = DagBag(dag_folder=str(EXAMPLE_DAGS)).get_dag(dag_id)
    sensor = dag.get_task("wait_for_job")
    assert sensor.deferrable is deferrable
    assert sensor.on_finished_with_errors == "branch"
    assert set(sensor.downstream_task_ids) == {"load", "report_failed_records"}
    assert sensor.follow_task_ids_if_finished == ["load"]
    assert sensor.follow_task_ids_if_finished_with_errors == ["report_failed_records"]


def test_the_upsert_example_submits_waits_deferred_and_branches_to_the_results(airflow_db):
    dag = DagBag(dag_folder=str(EXAMPLE_DAGS)).get_dag("example_netsuite_upsert_customers")
    submit, sensor = dag.get_task("submit_customers"), dag.get_task("wait_for_job")
    assert (submit.operation, submit.record_type) == ("asyncUpsertList", "customer")
    assert sensor.deferrable is True and sensor.on_finished_with_errors == "branch"
    assert set(sensor.downstream_task_ids) == {"load", "get_results"}
    assert sensor.follow_task_ids_if_finished_with_errors == ["get_results"]
    assert dag.get_task("get_results").downstream_task_ids == {"report_failures"}


def test_the_customers_changed_example_is_scheduled_on_the_asset_the_upsert_writes(airflow_db):
    from airflow_asyncjob.assets import netsuite_asset, writes_alias

    bag = DagBag(dag_folder=str(EXAMPLE_DAGS))
    upsert, consumer = (
        bag.get_dag("example_netsuite_upsert_customers"),
        bag.get_dag("example_netsuite_customers_changed"),
    )
    # The submit declares its connection's alias; at run time it adds netsuite://<account>/customer.
    assert upsert.get_task("submit_customers").outlets == [writes_alias("netsuite_default")]
    assert list(consumer.timetable.asset_condition.objects) == [netsuite_asset("1234567_SB1", "customer")]
    assert consumer.get_task("read_change").downstream_task_ids == {"wait_for_job"}


def test_the_rest_example_is_the_upsert_examples_twin_with_the_same_sensor_and_branch(airflow_db):
    bag = DagBag(dag_folder=str(EXAMPLE_DAGS))
    soap, rest = (
        bag.get_dag("example_netsuite_upsert_customers"),
        bag.get_dag("example_netsuite_rest_async_job"),
    )
    submit, sensor = rest.get_task("submit_customers"), rest.get_task("wait_for_job")
    assert (submit.operation, submit.record_type, submit.netsuite_conn_id) == (
        "upsert",
        "customer",
        "netsuite_rest_default",
    )
    assert type(sensor) is type(soap.get_task("wait_for_job"))
    assert sensor.netsuite_conn_id == "netsuite_rest_default"
    assert sensor.deferrable is True and sensor.on_finished_with_errors == "branch"
    assert set(sensor.downstream_task_ids) == set(soap.get_task("wait_for_job").downstream_task_ids)
    assert sensor.follow_task_ids_if_finished_with_errors == ["get_results"]
    assert rest.get_task("get_results").downstream_task_ids == {"report_failures"}
