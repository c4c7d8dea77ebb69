"""Checks on NetSuite job ids before they are sent.

Imports nothing from Airflow.
"""

from __future__ import annotations

from typing import Any

from airflow_asyncjob.netsuite.faults import ConfigurationError

#: The longest job id accepted (NetSuite's look like ``ASYNCWEBSERVICES_<account>_<digits>_...``).
MAX_JOB_ID_LENGTH = 256


def require_job_id(job_id: Any) -> str:
    """``job_id`` stripped, or ConfigurationError when it is not a non-empty printable string of
    at most MAX_JOB_ID_LENGTH characters."""
    value = job_id.strip() if isinstance(job_id, str) else ""
    if not value or len(value) > MAX_JOB_ID_LENGTH or not value.isprintable():
        shown = repr(job_id) if len(repr(job_id)) <= 80 else repr(job_id)[:80] + "..."
        raise ConfigurationError(
            f"job_id must be NetSuite's jobId from an async* call: a non-empty printable string of at "
            f"most {MAX_JOB_ID_LENGTH} characters, got {shown}."
        )
    return value
