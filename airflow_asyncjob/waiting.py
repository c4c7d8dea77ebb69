"""How a task waits for a NetSuite async job, and what each way the job ends does to the task.

One home for what AsyncJobStatusSensor and ``AsyncJobSubmitOperator(wait_for_completion=True)``
share, so that both wait and decide alike:

- the outcome rule (``final_status``): finished -> the final status; failed -> fail without
  retry, with NetSuite's own detail; finishedWithErrors -> fail, or the final status;
- the wait in the triggerer (``status_trigger``: AsyncJobStatusTrigger with its adaptive polling,
  and Airflow's deferral timeout as a backstop) and the same polling loop run in a worker
  (``wait_in_worker``);
- the reading of the trigger's event (``read_event``).
"""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_asyncjob.errors import task_exception
from airflow_asyncjob.hooks.dispatch import JobHook, is_rest
from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.faults import ConfigurationError, NetSuiteError, excerpt
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncStatus
from airflow_asyncjob.netsuite.polling import check_bounds, check_seconds, next_poll_interval
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.triggers.async_job_status import AsyncJobStatusTrigger, JobEvent, retry_values

ON_FINISHED_WITH_ERRORS = ("fail", "succeed", "branch")
#: Airflow's own deferral timeout trails the trigger's end time by this many seconds: a backstop
#: that fails the task even when no triggerer runs.
DEFERRAL_GRACE = 300.0


def final_status(
    hook: JobHook, status: AsyncJobStatus, on_finished_with_errors: str
) -> dict[str, Any] | None:
    """The outcome rule: what a status does to the task.

    Returns:
        None while the job runs (pending, processing, retry); else the final status for XCom,
        ``AsyncJobStatus.to_dict()``: ``{"job_id", "status", "percent_completed" (percent),
        "est_remaining_duration" (seconds)}``.

    Raises:
        AirflowFailException: ``failed`` (naming the job id and NetSuite's detail from
            getAsyncResult page 1, which costs one of the job's 20 calls), or
            ``finishedWithErrors`` with ``on_finished_with_errors="fail"``.
    """
    if not status.status.is_terminal:
        return None
    if status.status is AsyncStatus.FAILED:
        raise AirflowFailException(failure_message(hook, status))
    if status.status is AsyncStatus.FINISHED_WITH_ERRORS and on_finished_with_errors == "fail":
        if is_rest(hook):
            raise AirflowFailException(
                f"NetSuite REST job {status.job_id} finished with errors: some of its tasks failed. Read "
                "them with RestAsyncResultOperator, or set on_finished_with_errors='succeed' or 'branch'."
            )
        raise AirflowFailException(
            f"NetSuite job {status.job_id} finished with errors: some records failed. "
            "Read them with getAsyncResult, or set on_finished_with_errors='succeed' or 'branch'."
        )
    return status.to_dict()


def failure_message(hook: JobHook, status: AsyncJobStatus) -> str:
    """``NetSuite job <id> failed.`` with NetSuite's distinct errors from getAsyncResult page 1
    (at most five), or why there is no detail. For a REST job: the distinct ``o:errorCode:
    detail`` of its failed tasks' error bodies (at most five)."""
    message = f"NetSuite job {status.job_id} failed."
    if not isinstance(hook, SoapAsyncJobHook):  # a RestAsyncJobHook
        try:
            lines = hook.failure_details(status.job_id)
        except NetSuiteError as error:
            return f"{message} Its tasks' results gave no detail: {error}"
        return f"{message} NetSuite says: {'; '.join(lines)}" if lines else message
    try:
        page = hook.get_async_result(status.job_id, 1)
    except NetSuiteError as error:
        return f"{message} getAsyncResult gave no detail: {error}"
    details = list(page.details) + [d for r in page.failed_records for d in r.details]
    # NetSuite repeats a job-level error on each record: show each distinct one once.
    distinct = list(dict.fromkeys(f"{d.code or d.type}: {d.message or ''}".strip() for d in details))
    if not distinct:
        return message
    more = f" (+{len(distinct) - 5} more)" if len(distinct) > 5 else ""
    return f"{message} NetSuite says: {'; '.join(distinct[:5])}{more}"


