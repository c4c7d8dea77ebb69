"""How a NetSuite error ends an Airflow task: the one rule every sensor and operator here applies.

- A permanent NetSuiteError (bad credentials, unknown job id, bad configuration, a submit whose
  outcome is unknown) fails the task without retry: AirflowFailException.
- A transient one (concurrency limit, maintenance, HTTP 5xx, network) that outlived the hook's own
  retries is raised as it is, so that only this try fails and the task's ``retries`` apply.

Which errors are transient is the protocol layer's call (``NetSuiteError.transient``, see
``airflow_asyncjob.netsuite.faults``); this module only says what Airflow does with each.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from airflow.sdk.exceptions import AirflowFailException

from airflow_asyncjob.netsuite.faults import NetSuiteError


def task_exception(error: NetSuiteError, where: str | None = None) -> Exception:
    """The exception that ends the try for ``error``: ``error`` itself when it is transient, else
    AirflowFailException with its message (prefixed by ``where: `` when given)."""
    if error.transient:
        return error
    message = f"{where}: {error}" if where else str(error)
    failure = AirflowFailException(message)
    failure.__cause__ = error
    return failure


@contextmanager
def netsuite_error_rule(where: str | None = None) -> Iterator[None]:
    """Apply ``task_exception`` to a NetSuiteError raised in the block; anything else passes.

    Args:
        where: what the block was doing, for the message of a permanent failure
            (``"page 2 of job ASYNC..."``).

    Raises:
        AirflowFailException: a permanent NetSuiteError (chained to it).
        NetSuiteError: a transient one, unchanged.
    """
    try:
        yield
    except NetSuiteError as error:
        if error.transient:
            raise
        raise task_exception(error, where) from error
