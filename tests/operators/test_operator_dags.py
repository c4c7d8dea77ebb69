"""AsyncJobSubmitOperator and GetAsyncResultOperator run through dag.test() against the emulator.

The DAGs are in tests/dags/operator_dags.py (the tests' DAG folder).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, cast

import operator_dags  # noqa: E402
import pytest

from airflow_asyncjob.testing.emulator import EXAMPLE_JOB_IDS, JobSpec, RecordResult, Timeline
from airflow_asyncjob.testing.emulator.jobs import SubmitDefaults

if TYPE_CHECKING:
    from airflow.sdk import Context  # noqa: F401 -- named in cast("Context", ...)

CUSTOMERS = [
    {"externalId": "cust-1", "companyName": "Acme", "subsidiary": {"internalId": "1"}},
    {"externalId": "dup-2", "companyName": "Globex"},
    {"externalId": "cust-3", "companyName": "Initech"},
    {"externalId": "badref-4", "companyName": "Umbrella", "subsidiary": {"internalId": "99"}},
    {"externalId": "dup-5", "companyName": "Hooli"},
]


@pytest.fixture
def quick(emulator, monkeypatch):
    """Submitted jobs end in about half a second (the submit DAGs' hooks retry fast: QUICK_RETRY)."""
    monkeypatch.setattr(emulator.jobs, "submit_defaults", SubmitDefaults(timeline=Timeline(0.1, 0.3)))
    return emulator


def run(dag_id: str, **conf):
    dag_run = operator_dags.DAGS[dag_id].test(run_conf=conf)
    tis = {ti.task_id: ti for ti in dag_run.get_task_instances()}
    states = {task_id: getattr(ti.state, "value", ti.state) for task_id, ti in tis.items()}
    return tis, states


def jobs_of(emulator, operation="asyncUpsertList"):
    return [j for j in emulator.jobs.job_ids() if j not in EXAMPLE_JOB_IDS.values()], emulator.stats()[
        "requests"
    ].get(operation, 0)


def read_lines(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path.removeprefix("file://")).read_text().splitlines()]


def test_finished_with_errors_branches_to_the_result_operator(airflow_db, quick, tmp_path):
    output = tmp_path / "results.jsonl"
    tis, states = run("submit_branch_results", records=CUSTOMERS, output_path=str(output))

    assert states == {
        "submit": "success",
        "wait": "success",
        "results": "success",
        "load": "skipped",
        "report": "success",
    }
    job_id = tis["submit"].xcom_pull(task_ids="submit")
    assert tis["submit"].xcom_pull(task_ids="submit", key="job_ids") == [job_id]
    summary = tis["results"].xcom_pull(task_ids="results")
    assert summary["job_id"] == job_id
    assert (summary["records"], summary["succeeded"], summary["failed"]) == (5, 2, 3)
    assert summary["failures_by_code"] == {"DUP_ENTITY": 2, "INVALID_KEY_OR_REF": 1}
    assert summary["first_failures"][0] == {
        "internal_id": None,
        "external_id": "dup-2",
        "type": "customer",
        "code": "DUP_ENTITY",
        "message": "This entity already exists.",
    }
    assert summary["output_path"] == str(output)
    assert tis["report"].xcom_pull(task_ids="report") == {"DUP_ENTITY": 2, "INVALID_KEY_OR_REF": 1}

    lines = read_lines(str(output))
    assert [(line["base_ref"]["external_id"], line["is_success"]) for line in lines] == [
        ("cust-1", True),
        ("dup-2", False),
        ("cust-3", True),
        ("badref-4", False),
        ("dup-5", False),
    ]
    assert lines[1]["status_details"] == [
        {
            "type": "ERROR",
            "code": "DUP_ENTITY",
            "message": "This entity already exists.",
            "after_submit_failed": None,
        }
    ]
    assert lines[0]["base_ref"]["internal_id"] and lines[0]["job_id"] == job_id
    assert emulator_result_calls(quick, job_id) == 1


def emulator_result_calls(emulator, job_id):
    return emulator.jobs.result_calls(job_id)


def test_finished_branches_to_load_and_reads_no_results(airflow_db, quick, tmp_path):
    tis, states = run("submit_branch_results", records=CUSTOMERS[:1], output_path=str(tmp_path / "r.jsonl"))
    assert (states["wait"], states["load"], states["results"]) == ("success", "success", "skipped")
    assert quick.stats()["requests"].get("getAsyncResult", 0) == 0


