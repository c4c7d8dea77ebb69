"""REST models: job ids from Location headers, job/task -> AsyncJobStatus, settings, and the SOAP
AsyncJobStatus's optional task counts (backward compatible)."""

from __future__ import annotations

import pytest

from airflow_asyncjob.netsuite.faults import ConfigurationError, NetSuiteResponseError
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncStatus
from airflow_asyncjob.netsuite.rest.models import RestJob, RestTask, job_id_from_location, parse_task_page
from airflow_asyncjob.netsuite.rest.settings import RestSettings

from .conftest import BASE, JOB


@pytest.mark.parametrize(
    "location, job_id",
    [
        (f"{BASE}{JOB}/123456", "123456"),
        (f"{JOB}/123456", "123456"),
        (f"{JOB}/123456/", "123456"),
        (f"  {BASE}{JOB}/12%2034  ", "12 34"),
        ("http://127.0.0.1:8080/services/rest/async/v1/job/7", "7"),
    ],
)
def test_job_id_from_an_absolute_or_relative_location(location, job_id):
    assert job_id_from_location(location) == job_id


@pytest.mark.parametrize(
    "location",
    [
        None,
        "",
        f"{BASE}/services/rest/record/v1/customer/5",
        f"{BASE}{JOB}/",
        f"{BASE}{JOB}/7/task/1",
        "ftp://host/services/rest/async/v1/job/7",
        "services/rest/async/v1/job/7",
        "https:///services/rest/async/v1/job/7",
    ],
)
def test_a_location_that_is_not_a_job_url_is_a_typed_error(location):
    with pytest.raises(NetSuiteResponseError, match="not a job URL"):
        job_id_from_location(location)


def _tasks(*progresses: str) -> tuple[RestTask, ...]:
    return tuple(RestTask(str(i), p in ("succeeded", "failed"), p) for i, p in enumerate(progresses))


def test_to_status_pending_processing_and_counts():
    assert RestJob("1", False, "pending").to_status().status is AsyncStatus.PENDING
    running = RestJob(
        "1", False, "processing", _tasks("succeeded", "pending", "pending", "pending")
    ).to_status()
    assert (running.status, running.percent_completed, running.tasks_completed, running.tasks_total) == (
        AsyncStatus.PROCESSING,
        25.0,
        1,
        4,
    )


def test_to_status_of_a_completed_job_without_tasks_read_refuses():
    with pytest.raises(NetSuiteResponseError, match="needs its tasks"):
        RestJob("1", True, "succeeded").to_status()


def test_task_ids_come_from_self_links_or_ids():
    page = parse_task_page(
        {
            "items": [{"links": [{"rel": "self", "href": f"{BASE}{JOB}/1/task/5"}]}, {"id": 6}],
            "hasMore": False,
        },
        job_id="1",
    )
    assert page.task_ids == ("5", "6")
    with pytest.raises(NetSuiteResponseError, match="not a NetSuite task list item"):
        parse_task_page({"items": [{"links": []}]}, job_id="1")


def test_soap_status_dict_is_unchanged_and_task_counts_round_trip():
    soap = AsyncJobStatus("J", AsyncStatus.PROCESSING, 42.5, 12.0)
    assert soap.to_dict() == {
        "job_id": "J",
        "status": "processing",
        "percent_completed": 42.5,
        "est_remaining_duration": 12.0,
    }
    assert AsyncJobStatus.from_dict(soap.to_dict()) == soap
    assert soap.describe() == "job processing, 42.5% completed, about 12 s remaining (J)"
    rest = AsyncJobStatus("7", AsyncStatus.FINISHED_WITH_ERRORS, 100.0, 0.0, tasks_completed=5, tasks_total=5)
    assert rest.to_dict()["tasks_completed"] == 5 and rest.to_dict()["tasks_total"] == 5
    assert AsyncJobStatus.from_dict(rest.to_dict()) == rest
    assert rest.describe() == "job finishedWithErrors, 100.0% completed, 5 of 5 tasks completed (7)"


def test_settings_derive_urls_from_the_account_or_the_base_url(tba):
    settings = RestSettings(tba)
    assert settings.rest_url == BASE
    assert settings.token_url == f"{BASE}/services/rest/auth/oauth2/v1/token"
    assert settings.account.passport == "1234567_SB1"
    assert RestSettings(tba, base_url="http://127.0.0.1:9/").rest_url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"base_url": "127.0.0.1:9"}, "not an http"),
        ({"timeout": 0}, "timeout"),
        ({"max_in_flight": 0}, "in-flight"),
    ],
)
def test_bad_settings_are_named(tba, kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        RestSettings(tba, **kwargs)


def test_a_running_job_read_without_its_tasks_says_when_its_counts_come():
    status = RestJob(job_id="42", completed=False, progress="processing").to_status()
    assert status.tasks_unread and status.tasks_total is None
    assert status.describe() == "job processing, task counts come when the job completes (42)"
    assert AsyncJobStatus.from_dict(status.to_dict()) == status  # through a trigger event
    assert "tasks_unread" not in AsyncJobStatus("7", AsyncStatus.FINISHED, 100.0, 0.0, 5, 5).to_dict()