def status_trigger(
    *,
    job_id: str,
    netsuite_conn_id: str,
    poke_interval: float,
    max_poll_interval: float,
    end_time: float,
    timeout: float,
    retry: RetryPolicy | None,
    last: AsyncJobStatus | None = None,
    rest_task_progress: bool = False,
) -> AsyncJobStatusTrigger:
    """The trigger that waits for ``job_id`` until ``end_time`` (Unix seconds), with the hook's
    per-request ``timeout`` (seconds) and retry policy as plain values.

    ``last`` is the status the caller has just seen (the sensor's poke, the submit's answer), or
    None: the trigger then first waits what that status calls for (``next_poll_interval``)
    instead of polling again at once. ``rest_task_progress``: read a REST job's tasks on every
    poll (see AsyncJobStatusSensor); ignored for a SOAP job.
    """
    first_poll_after = 0.0
    if last is not None:
        first_poll_after = next_poll_interval(
            now=0.0,
            percent_completed=last.percent_completed,
            est_remaining_duration=last.est_remaining_duration,
            previous=None,
            min_interval=float(poke_interval),
            max_interval=float(max_poll_interval),
        )
    return AsyncJobStatusTrigger(
        job_id=job_id,
        netsuite_conn_id=netsuite_conn_id,
        poke_interval=float(poke_interval),
        max_poll_interval=float(max_poll_interval),
        end_time=end_time,
        timeout=timeout,
        retry=retry_values(retry) if retry is not None else None,
        first_poll_after=first_poll_after,
        rest_task_progress=rest_task_progress,
    )


def check_rest_task_progress(where: str, value: Any) -> None:
    """The sensor's and the REST submit operator's ``rest_task_progress``, checked alike.

    Raises:
        ValueError: ``value`` is not True or False (``where`` names the task).
    """
    if not isinstance(value, bool):
        raise ValueError(f"{where}: rest_task_progress must be True or False, not {value!r}.")


def wait_times(
    where: str, poke_interval: Any, max_poll_interval: Any, timeout: Any
) -> tuple[float, float, float]:
    """A submit operator's wait times as ``(poke_interval, max_poll_interval, timeout)`` in
    seconds, each given as seconds or a timedelta (as Airflow's sensors take them); a missing
    ``max_poll_interval`` is 300 s, or ``poke_interval`` if that is longer.

    Raises:
        ValueError: ``"<where>: ..."`` naming the time that is not finite, out of order, more
            than ``polling.MAX_WAIT``, or (the timeout) not above 0.
    """
    poke, longest, seconds = (
        value.total_seconds() if isinstance(value, timedelta) else value
        for value in (poke_interval, max_poll_interval, timeout)
    )
    try:
        check_seconds("poke_interval", poke)
        if longest is not None:
            check_seconds("max_poll_interval", longest)
        longest = max(300.0, float(poke)) if longest is None else float(longest)
        check_bounds(float(poke), longest, names=("poke_interval", "max_poll_interval"))
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
            raise ConfigurationError(f"timeout must be positive finite seconds, not {timeout!r}.")
        # as the sensor: the end of a deferred wait must fit Airflow's database
        check_seconds("timeout", seconds)
    except ConfigurationError as error:
        raise ValueError(f"{where}: {error}") from None
    return float(poke), longest, float(seconds)


def deferral_timeout(seconds_left: float) -> timedelta:
    """Airflow's deferral timeout for a trigger that ends ``seconds_left`` from now."""
    return timedelta(seconds=seconds_left + DEFERRAL_GRACE)


def wait_in_worker(hook: JobHook, trigger: AsyncJobStatusTrigger) -> dict[str, Any]:
    """Run the trigger's polling loop in this worker (the same adaptive waits as in the
    triggerer) through ``hook``, and return its one event's payload (``JobEvent.to_payload()``).

    The connection is read with the sync API first, so the loop needs no async connection lookup.
    """
    hook.get_settings()

    async def wait() -> JobEvent:
        try:
            async with hook.get_async_conn() as client:
                return await trigger.wait(client)
        except NetSuiteError as error:  # the connection itself is unusable
            return JobEvent.failed(trigger.job_id, error)

    return asyncio.run(wait()).to_payload()


def read_event(event: Any, job_id: str, reader: str) -> JobEvent:
    """The trigger's event as a JobEvent whose status is terminal or TIMEOUT; ``reader`` names the
    task kind in the message about an unknown event (``"sensor"``, ``"operator"``).

    Raises:
        AirflowFailException: an event this package does not recognise (quoting it), or a
            permanent error event.
        NetSuiteError: a transient error event, rebuilt as the trigger saw it (class, code,
            hint, transient flag), so that the task's ``retries`` apply.
    """
    try:
        ended = JobEvent.from_payload(event)
    except ValueError as error:
        raise AirflowFailException(
            f"the trigger's event for job {job_id} is not one this {reader} reads ({error}): "
            f"{excerpt(repr(event))}"
        ) from None
    if ended.error is not None:
        raise task_exception(ended.error)
    return ended
