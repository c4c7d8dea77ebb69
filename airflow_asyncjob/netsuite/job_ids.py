"""Checks on NetSuite job ids before they are sent.

What is accepted: any printable string of 1 to MAX_JOB_ID_LENGTH characters after stripping
surrounding whitespace, except what a template renders from a missing value (EMPTY_RENDERINGS).
NetSuite's job ids look like ``ASYNCWEBSERVICES_<account>_<digits>_<hex>`` (e.g.
``ASYNCWEBSERVICES_563214_053120061943428686160042948_4bee0685``; a sandbox account id such as
``1234567_SB1`` adds a part), but NetSuite documents them only as strings (schema type
AsyncStatusResult, ``jobId``: xsd:string), so no other shape is refused or warned about: NetSuite
itself answers INVALID_JOB_ID for an id it does not know.

Imports nothing from Airflow.
"""

from __future__ import annotations

from typing import Any

from airflow_asyncjob.netsuite.faults import ConfigurationError

#: The longest job id accepted (NetSuite's are about 70 characters).
MAX_JOB_ID_LENGTH = 256

#: What a template renders when the value it reads is missing, compared case-insensitively:
#: ``"{{ ti.xcom_pull(task_ids='submit') }}"`` renders ``"None"`` when that task returned
#: nothing (Python's None), a JSON round trip gives ``"null"``, an empty XCom list or dict
#: ``"[]"`` or ``"{}"``. None of them can be a NetSuite job id.
EMPTY_RENDERINGS = frozenset({"none", "null", "[]", "{}"})


def require_job_id(job_id: Any, *, name: str = "job_id", origin: str = "the upstream task") -> str:
    """``job_id`` stripped of surrounding whitespace, checked before any request is sent.

    Args:
        job_id: the value to check (a str; anything else is refused).
        name: what the caller calls it, for the message (``"job_id of task 'wait'"``, ``"JOB_ID"``).
        origin: where the value came from, for the message about a missing value (``"the
            upstream task ('submit')"``, ``"the command that printed it"``).

    Raises:
        ConfigurationError: ``job_id`` is None, empty or whitespace, one of EMPTY_RENDERINGS
            (asking whether ``origin`` returned the job id), not a string, not printable,
            or longer than MAX_JOB_ID_LENGTH characters.
    """
    value = job_id.strip() if isinstance(job_id, str) else None
    if job_id is None or value == "" or (value is not None and value.lower() in EMPTY_RENDERINGS):
        raise ConfigurationError(
            f"{name} must be NetSuite's jobId from an async* call, but it is {_shown(job_id)}: what a "
            f"template renders when the value it reads is missing. Did {origin} return the job id? "
            "Nothing was sent to NetSuite."
        )
    if value is None or len(value) > MAX_JOB_ID_LENGTH or not value.isprintable():
        raise ConfigurationError(
            f"{name} must be NetSuite's jobId from an async* call: a non-empty printable string of at "
            f"most {MAX_JOB_ID_LENGTH} characters, got {_shown(job_id)}."
        )
    return value


def _shown(job_id: Any) -> str:
    shown = repr(job_id)
    return shown if len(shown) <= 80 else shown[:80] + "..."
