"""OpenLineage facets of the submit and result operators.

With apache-airflow-providers-openlineage installed, a DAG runs in a subprocess (OpenLineage's
configuration is read once per process) with OpenLineage's own file transport, and the events it
wrote are checked. Without the package, the operators import nothing of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airflow_asyncjob.lineage import FACET_SCHEMA_URL

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS = [
    {"externalId": "cust-1", "companyName": "Acme"},
    {"externalId": "dup-2", "companyName": "Globex"},
    {"externalId": "badref-3", "companyName": "Umbrella", "subsidiary": {"internalId": "99"}},
]

BLOCK_OPENLINEAGE = textwrap.dedent(
    """
    import importlib.abc, sys

    # OpenLineage's client and the provider's modules are absent; only the provider's metadata
    # stays importable, as Airflow reads every installed provider's metadata when it starts.
    ALLOWED = ("airflow.providers.openlineage", "airflow.providers.openlineage.get_provider_info")

    def blocked(name):
        return name.split(".")[0] == "openlineage" or (
            name.startswith("airflow.providers.openlineage.") and name not in ALLOWED
        )

    class NoOpenLineage(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if blocked(name):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
            return None

    sys.meta_path.insert(0, NoOpenLineage())
    """
)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_without_openlineage_the_operators_import_and_build_without_it():
    code = BLOCK_OPENLINEAGE + textwrap.dedent(
        """
        from airflow_asyncjob.operators.async_job import AsyncJobSubmitOperator, GetAsyncResultOperator
        from airflow_asyncjob import assets, lineage

        AsyncJobSubmitOperator(task_id="submit", operation="asyncAddList", records=[{"@type": "customer"}])
        GetAsyncResultOperator(task_id="results", job_id="ASYNCWEBSERVICES_1")
        assets.netsuite_asset("1234567_SB1", "customer")
        loaded = sorted(m for m in sys.modules if blocked(m))
        print("loaded:", loaded)
        """
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert "loaded: []" in done.stdout


@pytest.fixture(scope="module")
def lineage_events(airflow_db, emulator_server, tmp_path_factory):
    """One run of asset_dags.assets_upsert_then_results with OpenLineage's file transport:
    its events by (task id, eventType), the emulator, and the result operator's output file."""
    pytest.importorskip("airflow.providers.openlineage")
    emulator_server.reset()
    tmp_path = tmp_path_factory.mktemp("lineage")
    events_file = tmp_path / "openlineage.jsonl"
    output = tmp_path / "results.jsonl"
    conf = {"records": CUSTOMERS, "output_path": str(output)}
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, "tests/dags")
        import asset_dags
        dag_run = asset_dags.DAGS["assets_upsert_then_results"].test(run_conf={conf!r})
        print("states:", sorted((ti.task_id, str(ti.state)) for ti in dag_run.get_task_instances()))
        """
    )
    transport = {"type": "file", "log_file_path": str(events_file), "append": True}
    done = run_python(
        code,
        AIRFLOW_CONN_NETSUITE_DEFAULT=emulator_server.airflow_connection_json(),
        AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(transport),
        AIRFLOW__OPENLINEAGE__NAMESPACE="asyncjob-tests",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    by_task = {}
    for event in events:
        name = event["job"]["name"]
        if name.startswith("assets_upsert_then_results."):
            by_task[(name.split(".", 1)[1], event["eventType"])] = event
    return by_task, emulator_server, output


def datasets(event: dict, side: str) -> list[tuple[str, str]]:
    return [(d["namespace"], d["name"]) for d in event[side]]


def test_the_submit_reports_the_record_type_it_writes_its_input_and_the_job(lineage_events):
    by_task, emulator, _ = lineage_events
    start, complete = by_task[("submit", "START")], by_task[("submit", "COMPLETE")]
    customers = ("netsuite://1234567-sb1", "customer")
    upstream = ("xcom://assets_upsert_then_results", "extract/return_value")
    assert datasets(start, "outputs") == [customers]
    assert datasets(start, "inputs") == [upstream]
    assert datasets(complete, "outputs") == [customers]
    assert datasets(complete, "inputs") == [upstream]
    facets = complete["run"]["facets"]
    job_id = facets["externalQuery"]["externalQueryId"]
    assert job_id in emulator.jobs.job_ids()
    assert facets["externalQuery"]["source"] == "netsuite://1234567-sb1"
    netsuite = {k: v for k, v in facets["netsuite_async_job"].items() if not k.startswith("_")}
    assert netsuite == {
        "jobIds": [job_id],
        "operation": "asyncUpsertList",
        "outcome": "submitted",
        "recordsSubmitted": 3,
    }
    assert facets["netsuite_async_job"]["_schemaURL"] == FACET_SCHEMA_URL


def test_the_result_operator_reports_the_records_it_read_and_the_outcome(lineage_events):
    by_task, emulator, output = lineage_events
    complete = by_task[("results", "COMPLETE")]
    assert datasets(complete, "inputs") == [("netsuite://1234567-sb1", "customer")]
    assert datasets(complete, "outputs") == [("file", str(output))]
    facets = complete["run"]["facets"]
    netsuite = {k: v for k, v in facets["netsuite_async_job"].items() if not k.startswith("_")}
    assert netsuite == {
        "jobIds": [facets["externalQuery"]["externalQueryId"]],
        "outcome": "finishedWithErrors",
        "records": 3,
        "succeeded": 1,
        "failed": 2,
        "failuresByCode": {"DUP_ENTITY": 1, "INVALID_KEY_OR_REF": 1},
    }
