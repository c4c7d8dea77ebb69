"""The examples on a distributed deployment: PostgreSQL, CeleryExecutor on Redis, two triggerers.

The module starts ``DistributedStack`` (see distributed.py: a throwaway PostgreSQL cluster, a
Redis server, the emulator, Airflow's API server, scheduler, DAG processor, two triggerers and a
Celery worker, all on loopback), and checks what scaling out must not break:

- the deferrable examples end as they do on one machine;
- ``kill -9`` of the triggerer whose trigger holds a wait (read from the trigger and job tables)
  makes the other triggerer take the trigger over, and the task ends with the job's real outcome;
- ``kill -9`` of the Celery worker while a reschedule-mode sensor pokes makes the scheduler fail
  that try once its heartbeat stops, and the retry on a new worker ends the task correctly.

The jobs of the kill tests are created through the emulator's admin API with timelines long
enough to kill in their middle. Every process is stopped at the end, even after a failure; each
wait is bounded and its failure quotes the components' logs. Skipped (with the apt command) when
the PostgreSQL or Redis server is not installed; CI (.ci/run) installs both.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from .distributed import TRIGGERERS, DistributedStack, missing_servers
from .stack import StackError, wait_for
from .test_example_dags_deployed import EXPECTED_RUNS, FAILED_RECORDS, ExpectedRun

pytestmark = pytest.mark.deployment

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
RUN_TIMEOUT = 180.0
"""Seconds one DAG run may take here (about 20 s alone on 2 cores)."""

DEFERRABLE = "example_netsuite_async_job_deferrable"
RESCHEDULE = "example_netsuite_search_reschedule"
DEFERRABLE_EXAMPLES = [
    (dag_id, run)
    for dag_id in (DEFERRABLE, "example_netsuite_upsert_customers")
    for run in EXPECTED_RUNS[dag_id]
]
"""The examples whose sensor defers to a triggerer, with what their runs end in on one machine."""

KILL_JOB_RECORDS = [
    {"externalId": "cust-0101", "internalId": "2101", "type": "customer", "success": True},
    {"externalId": "cust-0102", "type": "customer", "success": False, "code": "DUP_ENTITY"}
    | {"message": "This entity already exists."},
    {"externalId": "cust-0104", "type": "customer", "success": False, "code": "INVALID_KEY_OR_REF"}
    | {"message": "Invalid subsidiary reference key 99."},
]
"""The triggerer-kill test's job: finishedWithErrors with the example's two failed records."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    """The running distributed deployment, every example DAG parsed; stopped at the end."""
    missing = missing_servers()
    if missing:
        pytest.skip(f"the distributed deployment needs {missing}: apt-get install -y {' '.join(missing)}")
    deployment = DistributedStack(tmp_path_factory.mktemp("airflow-distributed"), EXAMPLE_DAGS)
    try:
        deployment.start()
        deployment.wait_dags({DEFERRABLE, RESCHEDULE, "example_netsuite_upsert_customers"}, timeout=180)
        print("distributed stack timings (s):", {k: round(v, 1) for k, v in deployment.timings.items()})
        yield deployment
    finally:
        survivors = deployment.stop()
    if deployment.killed:
        warnings.warn(f"killed after SIGTERM timed out: {deployment.killed}", stacklevel=1)
    assert not survivors, f"processes outlived SIGKILL: {survivors}"


def wait_run(stack: DistributedStack, dag_id: str, run_id: str) -> dict[str, Any]:
    """The finished run; on a failure its failed tasks' logs are printed (pytest shows them)."""
    run = stack.wait_run(dag_id, run_id, timeout=RUN_TIMEOUT)
    if run["state"] != "success":
        print(stack.failed_task_logs(dag_id, run_id))
    return run


def test_both_triggerers_and_the_worker_run(stack: DistributedStack):
    jobs = stack.triggerer_jobs()
    assert {name: state for name, (_, state) in jobs.items() if name in TRIGGERERS} == {
        name: "running" for name in TRIGGERERS
    }
    health = stack.api("GET", "/monitor/health")
    assert health["metadatabase"]["status"] == "healthy"
    assert stack.workers == ["worker-1"]


