"""DAGs for the sensor tests: one per on_finished_with_errors policy and sensor mode.

The job id is the DAG param ``job_id``; the tests create the job in the emulator first.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, task

from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

POLICIES = ("fail", "succeed", "branch")
MODES = ("poke", "reschedule")


def dag_id(policy: str, mode: str) -> str:
    return f"sensor_{policy}_{mode}"


DAGS = {}
for policy in POLICIES:
    for mode in MODES:
        with DAG(
            dag_id=dag_id(policy, mode),
            schedule=None,
            catchup=False,
            params={"job_id": Param("", type="string")},
        ) as dag:
            branch = policy == "branch"
            wait = AsyncJobStatusSensor(
                task_id="wait",
                job_id="{{ params.job_id }}",
                on_finished_with_errors=policy,
                follow_task_ids_if_finished="load" if branch else None,
                follow_task_ids_if_finished_with_errors="report" if branch else None,
                mode=mode,
                poke_interval=0.2,
                timeout=120,
            )

            @task
            def load(final_status: dict) -> str:
                return final_status["status"]

            load(wait.output)
            if branch:

                @task
                def report(final_status: dict) -> str:
                    return final_status["status"]

                report(wait.output)
        DAGS[dag.dag_id] = dag
        globals()[dag.dag_id] = dag
