"""A NetSuite error's message and its hint read as two sentences, whatever NetSuite's own
text ends with (issue 11: "Invalid jobId: None Check the job id" lacked a full stop)."""

from __future__ import annotations

import pytest

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.faults import InvalidJobIdError, NetSuiteError, join_sentences, make_fault


def test_an_unknown_job_ids_message_and_hint_are_two_sentences(emulator):
    with pytest.raises(InvalidJobIdError) as caught:
        SoapAsyncJobHook().check_async_status("ASYNCWEBSERVICES_UNKNOWN")
    assert str(caught.value) == (
        "checkAsyncStatus for job ASYNCWEBSERVICES_UNKNOWN: NetSuite fault AsyncFault INVALID_JOB_ID: "
        "Invalid jobId: ASYNCWEBSERVICES_UNKNOWN. Check the job id: NetSuite purges async jobs after "
        "30 days and allows at most 20 getAsyncResult calls per job."
    )


@pytest.mark.parametrize(
    "fault",
    [
        ("InvalidCredentialsFault", "INVALID_LOGIN_ATTEMPT"),
        ("InsufficientPermissionFault", "INSUFFICIENT_PERMISSION"),
        ("AsyncFault", "INVALID_JOBID"),
        ("InvalidVersionFault", "UNSUPPORTED_WS_VERSION"),
        ("ExceededConcurrentRequestLimitFault", "WS_CONCUR_SESSION_DISALLWD"),
    ],
)
@pytest.mark.parametrize("netsuite_message", ["No full stop", "A full stop.", "Cut " + "x" * 300])
def test_every_hint_follows_a_full_stop(fault, netsuite_message):
    error = make_fault(fault_type=fault[0], code=fault[1], netsuite_message=netsuite_message)
    assert error.hint
    text = str(error)
    before = text[: -len(error.hint)]
    assert text.endswith(" " + error.hint)
    assert before.endswith(". ") and not before.endswith(".. ")


def test_an_error_without_a_hint_is_its_message():
    assert str(NetSuiteError("no answer", operation="getServerTime")) == "getServerTime: no answer"


@pytest.mark.parametrize(
    ("text", "joined"),
    [
        ("Invalid jobId: None", "Invalid jobId: None. Next."),
        ("Ends a sentence.", "Ends a sentence. Next."),
        ("Asks?", "Asks? Next."),
        ('Quoted ("it stopped.")', 'Quoted ("it stopped.") Next.'),
        ("cut off... [57 more characters]", "cut off... [57 more characters]. Next."),
    ],
)
def test_join_sentences_puts_a_full_stop_only_where_one_is_missing(text, joined):
    assert join_sentences(text, "Next.") == joined
