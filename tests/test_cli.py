"""``python -m airflow_asyncjob status|result``, run as operators run it: a subprocess reading the
Airflow connection (AIRFLOW_CONN_NETSUITE_DEFAULT, or the metadata database) of the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from airflow_asyncjob import cli
from airflow_asyncjob.netsuite.faults import (
    ConcurrencyLimitError,
    NetSuiteResponseError,
    NetSuiteTransportError,
    UnsupportedVersionError,
)

DONE = {"pending_seconds": 0, "processing_seconds": 0}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow_asyncjob", *args],
        capture_output=True,
        text=True,
        env=env or dict(os.environ),
        timeout=120,
        check=False,
    )


def test_status_prints_status_percent_and_seconds_remaining(emulator):
    job_id = emulator.create_job(
        {
            "operation": "asyncAddList",
            "pending_seconds": 0,
            "processing_seconds": 600,
            "records": [{"externalId": "a"}],
        }
    )
    time.sleep(0.5)
    done = run_cli("status", job_id)
    assert done.returncode == cli.EXIT_OK, done.stderr
    line = done.stdout.strip()
    assert line.startswith("job processing, ") and line.endswith(f" remaining ({job_id})")
    percent = float(line.split(", ")[1].split("%")[0])
    seconds = float(line.split("about ")[1].split(" s")[0])
    # Both numbers come from one answer: the time remaining is the rest of the 600 s the percent leaves
    # (to the printed precision), however long the CLI took to start on a loaded machine.
    assert 0 <= percent < 100 and 0 < seconds <= 600
    assert abs(seconds - 600 * (1 - percent / 100)) <= 1.0, line


def test_result_prints_each_record_and_writes_json(emulator, tmp_path):
    job_id = emulator.create_job(
        {
            "operation": "asyncUpsertList",
            **DONE,
            "records": [
                {"externalId": "c1", "internalId": "11", "type": "customer", "success": True},
                {
                    "externalId": "c2",
                    "type": "customer",
                    "success": False,
                    "code": "DUP_ENTITY",
                    "message": "This entity already exists.",
                },
            ],
        }
    )
    output = tmp_path / "result.json"
    done = run_cli("result", job_id, "--output", str(output))
    assert done.returncode == cli.EXIT_OK, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"job {job_id}, page 1 (AsyncUpsertListResult): 2 records, 1 failed"
    assert lines[1].split() == ["ok", "internalId=11", "externalId=c1", "type=customer"]
    assert lines[2].split("  ") == [
        "",
        "FAILED",
        "externalId=c2",
        "type=customer",
        "DUP_ENTITY: This entity already exists.",
    ]
    written = json.loads(output.read_text())
    assert written["job_id"] == job_id
    (page,) = written["pages"]
    assert [r["is_success"] for r in page["records"]] == [True, False]
    assert page["records"][1]["details"][0]["code"] == "DUP_ENTITY"


def test_result_all_reads_every_search_page(emulator):
    job_id = emulator.create_job({"operation": "asyncSearch", **DONE, "page_size": 100, "total_records": 250})
    done = run_cli("result", job_id, "--all")
    assert done.returncode == cli.EXIT_OK, done.stderr
    headings = [line for line in done.stdout.splitlines() if line.startswith("job ")]
    assert [h.split(", page ")[1].split(" (")[0] for h in headings] == ["1 of 3", "2 of 3", "3 of 3"]
    assert "250 records in pages of 100" in headings[0]
    assert emulator.stats()["requests"]["getAsyncResult"] == 3


@pytest.fixture
def in_process(monkeypatch, capsys):
    """cli.main in this process (faster than a subprocess), its outputs captured."""
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")  # what main() sets; restored afterwards

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_unknown_job_id_exits_5_with_the_hooks_hint(emulator, in_process):
    code, out, err = in_process("status", "ASYNCWEBSERVICES_NO_SUCH_JOB")
    assert code == cli.EXIT_INVALID_JOB_ID
    assert "INVALID_JOB_ID" in err and "30 days" in err
    assert out == ""


def test_result_of_an_unfinished_job_exits_6(emulator, in_process):
    job_id = emulator.create_job(
        {"operation": "asyncAddList", "pending_seconds": 600, "records": [{"externalId": "a"}]}
    )
    code, out, err = in_process("result", job_id)
    assert code == cli.EXIT_NOT_COMPLETE
    assert "JOB_NOT_COMPLETE" in err and out == ""


def test_refused_login_exits_4_and_tells_clock_from_credentials(emulator):
    conn = emulator.airflow_connection()
    conn["extra"]["token_secret"] = "wrong-secret"
    env = {**os.environ, "AIRFLOW_CONN_NS_WRONG": json.dumps(conn)}
    done = run_cli("status", "ANY_JOB", "--conn-id", "ns_wrong", env=env)
    assert done.returncode == cli.EXIT_REFUSED
    assert "code USER_ERROR" in done.stderr and "clock agrees with NetSuite's" in done.stderr
    assert "wrong-secret" not in done.stderr + done.stdout


def test_unknown_connection_exits_3_and_usage_errors_exit_2(emulator):
    missing = run_cli("status", "ANY_JOB", "--conn-id", "no_such_connection")
    assert missing.returncode == cli.EXIT_CONFIGURATION
    assert "no_such_connection" in missing.stderr and "AIRFLOW_CONN_NO_SUCH_CONNECTION" in missing.stderr
    both = run_cli("result", "ANY_JOB", "--page", "2", "--all")
    assert both.returncode == cli.EXIT_USAGE and "not allowed with argument" in both.stderr


def test_connection_stored_in_the_metadata_database_is_found(airflow_db, emulator):
    from airflow.models import Connection
    from airflow.utils.session import create_session

    conn = emulator.airflow_connection()
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == "netsuite_in_db").delete()
        session.add(
            Connection(
                conn_id="netsuite_in_db",
                conn_type="netsuite_soap",
                host=conn["host"],
                extra=json.dumps(conn["extra"]),
            )
        )
    job_id = emulator.create_job({"operation": "asyncAddList", **DONE, "records": [{"externalId": "a"}]})
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    done = run_cli("status", job_id, "--conn-id", "netsuite_in_db", "--json", env=env)
    assert done.returncode == cli.EXIT_OK, done.stderr
    assert json.loads(done.stdout) == {
        "job_id": job_id,
        "status": "finished",
        "percent_completed": 100.0,
        "est_remaining_duration": 0.0,
    }


def test_unwritable_output_exits_8_after_printing_the_results(emulator, tmp_path, in_process):
    job_id = emulator.create_job({"operation": "asyncAddList", **DONE, "records": [{"externalId": "a"}]})
    code, out, err = in_process("result", job_id, "--output", str(tmp_path))  # a directory
    assert code == cli.EXIT_OUTPUT
    assert "1 records, 0 failed" in out and f"cannot write {tmp_path}" in err


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (
            ConcurrencyLimitError(
                fault_type="ExceededConcurrentRequestLimitFault",
                code="WS_REQUEST_BLOCKED",
                netsuite_message="blocked",
            ),
            cli.EXIT_TRANSIENT,
        ),
        (NetSuiteTransportError("HTTP 503", http_status=503, transient=True), cli.EXIT_TRANSIENT),
        (NetSuiteTransportError("HTTP 404", http_status=404, transient=False), cli.EXIT_NETSUITE),
        (
            UnsupportedVersionError(
                fault_type="InvalidVersionFault", code="UNSUPPORTED_WS_VERSION", netsuite_message="no"
            ),
            cli.EXIT_CONFIGURATION,
        ),
        (NetSuiteResponseError("bad answer"), cli.EXIT_NETSUITE),
    ],
)
def test_exit_code_for_each_kind_of_error(error, code):
    assert cli.exit_code(error) == code


def run_cli_into_a_closed_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    """The command with a stdout whose reader is gone before it writes anything (``| head -0``)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "airflow_asyncjob", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


def test_a_reader_that_closes_early_ends_quietly_and_the_output_file_holds_every_page(emulator, tmp_path):
    """`result --all --output f.json | head`: every page read is still written to the file."""
    job_id = emulator.create_job({"operation": "asyncSearch", **DONE, "page_size": 100, "total_records": 250})
    output = tmp_path / "pages.json"
    done = run_cli_into_a_closed_pipe("result", job_id, "--all", "--output", str(output))
    assert done.returncode == cli.EXIT_OK, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    written = json.loads(output.read_text())
    assert written["job_id"] == job_id
    assert [page["page_index"] for page in written["pages"]] == [1, 2, 3]
    assert emulator.stats()["requests"]["getAsyncResult"] == 3


def test_without_output_a_closed_pipe_stops_reading_pages(emulator):
    """Nobody reads the pages: no more of the job's 20 getAsyncResult calls are spent on them."""
    job_id = emulator.create_job({"operation": "asyncSearch", **DONE, "page_size": 100, "total_records": 250})
    done = run_cli_into_a_closed_pipe("result", job_id, "--all")
    assert done.returncode == cli.EXIT_OK, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert emulator.stats()["requests"]["getAsyncResult"] == 1
