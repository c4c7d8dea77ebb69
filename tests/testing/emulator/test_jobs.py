"""The job state machine, with a clock the tests step: no HTTP, no sleeping."""

from __future__ import annotations

import pytest

from airflow_asyncjob.netsuite.models import AsyncStatus
from airflow_asyncjob.testing.emulator import (
    EmulatedFault,
    JobFailure,
    JobSpec,
    JobStore,
    RecordResult,
    Scenario,
    SubmitRule,
    Timeline,
)
from airflow_asyncjob.testing.emulator.auth import NonceStore
from airflow_asyncjob.testing.emulator.jobs import RecordRef, SubmitDefaults


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> JobStore:
    return JobStore(clock=clock)


def ok(external_id: str) -> RecordResult:
    return RecordResult(external_id, None, "customer")


def dup(external_id: str) -> RecordResult:
    return RecordResult(external_id, None, "customer", False, "DUP_ENTITY", "This entity already exists.")


def fault_code(call) -> str:
    with pytest.raises(EmulatedFault) as caught:
        call()
    return caught.value.code


def test_job_goes_pending_then_processing_then_finished(store: JobStore, clock: FakeClock) -> None:
    job_id = store.create_job(
        JobSpec(timeline=Timeline(pending_seconds=1, processing_seconds=4), records=(ok("a"),))
    )
    seen = []
    for _ in range(7):
        seen.append(store.check_status(job_id))
        clock.advance(1)
    assert [s.status for s in seen] == [AsyncStatus.PENDING] + [AsyncStatus.PROCESSING] * 4 + [
        AsyncStatus.FINISHED
    ] * 2
    assert seen[0].percent_completed == 0.0 and seen[0].est_remaining_duration == 0.0
    processing = seen[1:5]
    assert [s.percent_completed for s in processing] == [0.0, 25.0, 50.0, 75.0]
    assert [s.est_remaining_duration for s in processing] == [4.0, 3.0, 2.0, 1.0]
    assert (seen[-1].percent_completed, seen[-1].est_remaining_duration) == (100.0, 0.0)
    assert seen[0].job_id == job_id


def test_job_passes_through_retry_when_the_timeline_has_it(store: JobStore, clock: FakeClock) -> None:
    job_id = store.create_job(
        JobSpec(timeline=Timeline(pending_seconds=1, retry_seconds=2, processing_seconds=1))
    )
    statuses = []
    for _ in range(5):
        statuses.append(store.check_status(job_id).status)
        clock.advance(1)
    assert statuses == ["pending", "retry", "retry", "processing", "finished"]


def test_final_status_follows_the_records_and_failure(store: JobStore) -> None:
    instant = Timeline(0, 0)
    assert (
        store.check_status(store.create_job(JobSpec(timeline=instant, records=(ok("a"), dup("b"))))).status
        == "finishedWithErrors"
    )
    # Every record failed: they were still processed (Help Center), so not "failed".
    assert (
        store.check_status(store.create_job(JobSpec(timeline=instant, records=(dup("b"),)))).status
        == "finishedWithErrors"
    )
    assert (
        store.check_status(store.create_job(JobSpec(timeline=instant, failure=JobFailure()))).status
        == "failed"
    )


def test_a_status_contradicting_the_records_is_refused() -> None:
    with pytest.raises(ValueError, match="contradicts"):
        JobSpec(records=(ok("a"),), status=AsyncStatus.FINISHED_WITH_ERRORS)
    with pytest.raises(ValueError, match="code and a message"):
        RecordResult("a", success=False)


def test_get_async_result_before_the_end_is_job_not_complete(store: JobStore, clock: FakeClock) -> None:
    job_id = store.create_job(JobSpec(timeline=Timeline(1, 1), records=(ok("a"),)))
    assert fault_code(lambda: store.get_result(job_id, 1)) == "JOB_NOT_COMPLETE"
    clock.advance(2)
    assert store.get_result(job_id, 1).records == (ok("a"),)


def test_twenty_first_get_async_result_is_invalid_job_id(store: JobStore) -> None:
    job_id = store.create_job(JobSpec(timeline=Timeline(0, 0), records=(ok("a"),)))
    for _ in range(20):  # NetSuite's limit (Governance Overview)
        store.get_result(job_id, 1)
    assert store.result_calls(job_id) == 20
    assert fault_code(lambda: store.get_result(job_id, 1)) == "INVALID_JOB_ID"
    assert store.check_status(job_id).status == "finished"  # checkAsyncStatus has no such limit


def test_a_list_job_answers_every_record_on_page_one(store: JobStore) -> None:
    # WriteResponseList and ReadResponseList have no totalPages: a client could not find page 2.
    records = tuple(ok(f"r{i}") for i in range(2000))
    job_id = store.create_job(
        JobSpec("asyncGetList", timeline=Timeline(0, 0), records=records, page_size=1000)
    )
    page = store.get_result(job_id, 1)
    assert (len(page.records), page.total_pages, page.records[-1].external_id) == (2000, 1, "r1999")
    assert fault_code(lambda: store.get_result(job_id, 2)) == "INVALID_PAGE_INDEX"
    assert fault_code(lambda: store.get_result(job_id, 0)) == "INVALID_PAGE_INDEX"


def test_search_job_pages_by_total_records(store: JobStore) -> None:
    job_id = store.create_job(
        JobSpec(
            "asyncSearch",
            timeline=Timeline(0, 0),
            total_records=2001,
            page_size=1000,
            search_record_type="customer",
        )
    )
    page = store.get_result(job_id, 3)
    assert (page.result_type, page.total_pages, page.total_records, page.page_index) == (
        "AsyncSearchResult",
        3,
        2001,
        3,
    )
    assert (page.search_id or "").startswith("WEBSERVICES_1234567_SB1_")
    assert [(r.internal_id, r.record_type) for r in page.records] == [("2001", "customer")]
    assert len(store.get_result(job_id, 2).records) == 1000
    assert fault_code(lambda: store.get_result(job_id, 4)) == "INVALID_PAGE_INDEX"


