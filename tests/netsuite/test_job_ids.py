"""What a job id must be before it is sent (netsuite.job_ids): a template that rendered a
missing value is refused with a question about the upstream task; any other printable string
is sent as it is (NetSuite documents job ids only as strings)."""

from __future__ import annotations

import pytest

from airflow_asyncjob.netsuite.faults import ConfigurationError
from airflow_asyncjob.netsuite.job_ids import require_job_id


@pytest.mark.parametrize(
    "job_id", ["None", "none", "NONE", "null", "NULL", " None\n", "", "  \t", "[]", "{}", None]
)
def test_a_rendering_of_nothing_asks_whether_the_upstream_task_returned_the_job_id(job_id):
    with pytest.raises(ConfigurationError) as caught:
        require_job_id(job_id)
    assert str(caught.value) == (
        f"job_id must be NetSuite's jobId from an async* call, but it is {job_id!r}: what a template "
        "renders when the value it reads is missing. Did the upstream task return the job id? "
        "Nothing was sent to NetSuite."
    )


def test_the_caller_names_the_argument_and_where_it_came_from():
    with pytest.raises(
        ConfigurationError, match=r"^JOB_ID must be .* Did the command that printed it return"
    ):
        require_job_id("null", name="JOB_ID", origin="the command that printed it")


@pytest.mark.parametrize(
    "job_id",
    [
        "ASYNCWEBSERVICES_563214_053120061943428686160042948_4bee0685",
        "ASYNCWEBSERVICES_1234567_SB1_112920261015490000000001_a1b2c3d4",
        "JOB-X",  # not NetSuite's shape, but NetSuite only says "string": it answers for itself
        "Nonesuch",
    ],
)
def test_any_other_printable_string_is_sent_as_it_is(job_id):
    assert require_job_id(f" {job_id} ") == job_id
