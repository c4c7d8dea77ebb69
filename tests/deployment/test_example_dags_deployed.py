"""Every example DAG, run by a real Airflow deployment against the emulator, ends as expected.

The module starts the NetSuite emulator and Airflow's API server, scheduler (LocalExecutor),
DAG processor and triggerer on loopback (SQLite in a temporary AIRFLOW_HOME), triggers every
expected run through the REST API at once, and checks each run's task states, XComs, sensor
log lines and extra links as a user would see them in the UI. Every process is stopped at the
end, even after a failure; a process that outlived the stop fails the module's teardown.

The expectations are a table here rather than constants in the DAG files: example DAGs are
what users copy and what the docs show, and what a run should end with depends on the
emulator's example scenario (which job ids exist, what they end in), not on the DAG. The DAGs
themselves are discovered from example_dags/: one that is in neither table below fails
``test_every_example_dag_is_deployed_and_expected``, so a new example cannot go untested.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_asyncjob.testing.emulator import EXAMPLE_JOB_IDS

from .stack import AirflowStack, wait_for

pytestmark = pytest.mark.deployment

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
RUN_TIMEOUT = 240.0
"""Seconds one DAG run may take, all runs going at once on a 2-core machine (about 20 s each alone)."""


def final_status(name: str) -> dict[str, Any]:
    """The sensor's XCom for a job of the example scenario that ended in ``name``."""
    status = "finished" if name == "search" else name
    return {
        "job_id": EXAMPLE_JOB_IDS[name],
        "status": status,
        "percent_completed": 100.0,
        "est_remaining_duration": 0.0,
    }


class Matches:
    """Equal to any string that fully matches a regular expression (for ids the emulator makes up)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and self.pattern.fullmatch(other) is not None

    def __repr__(self) -> str:
        return f"Matches({self.pattern.pattern!r})"


@dataclass(frozen=True)
class ExpectedRun:
    """One DAG run against the emulator's example scenario and what it must end with.

    ``xcoms``: task id -> expected ``return_value`` (None: the task pushed none).
    ``sensor``: the task whose poke lines and extra links are checked.
    ``sensor_log``: texts the sensor's log must contain besides one poke line.
    """

    label: str
    conf: dict[str, Any]
    run_state: str
    task_states: dict[str, str]
    xcoms: dict[str, Any]
    sensor: str
    sensor_log: tuple[str, ...] = ()
    poke_end: str = "% completed, about 0 s remaining"
    """How the sensor's last poke line ends before ``(<job id>)``: REST jobs count tasks instead."""


class Including:
    """Equal to any dict holding at least these items (for summaries with run-specific paths)."""

    def __init__(self, **items: Any) -> None:
        self.items = items

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and all(other.get(k) == v for k, v in self.items.items())

    def __repr__(self) -> str:
        return f"Including({self.items!r})"


SUBMITTED_JOB_ID = Matches(r"ASYNCWEBSERVICES_1234567_SB1_\d+_[0-9a-f]{8}")