def test_a_submit_retried_after_its_job_id_was_pushed_submits_once(airflow_db, quick, capfd):
    tis, states = run("submit_retried_after_push", records=CUSTOMERS[:2])
    assert states["submit"] == "success"
    assert tis["submit"].try_number == 2
    (job_id,), submits = jobs_of(quick, "asyncAddList")
    assert submits == 1
    assert tis["submit"].xcom_pull(task_ids="submit") == job_id
    assert f"already submitted job(s) {job_id}: not submitting them again" in capfd.readouterr().out
    # none written on Airflow 3.3; deleted when the run ended on 3.2
    assert ledger_variables("submit_retried_after_push") == []


def ledger_variables(dag_id: str) -> list[str]:
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        prefix = f"netsuite_async_submit:{dag_id}:"
        return [v.key for v in session.query(Variable) if v.key.startswith(prefix)]


def test_over_the_limit_the_records_are_split_into_jobs_in_order(airflow_db, quick):
    records = [{"externalId": f"cust-{i:03d}"} for i in range(450)]
    tis, states = run("submit_split", records=records)
    assert states["submit"] == "success"
    job_ids = tis["submit"].xcom_pull(task_ids="submit")
    assert len(job_ids) == 3
    sizes = [len(quick.jobs._jobs[j].spec.records) for j in job_ids]
    assert sizes == [200, 200, 50]
    assert quick.jobs._jobs[job_ids[2]].spec.records[-1].external_id == "cust-449"


def test_a_split_submit_retried_midway_submits_only_the_missing_jobs(airflow_db, quick):
    # the second job's request is refused (HTTP 503) past the hook's retries: the try fails
    quick.inject("http_error", status=503, operation="asyncUpsertList", after=1, times=3)
    records = [{"externalId": f"cust-{i:03d}"} for i in range(450)]
    tis, states = run("submit_split", records=records)
    assert (states["submit"], tis["submit"].try_number) == ("success", 2)
    job_ids = tis["submit"].xcom_pull(task_ids="submit")
    created, submits = jobs_of(quick)
    assert sorted(created) == sorted(job_ids) and len(job_ids) == 3
    assert submits == 1 + 3 + 2  # job 1; job 2 refused three times; then jobs 2 and 3
    assert [len(quick.jobs._jobs[j].spec.records) for j in job_ids] == [200, 200, 50]


def test_over_the_limit_without_split_fails_before_sending(airflow_db, quick, capfd):
    records = [{"externalId": f"cust-{i:03d}"} for i in range(201)]
    tis, states = run("submit_refused_over_limit", records=records)
    assert (states["submit"], tis["submit"].try_number) == ("failed", 1)  # no retry
    assert jobs_of(quick) == ([], 0)
    assert "201 records exceed NetSuite's limit of 200 per asyncUpsertList request" in capfd.readouterr().out


def test_a_search_and_records_from_a_file(airflow_db, quick, tmp_path):
    refs = tmp_path / "refs.jsonl"
    refs.write_text('{"type": "customer", "internalId": "7"}\n{"type": "customer", "externalId": "cust-9"}\n')
    search = {"@type": "customerSearchBasic", "email": {"operator": "contains", "searchValue": "@x.com"}}
    tis, states = run("submit_search_from_file", records_path=str(refs), search=search)
    assert states == {"search": "success", "delete": "success"}
    delete_job = quick.jobs._jobs[tis["delete"].xcom_pull(task_ids="delete")]
    assert [(r.internal_id, r.external_id) for r in delete_job.spec.records] == [
        ("7", None),
        (None, "cust-9"),
    ]
    assert quick.jobs._jobs[tis["search"].xcom_pull(task_ids="search")].spec.operation == "asyncSearch"


# ---- GetAsyncResultOperator on its own --------------------------------------------------------


def finished_job(emulator, **spec) -> str:
    return emulator.create_job(JobSpec(timeline=Timeline(0, 0), **spec))


def test_every_page_is_read_once(airflow_db, emulator, tmp_path):
    job_id = finished_job(
        emulator, operation="asyncSearch", total_records=25, page_size=10, search_record_type="customer"
    )
    output = tmp_path / "search.jsonl"
    tis, states = run("read_results", job_id=job_id, output_path=str(output))
    assert states["results"] == "success"
    summary = tis["results"].xcom_pull(task_ids="results")
    assert (summary["pages"], summary["records"], summary["total_records"], summary["failed"]) == (
        3,
        25,
        25,
        0,
    )
    lines = read_lines(str(output))
    assert [line["page_index"] for line in lines] == [1] * 10 + [2] * 10 + [3] * 5
    assert [line["base_ref"]["internal_id"] for line in lines] == [str(n) for n in range(1, 26)]
    assert lines[0]["record"] == {"@type": "Customer", "internalId": "1"}
    assert emulator.jobs.result_calls(job_id) == 3