@pytest.fixture(scope="module")
def example_runs(stack: DistributedStack) -> dict[tuple[str, str], str]:
    """The deferrable examples' runs, triggered at once: (dag id, label) -> run id."""
    return {(dag_id, run.label): stack.trigger(dag_id, run.conf) for dag_id, run in DEFERRABLE_EXAMPLES}


@pytest.mark.parametrize(
    ("dag_id", "expected"), DEFERRABLE_EXAMPLES, ids=[f"{d}-{r.label}" for d, r in DEFERRABLE_EXAMPLES]
)
def test_deferrable_example_ends_as_on_one_machine(
    stack: DistributedStack, example_runs: dict[tuple[str, str], str], dag_id: str, expected: ExpectedRun
):
    run_id = example_runs[(dag_id, expected.label)]
    run = wait_run(stack, dag_id, run_id)

    assert stack.task_states(dag_id, run_id) == expected.task_states
    assert run["state"] == expected.run_state
    for task_id, value in expected.xcoms.items():
        assert stack.xcom(dag_id, run_id, task_id) == value, f"XCom return_value of {task_id}"
    sensor_log = stack.task_log_all_tries(dag_id, run_id, expected.sensor)
    for text in expected.sensor_log:
        assert text in sensor_log
    if "Pausing task as DEFERRED" not in expected.sensor_log:
        return  # a submitted job can end before the first poke: no deferral to check
    # The wait ran in one of the two triggerers: the trigger's log carries its job id.
    trigger_logs = list(
        (stack.home / "task-logs").glob(f"dag_id={dag_id}/run_id={run_id}/**/*.trigger.*.log")
    )
    assert trigger_logs, f"no trigger log for {dag_id}/{run_id} under {stack.home / 'task-logs'}"


def test_killed_triggerer_hands_the_wait_to_the_other(stack: DistributedStack):
    # 60 s of processing from the sensor's first poke: a triggerer's first trigger can take 30-40 s
    # to its first poll (docs/deployment.md); the kill, the 10 s until the triggerer counts as dead
    # and the other's take-over must all fall inside the job.
    job_id = stack.emulator(
        "POST",
        "jobs",
        json={
            "operation": "asyncUpsertList",
            "pending_seconds": 1,
            "processing_seconds": 60,
            "status": "finishedWithErrors",
            "start_on_first_request": True,
            "records": KILL_JOB_RECORDS,
        },
    )["job_id"]
    run_id = stack.trigger(DEFERRABLE, {"job_id": job_id})

    def held() -> bool | None:
        state, triggerer_id, hostname = stack.trigger_holder(DEFERRABLE, run_id, "wait_for_job")
        if state in ("success", "failed", "skipped"):
            raise StackError(f"wait_for_job ended {state} before its trigger was seen in a triggerer")
        if state != "deferred" or not triggerer_id or not hostname:
            return None
        # The sensor's poke was the first checkAsyncStatus; a second one is the trigger polling.
        return True if stack.status_requests(job_id) >= 2 else None

    try:
        wait_for("wait_for_job's trigger polling in a triggerer", held, timeout=150)
    except StackError as error:
        raise StackError(f"{error}\n{stack.log_tails()}") from None
    _, first_id, holder = stack.trigger_holder(DEFERRABLE, run_id, "wait_for_job")  # the holder now
    assert first_id is not None and holder in TRIGGERERS, (first_id, holder)
    polls_before = stack.status_requests(job_id)
    began = time.monotonic()
    pids = stack.kill(holder)
    (other,) = [name for name in TRIGGERERS if name != holder]
    print(
        f"killed {holder} (triggerer job {first_id}, pids {pids}) after {polls_before} checkAsyncStatus polls"
    )

    def taken_over() -> tuple[int, str] | None:
        state, triggerer_id, hostname = stack.trigger_holder(DEFERRABLE, run_id, "wait_for_job")
        if state != "deferred":
            raise StackError(f"wait_for_job is {state}, not deferred, before a take-over was seen")
        taken = triggerer_id and hostname and triggerer_id != first_id
        return (triggerer_id, hostname) if taken else None  # type: ignore[return-value]

    try:
        second_id, new_holder = wait_for(f"the trigger taken over from {holder}", taken_over, timeout=90)
    except StackError as error:
        raise StackError(f"{error}\n{stack.log_tails()}") from None
    took = time.monotonic() - began
    print(f"{new_holder} (job {second_id}) took the trigger over {took:.1f} s after the kill")
    assert new_holder == other

    run = wait_run(stack, DEFERRABLE, run_id)
    assert stack.task_states(DEFERRABLE, run_id) == {
        "wait_for_job": "success",
        "load": "skipped",
        "report_failed_records": "success",
    }
    assert run["state"] == "success"
    final = stack.xcom(DEFERRABLE, run_id, "wait_for_job")
    assert (final["job_id"], final["status"]) == (job_id, "finishedWithErrors")
    assert stack.xcom(DEFERRABLE, run_id, "report_failed_records") == FAILED_RECORDS
    assert stack.status_requests(job_id) > polls_before, "no poll after the kill: who saw the job end?"
    ended, polls = time.monotonic() - began, stack.status_requests(job_id)
    print(f"run ended {ended:.1f} s after the kill; {polls} checkAsyncStatus requests in all")