class DecimalId:
    """Equal to a decimal REST job id (the last segment of the submit's Location; the emulator's
    are decimal), as a string or as the number Airflow's XCom may read a numeric string back as."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (str, int)) and not isinstance(other, bool) and str(other).isdigit()

    def __repr__(self) -> str:
        return "DecimalId()"


REST_JOB_ID = DecimalId()
LINKS = {"NetSuite UI": "https://1234567-sb1.app.netsuite.com/"}

FAILED_RECORDS = [
    {
        "external_id": "cust-0102",
        "internal_id": None,
        "code": "DUP_ENTITY",
        "message": "This entity already exists.",
    },
    {
        "external_id": "cust-0104",
        "internal_id": None,
        "code": "INVALID_KEY_OR_REF",
        "message": "Invalid subsidiary reference key 99.",
    },
]

EXPECTED_RUNS: dict[str, list[ExpectedRun]] = {
    "example_netsuite_async_job": [
        ExpectedRun(
            label="finishedWithErrors-branches-to-report",
            conf={},  # the DAG's default job id
            run_state="success",
            task_states={"wait_for_job": "success", "load": "skipped", "report_failed_records": "success"},
            xcoms={
                "wait_for_job": final_status("finishedWithErrors"),
                "report_failed_records": FAILED_RECORDS,
                "load": None,
            },
            sensor="wait_for_job",
        ),
        ExpectedRun(
            label="finished-branches-to-load",
            conf={"job_id": EXAMPLE_JOB_IDS["finished"]},
            run_state="success",
            task_states={"wait_for_job": "success", "load": "success", "report_failed_records": "skipped"},
            xcoms={"wait_for_job": final_status("finished"), "report_failed_records": None},
            sensor="wait_for_job",
        ),
        ExpectedRun(
            label="failed-fails-with-netsuite-detail",
            conf={"job_id": EXAMPLE_JOB_IDS["failed"]},
            run_state="failed",
            task_states={
                "wait_for_job": "failed",
                "load": "upstream_failed",
                "report_failed_records": "upstream_failed",
            },
            xcoms={"wait_for_job": None},
            sensor="wait_for_job",
            sensor_log=("UNEXPECTED_ERROR", "An unexpected error occurred. Error ID: lk3n1o2p1jq8x0r5yz7a"),
        ),
    ],
    "example_netsuite_async_job_deferrable": [
        ExpectedRun(
            label="deferred-finished-branches-to-load",
            conf={},  # the DAG's default job id: the finished one
            run_state="success",
            task_states={"wait_for_job": "success", "load": "success", "report_failed_records": "skipped"},
            xcoms={"wait_for_job": final_status("finished"), "report_failed_records": None},
            sensor="wait_for_job",
            # The job's timeline starts at the first poke, so that poke always sees it pending.
            sensor_log=("Pausing task as DEFERRED",),
        ),
    ],
    "example_netsuite_upsert_customers": [
        ExpectedRun(
            label="submit-defer-branch-to-results",
            conf={},
            run_state="success",
            task_states={
                "extract_customers": "success",
                "submit_customers": "success",
                "wait_for_job": "success",
                "get_results": "success",
                "report_failures": "success",
                "load": "skipped",
            },
            xcoms={
                "submit_customers": SUBMITTED_JOB_ID,
                "wait_for_job": {
                    "job_id": SUBMITTED_JOB_ID,
                    "status": "finishedWithErrors",
                    "percent_completed": 100.0,
                    "est_remaining_duration": 0.0,
                },
                "get_results": Including(
                    job_id=SUBMITTED_JOB_ID,
                    records=5,
                    failed=2,
                    failures_by_code={"DUP_ENTITY": 1, "INVALID_KEY_OR_REF": 1},
                ),
                "load": None,
            },
            # No deferral check: a submitted job runs from its submit (2.5 s in the emulator), and
            # on a loaded machine the sensor's first poke can come after it ended.
            sensor="wait_for_job",
        ),
    ],
    "example_netsuite_rest_async_job": [
        ExpectedRun(
            label="rest-batch-defer-branch-to-results",
            conf={},
            run_state="success",
            task_states={
                "extract_customers": "success",
                "submit_customers": "success",
                "wait_for_job": "success",
                "get_results": "success",
                "report_failures": "success",
                "load": "skipped",
            },
            xcoms={
                "submit_customers": REST_JOB_ID,
                "wait_for_job": {
                    "job_id": REST_JOB_ID,
                    "status": "finishedWithErrors",
                    "percent_completed": 100.0,
                    "est_remaining_duration": 0.0,
                    "tasks_completed": 5,
                    "tasks_total": 5,
                },
                "get_results": Including(
                    job_id=REST_JOB_ID,
                    result_type="rest",
                    records=5,
                    failed=2,
                    failures_by_code={"DUP_ENTITY": 1, "INVALID_KEY_OR_REF": 1},
                ),
                "load": None,
            },
            sensor="wait_for_job",
            poke_end="5 of 5 tasks completed",
        ),
    ],
    "example_netsuite_search_reschedule": [
        ExpectedRun(
            label="reschedule-then-read-every-page",
            conf={},
            run_state="success",
            task_states={"wait_for_search": "success", "read_search_pages": "success"},
            xcoms={
                "wait_for_search": final_status("search"),
                "read_search_pages": {
                    "job_id": EXAMPLE_JOB_IDS["search"],
                    "search_id": Matches(r"WEBSERVICES_1234567_SB1_\d{27}_[0-9a-f]{8}"),
                    "total_records": 2500,
                    "page_size": 1000,
                    "pages_read": [1, 2, 3],
                },
            },
            sensor="wait_for_search",
            # Several pokes: the first (pending) and the last (finished) ran in separate worker
            # processes, the scheduler rescheduling the sensor in between.
            sensor_log=("job pending, 0.0% completed", "job finished, 100.0% completed"),
        ),
    ],
}
"""Example DAG id -> the runs to trigger (each against its own or the same emulator job)."""

NOT_SERVED_BY_EMULATOR: dict[str, str] = {
    # An ExpectedRun checks a sensor's poke lines and extra link; this DAG waits inside its submit
    # task. It runs end to end in `python3 dev.py example` and tests/operators/test_submit_and_wait.py.
    "example_netsuite_submit_and_wait": "its wait is inside the submit task, which has no sensor to check",
}
"""Example DAG id -> why the emulator cannot serve it (such DAGs are parsed but not run)."""

ASSET_SCHEDULED: dict[str, str] = {"example_netsuite_customers_changed": "netsuite://1234567-sb1/customer"}
"""Example DAG id -> the asset it is scheduled on: the scheduler starts its runs, not this test
(see test_the_upsert_examples_asset_event_starts_the_consumer_dag)."""

CASES = [(dag_id, run) for dag_id, runs in EXPECTED_RUNS.items() for run in runs]


@pytest.fixture(scope="module")
def example_dag_ids() -> set[str]:
    """The DAG ids in example_dags/, as Airflow's own DagBag finds them."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(EXAMPLE_DAGS))
    assert bag.import_errors == {}
    return set(bag.dag_ids)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, example_dag_ids: set[str]):
    """The running deployment, with every example DAG parsed; stopped (all process groups) at the end."""
    deployment = AirflowStack(tmp_path_factory.mktemp("airflow-deployment"), EXAMPLE_DAGS)
    try:
        deployment.start()
        deployment.wait_dags(example_dag_ids, timeout=180)
        yield deployment
    finally:
        survivors = deployment.stop()
    if deployment.killed:
        warnings.warn(f"killed after SIGTERM timed out: {deployment.killed}", stacklevel=1)
    assert not survivors, f"processes outlived SIGKILL: {survivors}"


