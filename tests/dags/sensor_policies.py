"""DAGs for the sensor tests: one per on_finished_with_errors policy and sensor mode
(poke, reschedule, deferrable), and two deferrable sensors that run out of time.

The job id is the DAG param ``job_id``; the tests create the job in the emulator first.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, task

from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

POLICIES = ("fail", "succeed", "branch")
MODES = ("poke", "reschedule", "deferrable")


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
                mode="poke" if mode == "deferrable" else mode,
                deferrable=mode == "deferrable",
                poke_interval=0.2,
                max_poll_interval=0.5,
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


for soft_fail in (False, True):
    with DAG(
        dag_id=f"sensor_deferrable_timeout_soft_fail_{soft_fail}".lower(),
        schedule=None,
        catchup=False,
        params={"job_id": Param("", type="string")},
    ) as dag:
        wait = AsyncJobStatusSensor(
            task_id="wait",
            job_id="{{ params.job_id }}",
            deferrable=True,
            poke_interval=0.2,
            max_poll_interval=0.5,
            timeout=1.5,
            soft_fail=soft_fail,
            retries=2,  # a timeout must not be retried
        )

        @task
        def load(final_status: dict) -> str:
            return final_status["status"]

        load(wait.output)
    DAGS[dag.dag_id] = dag
    globals()[dag.dag_id] = dag
