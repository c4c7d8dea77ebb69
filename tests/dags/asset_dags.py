"""DAGs for the asset and OpenLineage tests (tests/test_assets.py, tests/test_lineage.py), run with
dag.test() against the emulator (its account is 1234567_SB1)."""

from __future__ import annotations

from airflow.sdk import DAG, Asset, Param, task

from airflow_asyncjob.assets import netsuite_asset
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.operators.async_job import AsyncJobSubmitOperator, GetAsyncResultOperator
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

DAGS: dict[str, DAG] = {}
QUICK_RETRY = RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.02)


def _register(dag: DAG) -> None:
    DAGS[dag.dag_id] = dag
    globals()[dag.dag_id] = dag


with DAG(
    dag_id="assets_upsert_then_results",
    schedule=None,
    catchup=False,
    params={"records": Param([], type="array"), "output_path": Param("", type="string")},
    render_template_as_native_obj=True,
) as dag:
    # No outlets: the connection's alias, resolved to the assets written when the task runs.
    @task
    def extract(params: dict) -> list:
        return params["records"]

    submit = AsyncJobSubmitOperator(
        task_id="submit",
        operation="asyncUpsertList",
        records=extract(),
        record_type="customer",
        retry=QUICK_RETRY,
    )
    wait = AsyncJobStatusSensor(
        task_id="wait",
        job_id=submit.output,
        on_finished_with_errors="succeed",
        poke_interval=0.2,
        timeout=120,
        retry=QUICK_RETRY,
    )
    results = GetAsyncResultOperator(
        task_id="results", job_id=submit.output, output_path="{{ params.output_path }}", retry=QUICK_RETRY
    )
    wait >> results
_register(dag)


with DAG(
    dag_id="assets_declared",
    schedule=None,
    catchup=False,
    params={"records": Param([], type="array")},
    render_template_as_native_obj=True,
) as dag:
    # Declared in another spelling of the emulator's account and record type, beside a foreign asset.
    AsyncJobSubmitOperator(
        task_id="submit",
        operation="asyncAddList",
        records="{{ params.records }}",
        outlets=[netsuite_asset("1234567-SB1", "Customer"), Asset("s3://bucket/customers.json")],
        retry=QUICK_RETRY,
    )
_register(dag)


with DAG(
    dag_id="assets_declared_for_another_account",
    schedule=None,
    catchup=False,
    params={"records": Param([], type="array")},
    render_template_as_native_obj=True,
) as dag:
    AsyncJobSubmitOperator(
        task_id="submit",
        operation="asyncAddList",
        records="{{ params.records }}",
        record_type="customer",
        outlets=[netsuite_asset("7654321", "customer")],
        retry=QUICK_RETRY,
    )
_register(dag)


with DAG(
    dag_id="assets_search_from_file",
    schedule=None,
    catchup=False,
    params={"records_path": Param("", type="string"), "search": Param({}, type="object")},
    render_template_as_native_obj=True,
) as dag:
    AsyncJobSubmitOperator(
        task_id="search", operation="asyncSearch", search_record="{{ params.search }}", retry=QUICK_RETRY
    )
    AsyncJobSubmitOperator(
        task_id="delete",
        operation="asyncDeleteList",
        records_path="{{ params.records_path }}",
        retry=QUICK_RETRY,
    )
_register(dag)