@pytest.fixture(scope="module")
def runs(stack: AirflowStack) -> dict[tuple[str, str], str]:
    """Every expected run, triggered at once through the REST API: (dag id, label) -> run id."""
    return {(dag_id, run.label): stack.trigger(dag_id, run.conf) for dag_id, run in CASES}


def test_every_example_dag_is_deployed_and_expected(stack: AirflowStack, example_dag_ids: set[str]):
    deployed = {dag["dag_id"] for dag in stack.api("GET", "/dags", params={"limit": 1000})["dags"]}
    assert example_dag_ids <= deployed
    assert stack.api("GET", "/importErrors")["import_errors"] == []
    unexpected = example_dag_ids - set(EXPECTED_RUNS) - set(NOT_SERVED_BY_EMULATOR) - set(ASSET_SCHEDULED)
    assert not unexpected, (
        f"example DAGs {sorted(unexpected)} have no expected run: add them to EXPECTED_RUNS "
        "(or, with a reason, to NOT_SERVED_BY_EMULATOR) in this file."
    )
    assert set(EXPECTED_RUNS) <= example_dag_ids, "EXPECTED_RUNS names a DAG that example_dags/ lacks"


@pytest.mark.parametrize(("dag_id", "expected"), CASES, ids=[f"{d}-{r.label}" for d, r in CASES])
def test_example_run_ends_as_expected(
    stack: AirflowStack, runs: dict[tuple[str, str], str], dag_id: str, expected: ExpectedRun
):
    run_id = runs[(dag_id, expected.label)]
    run = stack.wait_run(dag_id, run_id, timeout=RUN_TIMEOUT)

    states = stack.task_states(dag_id, run_id)
    if states != expected.task_states:
        print(stack.failed_task_logs(dag_id, run_id))  # shown by pytest with the failure
    assert states == expected.task_states
    assert run["state"] == expected.run_state
    for task_id, value in expected.xcoms.items():
        assert stack.xcom(dag_id, run_id, task_id) == value, f"XCom return_value of {task_id}"

    sensor_log = stack.task_log_all_tries(dag_id, run_id, expected.sensor)
    job_id = expected.conf.get("job_id") or stack.xcom(dag_id, run_id, expected.sensor)["job_id"]
    assert "NetSuite async job " in sensor_log and f"{expected.poke_end} ({job_id})" in sensor_log
    for text in expected.sensor_log:
        assert text in sensor_log
    # The triggerer writes the UI's record of the job on Airflow 3.2 too (3.2 has no XCom.aset).
    assert "has no attribute 'aset'" not in sensor_log

    # The sensor's extra link opens the emulator account's NetSuite UI.
    assert stack.extra_links(dag_id, run_id, expected.sensor) == LINKS