SEARCH_ANSWER = """<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>
<getAsyncResultResponse xmlns="urn:messages_2025_2.platform.webservices.netsuite.com"
 xmlns:platformMsgs="urn:messages_2025_2.platform.webservices.netsuite.com"
 xmlns:platformCore="urn:core_2025_2.platform.webservices.netsuite.com">
<asyncResult xsi:type="platformMsgs:AsyncSearchResult"><platformCore:searchResult>
<platformCore:status isSuccess="true"/><platformCore:totalRecords>0</platformCore:totalRecords>
{total_pages}</platformCore:searchResult></asyncResult></getAsyncResultResponse></soapenv:Body></soapenv:Envelope>"""


@pytest.mark.parametrize("total_pages", ["<platformCore:totalPages>0</platformCore:totalPages>", ""])
def test_zero_or_absent_total_pages_means_one_page(airflow_db, emulator, tmp_path, total_pages):
    job_id = finished_job(emulator, operation="asyncSearch", total_records=0)
    body = SEARCH_ANSWER.format(total_pages=total_pages)
    emulator.inject(
        "raw", body=body, content_type="text/xml; charset=utf-8", operation="getAsyncResult", times=5
    )
    tis, states = run("read_results", job_id=job_id, output_path=str(tmp_path / "r.jsonl"))
    assert states["results"] == "success"
    assert tis["results"].xcom_pull(task_ids="results")["pages"] == 1
    assert emulator.stats()["requests"]["getAsyncResult"] == 1


def test_a_list_result_without_total_pages_is_one_page_with_failures_summarised(
    airflow_db, emulator, tmp_path
):
    failed = [
        RecordResult(f"dup-{i}", None, "customer", False, "DUP_ENTITY", "This entity already exists.")
        for i in range(3)
    ]
    job_id = finished_job(
        emulator, operation="asyncAddList", records=(RecordResult("c-0", "10", "customer"), *failed)
    )
    tis, _ = run("read_results", job_id=job_id, output_path=str(tmp_path / "r.jsonl"))
    summary = tis["results"].xcom_pull(task_ids="results")
    assert (summary["pages"], summary["succeeded"], summary["failed"]) == (1, 1, 3)
    assert [f["external_id"] for f in summary["first_failures"]] == [
        "dup-0",
        "dup-1",
    ]  # max_failures_in_summary=2


def test_a_failed_job_reports_its_job_level_error(airflow_db, emulator, tmp_path):
    job_id = emulator.create_job(
        {
            "operation": "asyncAddList",
            "pending_seconds": 0,
            "processing_seconds": 0,
            "failure": {"code": "UNEXPECTED_ERROR", "message": "An unexpected error occurred."},
            "records": [{"externalId": "so-1", "type": "salesOrder"}],
        }
    )
    tis, _ = run("read_results", job_id=job_id, output_path=str(tmp_path / "r.jsonl"))
    summary = tis["results"].xcom_pull(task_ids="results")
    assert summary["job_errors"] == [{"code": "UNEXPECTED_ERROR", "message": "An unexpected error occurred."}]
    assert summary["failures_by_code"] == {"UNEXPECTED_ERROR": 1}


def test_a_retry_after_a_failed_page_reads_only_the_pages_still_missing(
    airflow_db, emulator, tmp_path, capfd
):
    job_id = finished_job(
        emulator, operation="asyncSearch", total_records=25, page_size=10, search_record_type="customer"
    )
    # page 2 is refused (HTTP 503) past the hook's three attempts: the first try fails after page 1
    emulator.inject("http_error", status=503, operation="getAsyncResult", after=1, times=3)
    output = tmp_path / "search.jsonl"
    tis, states = run("read_results_retried", job_id=job_id, output_path=str(output))
    assert (states["results"], tis["results"].try_number) == ("success", 2)
    assert emulator.jobs.result_calls(job_id) == 3  # pages 1, 2, 3 once each (4 before: 1, then 1-3)
    assert "An earlier try read pages 1..1 of 3 of job" in capfd.readouterr().out
    lines = read_lines(str(output))
    assert [line["base_ref"]["internal_id"] for line in lines] == [str(n) for n in range(1, 26)]
    summary = tis["results"].xcom_pull(task_ids="results")
    assert (summary["pages"], summary["records"], summary["total_records"]) == (3, 25, 25)
    assert not (tmp_path / ".search.jsonl.parts").exists()


