"""Scenario files: the shipped example and the checks on hand-written ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_asyncjob.testing.emulator import EXAMPLE_JOB_IDS, Emulator, Scenario

EXAMPLE_DAG = Path(__file__).resolve().parents[3] / "example_dags" / "example_netsuite_async_job.py"


def test_example_scenario_has_one_job_per_outcome() -> None:
    jobs = {spec.job_id: spec for spec in Scenario.example().jobs}
    assert {name: jobs[job_id].final_status.value for name, job_id in EXAMPLE_JOB_IDS.items()} == {
        "finished": "finished",
        "finishedWithErrors": "finishedWithErrors",
        "failed": "failed",
        "search": "finished",
    }
    with_errors = jobs[EXAMPLE_JOB_IDS["finishedWithErrors"]]
    assert sorted(r.code or "" for r in with_errors.records if not r.success) == [
        "DUP_ENTITY",
        "INVALID_KEY_OR_REF",
    ]
    for spec in jobs.values():
        timeline = spec.timeline
        assert 2 <= timeline.pending_seconds + timeline.retry_seconds + timeline.processing_seconds <= 4


def test_example_dag_default_job_id_is_in_the_example_scenario() -> None:
    if not EXAMPLE_DAG.exists():
        pytest.skip("no example DAG")
    assert EXAMPLE_JOB_IDS["finishedWithErrors"] in EXAMPLE_DAG.read_text()


def test_scenario_file_sets_account_credentials_and_limit(tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(
        json.dumps(
            {
                "account_id": "tstdrv1234567",
                "consumer_key": "k2",
                "concurrency_limit": 1,
                "submit_rules": [
                    {
                        "record_type": "customer",
                        "code": "INSUFFICIENT_PERMISSION",
                        "message": "Permission Violation",
                    }
                ],
            }
        )
    )
    emulator = Emulator(scenario=path, token_id="t2")
    assert emulator.credentials.account.passport == "TSTDRV1234567"
    assert (emulator.credentials.consumer_key, emulator.credentials.token_id) == ("k2", "t2")
    assert emulator.stats()["concurrency_limit"] == 1
    assert emulator.jobs.submit_rules[0].record_type == "customer"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"jobz": []}, "unknown keys ['jobz']"),
        ({"jobs": [{"records": [{"externalID": "x"}]}]}, "unknown keys ['externalID']"),
        ({"jobs": [{"status": "finished", "failure": {"code": "X", "message": "y"}}]}, "contradicts"),
        ({"submit_rules": [{"code": "X", "message": "y", "fails": "everything"}]}, "fails must be"),
        ({"submit_rules": [{"message": "y"}]}, "code"),
    ],
)
def test_bad_scenarios_are_refused_with_the_reason(data: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        Scenario.from_dict(data)
