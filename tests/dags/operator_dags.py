"""DAGs for the operator tests (tests/operators/), run with dag.test() against the emulator."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param, task

from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.operators.async_job import AsyncJobSubmitOperator, GetAsyncResultOperator
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

DAGS: dict[str, DAG] = {}
QUICK_RETRY = RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.02)
"""The hook retries fast in the submit DAGs (the read_results DAG keeps the default policy)."""


def _register(dag: DAG) -> None:
    DAGS[dag.dag_id] = dag
    globals()[dag.dag_id] = dag


class LostAfterSubmit(AsyncJobSubmitOperator):
    """Fails its first try after the submit has pushed its job id, as a worker lost at that
    moment would (the scheduler then retries the task)."""

    def execute(self, context):
        result = super().execute(context)
        if context["ti"].try_number == 1:
            raise RuntimeError("worker lost after the submit")
        return result


with DAG(
    dag_id="submit_branch_results",
    schedule=None,
    catchup=False,
    params={"records": Param([], type="array"), "output_path": Param("", type="string")},
    render_template_as_native_obj=True,
) as dag:
    submit = AsyncJobSubmitOperator(
        task_id="submit",
        operation="asyncUpsertList",
        records="{{ params.records }}",
        record_type="customer",
        retry=QUICK_RETRY,
    )
    wait = AsyncJobStatusSensor(
        task_id="wait",
        job_id="{{ ti.xcom_pull(task_ids='submit') }}",
        on_finished_with_errors="branch",
        follow_task_ids_if_finished="load",
        follow_task_ids_if_finished_with_errors="results",
        poke_interval=0.2,
        timeout=120,
        retry=QUICK_RETRY,
    )
    results = GetAsyncResultOperator(
        task_id="results",
        job_id="{{ ti.xcom_pull(task_ids='submit') }}",
        output_path="{{ params.output_path }}",
        retry=QUICK_RETRY,
    )

    @task
    def load(final_status: dict) -> str:
        return final_status["status"]

    @task
    def report(summary: dict) -> dict:
        return summary["failures_by_code"]

    submit >> wait >> [results, load(wait.output)]
    report(results.output)
_register(dag)


with DAG(
    dag_id="submit_retried_after_push",
    schedule=None,
    catchup=False,
    params={"records": Param([], type="array")},
    render_template_as_native_obj=True,
) as dag:
    LostAfterSubmit(
        task_id="submit",
        operation="asyncAddList",
        records="{{ params.records }}",
        record_type="customer",
        retry=QUICK_RETRY,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
_register(dag)


with DAG(
    dag_id="submit_split",
    schedule=None,
    catchup=False,
    params={"records": Param([], type="array"), "split": Param(True, type="boolean")},
    render_template_as_native_obj=True,
) as dag:
    AsyncJobSubmitOperator(
        task_id="submit",
        operation="asyncUpsertList",
        records="{{ params.records }}",
        record_type="customer",
        retry=QUICK_RETRY,
        split_over_limit=True,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
_register(dag)


with DAG(
    dag_id="submit_refused_over_limit",
    schedule=None,
    catchup=False,
    params={"records": Param([], type="array")},
    render_template_as_native_obj=True,
) as dag:
    AsyncJobSubmitOperator(
        task_id="submit",
        operation="asyncUpsertList",
        records="{{ params.records }}",
        record_type="customer",
        retry=QUICK_RETRY,
        retries=2,
    )
_register(dag)


with DAG(
    dag_id="submit_search_from_file",
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


with DAG(
    dag_id="read_results",
    schedule=None,
    catchup=False,
    params={"job_id": Param("", type="string"), "output_path": Param("", type="string")},
) as dag:
    GetAsyncResultOperator(
        task_id="results",
        job_id="{{ params.job_id }}",
        output_path="{{ params.output_path }}",
        max_failures_in_summary=2,
    )
_register(dag)


class LostAfterSubmitOnce(AsyncJobSubmitOperator):
    """Fails its first try right after the job id is recorded (before any waiting), as a worker
    lost at that moment would; the retry then finds the job in task_state_store."""

    def _submit(self, batch, index, count):
        submitted = super()._submit(batch, index, count)
        self._lost = True
        return submitted

    def _wait(self, context, job_id, last):
        if getattr(self, "_lost", False) and context["ti"].try_number == 1:
            raise RuntimeError("worker lost after the submit")
        return super()._wait(context, job_id, last)


for _dag_id, _deferrable, _on_errors in (
    ("submit_wait_in_worker", False, "fail"),
    ("submit_wait_deferred", True, "succeed"),
):
    with DAG(
        dag_id=_dag_id,
        schedule=None,
        catchup=False,
        params={"records": Param([], type="array")},
        render_template_as_native_obj=True,
    ) as dag:
        AsyncJobSubmitOperator(
            task_id="submit",
            operation="asyncUpsertList",
            records="{{ params.records }}",
            record_type="customer",
            retry=QUICK_RETRY,
            wait_for_completion=True,
            deferrable=_deferrable,
            poke_interval=0.2,
            max_poll_interval=1,
            timeout=120,
            on_finished_with_errors=_on_errors,
            retries=1,
            retry_delay=timedelta(seconds=0),
        )
    _register(dag)


for _dag_id, _resubmit in (("submit_lost_then_failed", False), ("submit_lost_then_resubmitted", True)):
    with DAG(
        dag_id=_dag_id,
        schedule=None,
        catchup=False,
        params={"records": Param([], type="array")},
        render_template_as_native_obj=True,
    ) as dag:
        LostAfterSubmitOnce(
            task_id="submit",
            operation="asyncAddList",
            records="{{ params.records }}",
            record_type="customer",
            retry=QUICK_RETRY,
            wait_for_completion=True,
            poke_interval=0.2,
            max_poll_interval=1,
            timeout=120,
            resubmit_on_failure=_resubmit,
            retries=1,
            retry_delay=timedelta(seconds=0),
        )
    _register(dag)


with DAG(
    dag_id="submit_killed_before_status",
    schedule=None,
    catchup=False,
    params={"records": Param([], type="array")},
    render_template_as_native_obj=True,
) as dag:
    # Killed (SIGKILL) by tests/operators/test_resume.py while its first checkAsyncStatus is held.
    AsyncJobSubmitOperator(
        task_id="submit",
        operation="asyncAddList",
        records="{{ params.records }}",
        record_type="customer",
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


with DAG(dag_id="submit_from_xcom", schedule=None, catchup=False) as dag:

    @task
    def extract() -> list[dict]:
        return [
            {"externalId": "priv-1", "companyName": "Private One", "email": "someone@private.example"},
            {"externalId": "priv-2", "companyName": "Private Two", "email": "other@private.example"},
        ]

    AsyncJobSubmitOperator(
        task_id="submit",
        operation="asyncUpsertList",
        records=extract(),
        record_type="customer",
        retry=QUICK_RETRY,
    )
_register(dag)


with DAG(
    dag_id="read_results_retried",
    schedule=None,
    catchup=False,
    params={"job_id": Param("", type="string"), "output_path": Param("", type="string")},
) as dag:
    GetAsyncResultOperator(
        task_id="results",
        job_id="{{ params.job_id }}",
        output_path="{{ params.output_path }}",
        retry=QUICK_RETRY,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
_register(dag)
