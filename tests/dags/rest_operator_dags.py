# mypy: disable-error-code="arg-type"
# (as pyproject.toml does for the other test DAG modules: an XComArg is resolved at run time)
"""DAGs for the REST operator tests (tests/operators/test_rest_operators.py), run with dag.test()
against the emulator's REST side; the connection ``netsuite_rest_default`` points at it."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param

from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.operators.rest import RestAsyncJobSubmitOperator, RestAsyncResultOperator
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

DAGS: dict[str, DAG] = {}
QUICK_RETRY = RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.02)
REST = "netsuite_rest_default"


def _register(dag: DAG) -> None:
    DAGS[dag.dag_id] = dag
    globals()[dag.dag_id] = dag


for name, deferrable in (("rest_submit_wait_in_worker", False), ("rest_submit_wait_deferred", True)):
    with DAG(
        dag_id=name,
        schedule=None,
        catchup=False,
        params={"records": Param([], type="array"), "policy": Param("fail", type="string")},
        render_template_as_native_obj=True,
    ) as dag:
        RestAsyncJobSubmitOperator(
            task_id="submit",
            record_type="customer",
            records="{{ params.records }}",
            operation="upsert",
            netsuite_conn_id=REST,
            retry=QUICK_RETRY,
            wait_for_completion=True,
            deferrable=deferrable,
            poke_interval=0.2,
            max_poll_interval=0.5,
            timeout=120,
        )
    _register(dag)

with DAG(
    dag_id="rest_submit_wait_succeed_on_errors",
    schedule=None,
    catchup=False,
    params={"records": Param([], type="array")},
    render_template_as_native_obj=True,
) as dag:
    RestAsyncJobSubmitOperator(
        task_id="submit",
        record_type="customer",
        records="{{ params.records }}",
        operation="upsert",
        netsuite_conn_id=REST,
        retry=QUICK_RETRY,
        wait_for_completion=True,
        poke_interval=0.2,
        max_poll_interval=0.5,
        timeout=120,
        on_finished_with_errors="succeed",
    )
_register(dag)

with DAG(
    dag_id="rest_submit_branch_results",
    schedule=None,
    catchup=False,
    params={"records": Param([], type="array")},
    render_template_as_native_obj=True,
) as dag:
    submit = RestAsyncJobSubmitOperator(
        task_id="submit",
        record_type="customer",
        records="{{ params.records }}",
        operation="upsert",
        netsuite_conn_id=REST,
        retry=QUICK_RETRY,
    )
    wait = AsyncJobStatusSensor(
        task_id="wait",
        job_id=submit.output,
        netsuite_conn_id=REST,
        on_finished_with_errors="branch",
        follow_task_ids_if_finished="done",
        follow_task_ids_if_finished_with_errors="results",
        deferrable=True,
        poke_interval=0.2,
        max_poll_interval=0.5,
        timeout=120,
    )
    results = RestAsyncResultOperator(task_id="results", job_id=submit.output, netsuite_conn_id=REST)
    done = RestAsyncResultOperator(task_id="done", job_id=submit.output, netsuite_conn_id=REST)
    wait >> [results, done]
_register(dag)

with DAG(
    dag_id="rest_submit_killed_while_waiting",
    schedule=None,
    catchup=False,
    params={"records": Param([], type="array")},
    render_template_as_native_obj=True,
) as dag:
    # Killed (SIGKILL) by tests/operators/test_rest_operators.py while its first job poll is held.
    RestAsyncJobSubmitOperator(
        task_id="submit",
        record_type="customer",
        records="{{ params.records }}",
        operation="upsert",
        netsuite_conn_id=REST,
        retry=QUICK_RETRY,
        wait_for_completion=True,
        poke_interval=0.2,
        max_poll_interval=1,
        timeout=120,
        on_finished_with_errors="succeed",
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
_register(dag)