def test_killed_worker_during_reschedule_wait_ends_on_the_retry(stack: DistributedStack):
    job_id = stack.emulator(
        "POST",
        "jobs",
        json={
            "operation": "asyncSearch",
            "pending_seconds": 1,
            "processing_seconds": 25,
            "status": "finished",
            "start_on_first_request": True,
            "total_records": 2500,
            "page_size": 1000,
            "search_record_type": "customer",
        },
    )["job_id"]
    run_id = stack.trigger(RESCHEDULE, {"job_id": job_id})

    def state() -> str | None:
        return stack.api("GET", f"/dags/{RESCHEDULE}/dagRuns/{run_id}/taskInstances/wait_for_search")["state"]

    # A first poke saw the job running and gave the slot back: the sensor waits in reschedule mode.
    wait_for(
        "wait_for_search up_for_reschedule", lambda: True if state() == "up_for_reschedule" else None, 120
    )
    # The next poke's checkAsyncStatus hangs 30 s in the emulator: the worker is killed inside it.
    stack.emulator("POST", "faults", json={"kind": "delay", "operation": "checkAsyncStatus", "seconds": 30})

    def poking() -> bool | None:
        if stack.emulator("GET", "stats")["injections_pending"]:
            return None
        return True if state() == "running" else None

    wait_for("the next poke inside its delayed checkAsyncStatus", poking, timeout=90, interval=0.3)
    ti = stack.api("GET", f"/dags/{RESCHEDULE}/dagRuns/{run_id}/taskInstances/wait_for_search")
    assert ti["try_number"] == 1
    began = time.monotonic()
    pids = stack.kill("worker-1")
    print(f"killed worker-1 (pids {pids}) during try 1's poke")
    stack.start_worker("worker-2")
    print(f"worker-2 ready {time.monotonic() - began:.1f} s after the kill")

    run = wait_run(stack, RESCHEDULE, run_id)
    print(f"run ended {run['state']} {time.monotonic() - began:.1f} s after the kill")
    assert stack.task_states(RESCHEDULE, run_id) == {
        "wait_for_search": "success",
        "read_search_pages": "success",
    }
    tries = stack.api("GET", f"/dags/{RESCHEDULE}/dagRuns/{run_id}/taskInstances/wait_for_search/tries")
    states = {t["try_number"]: t["state"] for t in tries["task_instances"]}
    print("wait_for_search tries:", states)
    assert states[1] == "failed", "try 1 (its worker killed) should have been failed by the scheduler"
    assert max(states) >= 2 and states[max(states)] == "success"
    final = stack.xcom(RESCHEDULE, run_id, "wait_for_search")
    assert (final["job_id"], final["status"]) == (job_id, "finished")
    pages = stack.xcom(RESCHEDULE, run_id, "read_search_pages")
    assert (pages["total_records"], pages["pages_read"]) == (2500, [1, 2, 3])