def test_a_search_without_a_record_type_answers_counts_only(store: JobStore) -> None:
    job_id = store.create_job(JobSpec("asyncSearch", timeline=Timeline(0, 0), total_records=5))
    page = store.get_result(job_id, 1)
    assert (page.total_records, page.records) == (5, ())


def test_a_rule_can_name_exact_external_ids(clock: FakeClock) -> None:
    rule = SubmitRule(
        "DUP_ENTITY", "This entity already exists.", external_ids=("cust-7",), record_type="customer"
    )
    store = JobStore(
        clock=clock, submit_defaults=SubmitDefaults(timeline=Timeline(0, 0)), submit_rules=[rule]
    )
    refs = [RecordRef(external_id=e, record_type="customer") for e in ("cust-7", "cust-70", "cust-8")]
    job_id = store.submit("asyncAddList", refs).job_id
    assert [(r.external_id, r.success) for r in store.get_result(job_id, 1).records] == [
        ("cust-7", False),
        ("cust-70", True),
        ("cust-8", True),
    ]


def test_unknown_job_id_is_invalid_job_id(store: JobStore) -> None:
    assert fault_code(lambda: store.check_status("ASYNCWEBSERVICES_nope")) == "INVALID_JOB_ID"
    assert fault_code(lambda: store.get_result("ASYNCWEBSERVICES_nope", 1)) == "INVALID_JOB_ID"


def test_generated_job_ids_have_netsuites_shape(store: JobStore) -> None:
    job_id = store.create_job(JobSpec())
    prefix, account, sandbox, stamp, suffix = job_id.split("_")
    assert (prefix, account, sandbox, len(stamp), len(suffix)) == (
        "ASYNCWEBSERVICES",
        "1234567",
        "SB1",
        27,
        8,
    )
    with pytest.raises(ValueError, match="already in use"):
        store.create_job(JobSpec(job_id=job_id))


def test_timeline_can_start_at_the_first_request(store: JobStore, clock: FakeClock) -> None:
    job_id = store.create_job(JobSpec(timeline=Timeline(1, 1), start_on_first_request=True))
    clock.advance(100)
    assert store.check_status(job_id).status == "pending"
    clock.advance(2)
    assert store.check_status(job_id).status == "finished"


def test_submit_applies_rules_and_assigns_internal_ids(clock: FakeClock) -> None:
    store = JobStore(
        clock=clock,
        submit_rules=[
            SubmitRule("DUP_ENTITY", "This entity already exists.", external_id_prefix="dup-"),
            SubmitRule("UNEXPECTED_ERROR", "boom", operation="asyncDeleteList", fails="job"),
        ],
    )
    status = store.submit(
        "asyncAddList", [RecordRef(external_id="c-1", record_type="customer"), RecordRef(external_id="dup-2")]
    )
    assert (status.status, status.percent_completed) == ("pending", 0.0)
    clock.advance(10)
    page = store.get_result(status.job_id, 1)
    assert [(r.external_id, r.internal_id, r.success, r.code) for r in page.records] == [
        ("c-1", "1001", True, None),
        ("dup-2", None, False, "DUP_ENTITY"),
    ]
    deleted = store.submit("asyncDeleteList", [RecordRef(internal_id="7", record_type="customer")])
    clock.advance(10)
    assert store.check_status(deleted.job_id).status == "failed"
    assert store.get_result(deleted.job_id, 1).failure == JobFailure("UNEXPECTED_ERROR", "boom")


@pytest.mark.parametrize(
    ("operation", "limit"),
    [
        ("asyncAddList", 400),
        ("asyncUpdateList", 200),
        ("asyncUpsertList", 200),
        ("asyncDeleteList", 400),
        ("asyncGetList", 2000),
    ],
)
def test_submit_over_the_record_limit_is_max_rcrds_exceeded(
    store: JobStore, operation: str, limit: int
) -> None:
    refs = [RecordRef(internal_id=str(i)) for i in range(limit + 1)]
    store.submit(operation, refs[:limit])
    with pytest.raises(EmulatedFault) as caught:
        store.submit(operation, refs)
    assert (caught.value.fault_type, caught.value.code) == ("ExceededRecordCountFault", "MAX_RCRDS_EXCEEDED")


def test_reset_brings_back_the_scenario_jobs_with_fresh_timelines(clock: FakeClock) -> None:
    scenario = Scenario.example()
    store = JobStore(clock=clock, preset_jobs=scenario.jobs)
    job_id = scenario.jobs[0].job_id
    assert job_id is not None  # a scenario names its jobs
    store.check_status(job_id)
    clock.advance(60)
    assert store.check_status(job_id).status == "finished"
    extra = store.create_job(JobSpec())
    store.reset()
    assert store.check_status(job_id).status == "pending"
    assert extra not in store.job_ids()


def test_nonce_store_forgets_nonces_once_their_timestamp_expired() -> None:
    nonces = NonceStore()
    start = 1_800_000_000
    assert nonces.add("abcdef", start, start)
    assert not nonces.add("abcdef", start, start + 1)
    for i in range(1000):  # one request per second for 1000 s
        nonces.add(f"nonce{i:04d}", start + i, start + i)
    assert "abcdef" not in nonces._expiry
    assert len(nonces) <= 300 + 60 + 1
