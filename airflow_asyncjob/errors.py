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
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_asyncjob.netsuite.faults import ConfigurationError, NetSuiteError
from airflow_asyncjob.netsuite.job_ids import require_job_id

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator


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


def task_job_id(task: BaseOperator, job_id: Any) -> str:
    """``job_id`` as a task rendered it, checked before any request (``require_job_id``).

    Returns:
        the job id, stripped of surrounding whitespace.

    Raises:
        AirflowFailException: not a job id, e.g. ``"None"`` from a template whose upstream task
            returned nothing, naming the argument, the task and its upstream tasks; not retried,
            as the same template renders the same value again.
    """
    upstream = ", ".join(repr(t) for t in sorted(task.upstream_task_ids))
    origin = f"the upstream task ({upstream})" if upstream else "the upstream task"
    try:
        return require_job_id(job_id, name=f"job_id of task {task.task_id!r}", origin=origin)
    except ConfigurationError as error:
        raise task_exception(error) from error
