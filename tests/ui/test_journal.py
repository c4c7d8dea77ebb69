"""The job journal's shape: polls, thinning, the merge of the worker's and the triggerer's records,
and the result summary without record payloads."""

from __future__ import annotations

from airflow_asyncjob.netsuite.faults import ConcurrencyLimitError
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncStatus
from airflow_asyncjob.ui import journal


def status(percent: float, state: AsyncStatus = AsyncStatus.PROCESSING) -> AsyncJobStatus:
    return AsyncJobStatus("JOB_1", state, percent, 30.0)


def test_each_poll_adds_a_point_and_a_long_wait_keeps_its_first_and_last():
    entry = journal.new_entry("sensor", conn_id="netsuite_default")
    for second in range(journal.MAX_POINTS + 1):
        journal.add_poll(entry, status(second * 100 / (journal.MAX_POINTS + 1)), now=1_000_000 + second)
    assert entry["polls"] == journal.MAX_POINTS + 1
    assert len(entry["history"]) <= journal.MAX_POINTS
    assert entry["history"][0][0] == 1_000_000 and entry["history"][-1][0] == 1_000_000 + journal.MAX_POINTS
    assert entry["job_id"] == "JOB_1" and entry["status"] == "processing"


def test_a_failed_poll_is_kept_until_the_next_good_one():
    entry = journal.new_entry("sensor", conn_id="c")
    journal.add_error(
        entry,
        ConcurrencyLimitError(
            fault_type="ExceededConcurrentRequestLimitFault",
            code="WS_CONCUR_SESSION_DISALLWD",
            netsuite_message="busy",
        ),
        now=10,
    )
    assert entry["last_error"]["busy"] is True and entry["last_error"]["transient"] is True
    journal.add_poll(entry, status(50), now=11)
    assert entry["last_error"] is None


def test_the_merge_joins_histories_adds_polls_and_keeps_the_latest_sighting():
    worker = journal.add_poll(journal.new_entry("sensor", conn_id="c"), status(0), now=100)
    trigger = journal.new_entry("sensor", conn_id="c")
    journal.add_poll(trigger, status(40), now=110)
    journal.add_poll(trigger, status(100, AsyncStatus.FINISHED_WITH_ERRORS), now=120)
    worker["outcome"] = {"status": "finishedWithErrors", "branch": ["report"], "at": "x"}
    worker["updated"] = "9999"  # the outcome is written last, by execute_complete
    merged = journal.merge(worker, trigger)
    assert merged is not None
    assert [p for _, p in merged["history"]] == [0, 40, 100]
    assert merged["polls"] == 3
    assert merged["last_seen"] == trigger["last_seen"] and merged["first_seen"] == worker["first_seen"]
    assert merged["outcome"]["branch"] == ["report"]
    assert journal.merge(None, trigger) == trigger and journal.merge(None, None) is None


def test_the_result_summary_keeps_codes_and_messages_not_records():
    summary = {
        "job_id": "J",
        "records": 2,
        "succeeded": 1,
        "failed": 1,
        "failures_by_code": {"DUP_ENTITY": 1},
        "first_failures": [
            {"code": "DUP_ENTITY", "message": "exists", "external_id": "c2", "record": {"x": 1}}
        ],
        "job_errors": [],
        "output_path": "file:///r.jsonl",
    }
    kept = journal.summary_for_ui(summary)
    assert kept["failures_by_code"] == {"DUP_ENTITY": 1}
    assert kept["first_failures"] == [
        {"code": "DUP_ENTITY", "message": "exists", "external_id": "c2", "internal_id": None, "type": None}
    ]


def rest_status(state: AsyncStatus, done: int | None, total: int | None) -> AsyncJobStatus:
    percent = 100.0 * done / total if done is not None and total else 0.0
    return AsyncJobStatus("42", state, percent, 0.0, done, total, tasks_unread=total is None)


def test_a_running_rest_job_without_its_tasks_says_when_the_counts_come_not_none_remaining():
    from airflow_asyncjob.ui import store
    from airflow_asyncjob.ui.app import _job_fields

    entry = journal.add_poll(
        journal.new_entry("sensor", conn_id="rest", job_id="42"),
        rest_status(AsyncStatus.PROCESSING, None, None),
    )
    shown = _job_fields(entry)
    assert shown["tasks_text"] == "task counts come when the job completes"
    assert shown["est_remaining_text"] == "not given by NetSuite REST"  # was "none" (REST's 0.0)
    assert store.job_remaining_text(entry) == "not given by NetSuite REST"  # the nav page's column

    journal.add_poll(entry, rest_status(AsyncStatus.FINISHED_WITH_ERRORS, 5, 5))
    shown = _job_fields(entry)
    assert (shown["tasks_text"], shown["est_remaining_text"]) == ("5 of 5 tasks", "none")


def test_a_running_rest_job_with_its_tasks_shows_how_many_are_done():
    from airflow_asyncjob.ui.app import _job_fields

    entry = journal.add_poll(
        journal.new_entry("sensor", conn_id="rest", job_id="42"), rest_status(AsyncStatus.PROCESSING, 2, 5)
    )
    shown = _job_fields(entry)
    assert (shown["tasks_text"], shown["percent_completed"]) == ("2 of 5 tasks", 40.0)
    assert shown["est_remaining_text"] == "not given by NetSuite REST"


def test_a_soap_job_shows_no_task_count_and_its_estimate():
    from airflow_asyncjob.ui.app import _job_fields

    soap = AsyncJobStatus("J", AsyncStatus.PROCESSING, 50.0, 30.0)
    shown = _job_fields(journal.add_poll(journal.new_entry("sensor", conn_id="ns", job_id="J"), soap))
    assert (shown["tasks_text"], shown["est_remaining_text"]) == (None, "under a minute")


def test_a_pending_soap_job_shows_its_time_remaining_unknown_not_none():
    from airflow_asyncjob.ui import store
    from airflow_asyncjob.ui.app import _job_fields

    entry = journal.new_entry("sensor", conn_id="ns", job_id="J")
    journal.add_poll(entry, AsyncJobStatus("J", AsyncStatus.PENDING, 0.0, 0.0))  # NetSuite's "no estimate"
    assert _job_fields(entry)["est_remaining_text"] is None  # the page says "unknown"
    assert store.job_remaining_text(entry) is None
    journal.add_poll(entry, AsyncJobStatus("J", AsyncStatus.FINISHED, 100.0, 0.0))
    assert _job_fields(entry)["est_remaining_text"] == "none"  # ended: nothing remains


def test_a_rest_outcome_replaces_the_counts_of_the_first_poke():
    from airflow_asyncjob.ui.app import _job_fields

    # The worker's entry: its poke saw 1 of 6 tasks, then the trigger polled to the end.
    worker = journal.add_poll(
        journal.new_entry("sensor", conn_id="rest", job_id="42"), rest_status(AsyncStatus.PROCESSING, 1, 6)
    )
    final = rest_status(AsyncStatus.FINISHED_WITH_ERRORS, 6, 6).to_dict()
    shown = _job_fields(journal.add_outcome(worker, final))
    assert (shown["status"], shown["tasks_text"], shown["percent_completed"]) == (
        "finishedWithErrors",
        "6 of 6 tasks",
        100.0,
    )