def test_no_secret_reaches_a_task_log(stack: AirflowStack, runs: dict[tuple[str, str], str]):
    rest_key = json.loads(stack.rest_connection_uri or "{}").get("extra", {}).get("private_key", "")
    rest_key_lines = [line for line in rest_key.splitlines() if line and not line.startswith("-----")]
    assert rest_key_lines  # the REST example ran with an OAuth 2.0 key
    for dag_id, expected in CASES:
        run_id = runs[(dag_id, expected.label)]
        stack.wait_run(dag_id, run_id, timeout=RUN_TIMEOUT)
        for task_id, state in stack.task_states(dag_id, run_id).items():
            if state in ("skipped", "upstream_failed"):
                continue
            text = stack.task_log_all_tries(dag_id, run_id, task_id)
            assert stack.consumer_secret not in text and stack.token_secret not in text, (dag_id, task_id)
            for line in rest_key_lines:  # the REST connection's OAuth 2.0 private key
                assert line not in text, (dag_id, task_id)


def test_connection_test_in_the_api_reaches_the_emulator(stack: AirflowStack):
    conn = json.loads(stack.connection_uri or "{}")
    body = {
        "connection_id": "netsuite_default",
        "conn_type": "netsuite_soap",
        "host": conn["host"],
        "extra": json.dumps(conn["extra"]),
    }
    answer = stack.api("POST", "/connections/test", json=body)
    assert answer["status"] is True, answer
    assert "NetSuite server time" in answer["message"]

    wrong = dict(conn["extra"], token_secret="not-the-token-secret")
    answer = stack.api("POST", "/connections/test", json=dict(body, extra=json.dumps(wrong)))
    assert answer["status"] is False
    assert "InvalidCredentialsFault" in answer["message"]
    assert "not-the-token-secret" not in answer["message"]


# -- Assets: the upsert example's asset event and the run of the DAG scheduled on it -----------------


def test_the_upsert_examples_asset_event_starts_the_consumer_dag(
    stack: AirflowStack, runs: dict[tuple[str, str], str]
):
    producer, consumer = "example_netsuite_upsert_customers", "example_netsuite_customers_changed"
    producer_run = runs[(producer, "submit-defer-branch-to-results")]
    stack.wait_run(producer, producer_run, timeout=RUN_TIMEOUT)
    job_id = stack.xcom(producer, producer_run, "submit_customers")

    # The asset event the submit emitted, as GET /assets/events gives it.
    params = {"source_dag_id": producer, "source_run_id": producer_run}
    (event,) = stack.api("GET", "/assets/events", params=params)["asset_events"]
    print("asset event:", json.dumps(event, indent=1))  # shown with -s, and with a failure
    assert (event["uri"], event["source_task_id"]) == (ASSET_SCHEDULED[consumer], "submit_customers")
    assert event["extra"] == {
        "job_id": job_id,
        "job_ids": [job_id],
        "operation": "asyncUpsertList",
        "account_id": "1234567_SB1",
        "record_type": "customer",
        "records_submitted": 5,
    }

    # The scheduler created a run of the consumer from it; the run reads the event and waits for the job.
    def created_run() -> str | None:
        answer = stack.api("GET", "/assets/events", params=params)["asset_events"][0]
        return answer["created_dagruns"][0]["run_id"] if answer["created_dagruns"] else None

    consumer_run = wait_for(f"a run of {consumer} for the asset event", created_run, timeout=RUN_TIMEOUT)
    run = stack.wait_run(consumer, consumer_run, timeout=RUN_TIMEOUT)
    print("consumer run:", json.dumps({k: run[k] for k in ("dag_run_id", "run_type", "state")}))
    assert (run["run_type"], run["state"]) == ("asset_triggered", "success")
    assert stack.task_states(consumer, consumer_run) == {"read_change": "success", "wait_for_job": "success"}
    assert stack.xcom(consumer, consumer_run, "read_change") == event["extra"]
    assert stack.xcom(consumer, consumer_run, "wait_for_job")["status"] == "finishedWithErrors"
    upstream = stack.api("GET", f"/dags/{consumer}/dagRuns/{consumer_run}/upstreamAssetEvents")
    assert [e["id"] for e in upstream["asset_events"]] == [event["id"]]