def test_a_page_that_fails_fails_the_task_and_leaves_no_partial_file(airflow_db, emulator, tmp_path, capfd):
    job_id = finished_job(emulator, operation="asyncSearch", total_records=25, page_size=10)
    emulator.inject(
        "soap_fault",
        operation="getAsyncResult",
        after=1,
        code="INSUFFICIENT_PERMISSION",
        fault_type="InsufficientPermissionFault",
        message="Permission Violation",
    )
    output = tmp_path / "r.jsonl"
    _, states = run("read_results", job_id=job_id, output_path=str(output))
    assert states["results"] == "failed"
    assert not output.exists()
    assert "page 2 of job" in capfd.readouterr().out


def test_an_unknown_or_purged_job_says_so(airflow_db, emulator, capfd):
    _, states = run("read_results", job_id="ASYNCWEBSERVICES_1234567_SB1_00000000000000000000000000_deadbeef")
    assert states["results"] == "failed"
    output = capfd.readouterr().out
    assert "NetSuite does not know job" in output and "purged" in output


def test_a_job_whose_20_calls_are_used_says_so(airflow_db, emulator, capfd):
    job_id = finished_job(
        emulator, operation="asyncUpsertList", records=(RecordResult("c-1", "1", "customer"),)
    )
    for _ in range(20):
        emulator.jobs.get_result(job_id, 1)
    _, states = run("read_results", job_id=job_id)
    assert states["results"] == "failed"
    assert "its 20 getAsyncResult calls within 30 days are used up" in capfd.readouterr().out


def test_a_job_still_running_costs_no_result_call(airflow_db, emulator):
    job_id = emulator.create_job(JobSpec(timeline=Timeline(60, 60)))
    _, states = run("read_results", job_id=job_id)
    assert states["results"] in ("failed", "up_for_retry")
    assert emulator.stats()["requests"].get("getAsyncResult", 0) == 0


def test_the_default_output_is_a_local_file_under_airflow_home(airflow_db, emulator):
    job_id = finished_job(
        emulator, operation="asyncUpsertList", records=(RecordResult("c-1", "1", "customer"),)
    )
    tis, _ = run("read_results", job_id=job_id, output_path="")
    path = tis["results"].xcom_pull(task_ids="results")["output_path"]
    assert path.startswith("file://") and "/netsuite_async_results/read_results/" in path
    assert path.endswith(f"/results/{job_id}.jsonl")
    assert [line["base_ref"]["external_id"] for line in read_lines(path)] == ["c-1"]


class _Variables:
    """Stands in for Airflow Variables in the submit state's unit test."""

    def __init__(self):
        self.values = {}

    def get(self, key, default=None, deserialize_json=False):
        return self.values.get(key, default)

    def set(self, key, value, description=None, serialize_json=False):
        self.values[key] = json.loads(json.dumps(value))


class _Store(dict):
    """Stands in for Airflow 3.3's task_state_store accessor."""

    def set(self, key, value):
        self[key] = json.loads(json.dumps(value))


class _TI:
    dag_id, task_id, run_id, map_index = "d", "submit", "manual__1", -1

    def __init__(self, try_number):
        self.try_number = try_number


def test_without_task_state_store_a_variable_keeps_the_job_ids_for_every_later_try(monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_asyncjob.operators import async_job

    variables = _Variables()
    monkeypatch.setattr(async_job, "Variable", variables)
    first = async_job.SubmitState(cast("Context", {"ti": _TI(try_number=1)}))
    first.record(["JOB-1"], "fp")
    assert list(variables.values) == ["netsuite_async_submit:d:submit:-1:manual__1"]
    # a retry, and a try after the task was cleared, both reconnect
    for try_number in (2, 5):
        later = async_job.SubmitState(cast("Context", {"ti": _TI(try_number=try_number)}))
        assert later.submitted("fp") == ["JOB-1"] and later.recorded_try == 1
    with pytest.raises(AirflowFailException, match="for different records"):
        later.submitted("other")


def test_with_task_state_store_no_variable_is_written(monkeypatch):
    from airflow_asyncjob.operators import async_job

    variables, store = _Variables(), _Store()
    monkeypatch.setattr(async_job, "Variable", variables)
    async_job.SubmitState(cast("Context", {"ti": _TI(try_number=1), "task_state_store": store})).record(
        ["JOB-1"], "fp"
    )
    assert variables.values == {}
    assert store == {"netsuite_submit": {"try_number": 1, "fingerprint": "fp", "job_ids": ["JOB-1"]}}
    retry = async_job.SubmitState(cast("Context", {"ti": _TI(try_number=2), "task_state_store": store}))
    assert retry.submitted("fp") == ["JOB-1"]
