"""AsyncJobStatusSensor: wait for a NetSuite asynchronous job and act on how it ended."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, SkipMixin
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, AirflowSkipException

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.links.async_job import AsyncJobLink
from airflow_asyncjob.netsuite.faults import NetSuiteError, excerpt
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncStatus
from airflow_asyncjob.netsuite.polling import check_bounds
from airflow_asyncjob.triggers.async_job_status import ERROR, TIMEOUT, AsyncJobStatusTrigger
from airflow_asyncjob.ui import journal  # the NetSuite job tab's record of each poll

try:
    from airflow.sdk.configuration import conf
except ImportError:  # Airflow before 3.1
    from airflow.configuration import conf

if TYPE_CHECKING:
    from airflow.sdk import Context

ON_FINISHED_WITH_ERRORS = ("fail", "succeed", "branch")
TERMINAL_STATUSES = frozenset(status.value for status in AsyncStatus if status.is_terminal)
#: Airflow's own deferral timeout trails the trigger's end time by this many seconds: a backstop
#: that fails the task even when no triggerer runs.
DEFERRAL_GRACE = 300.0


class AsyncJobStatusSensor(BaseSensorOperator, SkipMixin):
    """Poll ``checkAsyncStatus`` until a NetSuite async job ends.

    Statuses (schema type AsyncStatusType; Help Center "checkAsyncStatus"):

    - ``pending``, ``processing``, ``retry``: not done, poke again.
    - ``finished``: done. The XCom return value is the final status:
      ``{"job_id", "status", "percent_completed" (percent), "est_remaining_duration" (seconds)}``.
    - ``failed``: the task fails without retry (AirflowFailException), naming the job id and
      NetSuite's own detail from getAsyncResult page 1 where it gives one.
    - ``finishedWithErrors`` (some records failed): ``on_finished_with_errors`` decides:
      ``"fail"`` (default) fails without retry; ``"succeed"`` ends as for finished;
      ``"branch"`` follows ``follow_task_ids_if_finished`` after finished and
      ``follow_task_ids_if_finished_with_errors`` after finishedWithErrors, and skips the other
      direct downstream tasks (as Airflow's branch operators do).
    - any other value: the task fails, naming it.

    Each poke logs one line: job id, status, percent completed, estimated seconds remaining.
    The task's "NetSuite UI" extra link opens the account in NetSuite (see AsyncJobLink).
    Nothing is kept between pokes, so ``mode="reschedule"`` works. A permanent NetSuite error
    (bad credentials, unknown job id, bad configuration) fails the task without retry; a
    transient one that outlived the hook's retries fails the try, so the task's ``retries`` apply.

    With ``deferrable=True`` the sensor pokes once and, if the job is still running, hands the
    wait to AsyncJobStatusTrigger in the triggerer (no worker slot is held) with the time left of
    ``timeout``. The event comes back to ``execute_complete``, which decides exactly as ``poke``
    does. There the wait adapts: the next poll comes after half of the seconds NetSuite's
    estRemainingDuration or the progress seen says are left (the smaller), or after twice the
    last wait when neither is usable, always within ``[poke_interval, max_poll_interval]``.
    Running out of ``timeout`` fails the task without retry (AirflowSensorTimeout), or skips it
    with ``soft_fail=True``. An event the sensor does not recognise fails the task, quoting it.

    Args:
        job_id: NetSuite's job id (templated, e.g. ``"{{ ti.xcom_pull(task_ids='submit') }}"``).
        netsuite_conn_id: the ``netsuite_soap`` connection id.
        on_finished_with_errors: ``"fail"``, ``"succeed"`` or ``"branch"``.
        follow_task_ids_if_finished: task ids to follow after ``finished`` (branch mode).
        follow_task_ids_if_finished_with_errors: task ids to follow after ``finishedWithErrors``
            (branch mode), typically a task that reads getAsyncResult.
        deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
        max_poll_interval: seconds; the longest wait between polls in deferrable mode (default
            300, or ``poke_interval`` if that is longer).
        **kwargs: every BaseSensorOperator option: ``poke_interval`` (seconds), ``timeout``
            (seconds), ``mode`` (``"poke"`` or ``"reschedule"``), ``soft_fail``,
            ``exponential_backoff``, ``max_wait``.
    """

    template_fields: Sequence[str] = ("job_id", "netsuite_conn_id")
    ui_color = "#d9ecf2"
    operator_extra_links = (AsyncJobLink(),)

    def __init__(
        self,
        *,
        job_id: str,
        netsuite_conn_id: str = SoapAsyncJobHook.default_conn_name,
        on_finished_with_errors: str = "fail",
        follow_task_ids_if_finished: str | Sequence[str] | None = None,
        follow_task_ids_if_finished_with_errors: str | Sequence[str] | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        max_poll_interval: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.deferrable = deferrable
        self.max_poll_interval = (
            max(300.0, float(self.poke_interval)) if max_poll_interval is None else max_poll_interval
        )
        if deferrable:
            try:
                check_bounds(float(self.poke_interval), self.max_poll_interval)
            except NetSuiteError as error:
                raise ValueError(f"task {self.task_id!r}: {error}") from None
        if on_finished_with_errors not in ON_FINISHED_WITH_ERRORS:
            raise ValueError(
                f"on_finished_with_errors={on_finished_with_errors!r} in task {self.task_id!r}: "
                f"use one of {', '.join(map(repr, ON_FINISHED_WITH_ERRORS))}."
            )
        self.follow_task_ids_if_finished = _task_ids(
            "follow_task_ids_if_finished", follow_task_ids_if_finished
        )
        self.follow_task_ids_if_finished_with_errors = _task_ids(
            "follow_task_ids_if_finished_with_errors", follow_task_ids_if_finished_with_errors
        )
        branches = bool(self.follow_task_ids_if_finished and self.follow_task_ids_if_finished_with_errors)
        if on_finished_with_errors == "branch" and not branches:
            raise ValueError(
                f"task {self.task_id!r} branches on finishedWithErrors: give both "
                "follow_task_ids_if_finished and follow_task_ids_if_finished_with_errors."
            )
        if on_finished_with_errors != "branch" and (
            self.follow_task_ids_if_finished or self.follow_task_ids_if_finished_with_errors
        ):
            raise ValueError(
                f"task {self.task_id!r}: follow_task_ids_* are only used with "
                f"on_finished_with_errors='branch', not {on_finished_with_errors!r}."
            )
        self.job_id = job_id
        self.netsuite_conn_id = netsuite_conn_id
        self.on_finished_with_errors = on_finished_with_errors

    @cached_property
    def hook(self) -> SoapAsyncJobHook:
        return SoapAsyncJobHook(netsuite_conn_id=self.netsuite_conn_id)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One checkAsyncStatus call; see the class docstring for what each status does."""
        try:
            status = self.hook.check_async_status(self.job_id)
        except NetSuiteError as error:
            journal.record_error(context, self, error)  # UI: the NetSuite job tab
            if error.transient:
                raise
            raise AirflowFailException(str(error)) from error
        journal.record_poll(context, self, status)  # UI: the NetSuite job tab
        self.log.info("NetSuite async %s", status.describe())
        return self._decide(status)

    def _decide(self, status: AsyncJobStatus) -> bool | PokeReturnValue:
        if not status.status.is_terminal:
            return False
        if status.status is AsyncStatus.FAILED:
            raise AirflowFailException(self._failure_message(status))
        if status.status is AsyncStatus.FINISHED_WITH_ERRORS and self.on_finished_with_errors == "fail":
            raise AirflowFailException(
                f"NetSuite job {status.job_id} finished with errors: some records failed. "
                "Read them with getAsyncResult, or set on_finished_with_errors='succeed' or 'branch'."
            )
        return PokeReturnValue(is_done=True, xcom_value=status.to_dict())

    def _failure_message(self, status: AsyncJobStatus) -> str:
        message = f"NetSuite job {status.job_id} failed."
        try:
            page = self.hook.get_async_result(status.job_id, 1)
        except NetSuiteError as error:
            return f"{message} getAsyncResult gave no detail: {error}"
        details = list(page.details) + [d for r in page.failed_records for d in r.details]
        # NetSuite repeats a job-level error on each record: show each distinct one once.
        distinct = list(dict.fromkeys(f"{d.code or d.type}: {d.message or ''}".strip() for d in details))
        if not distinct:
            return message
        more = f" (+{len(distinct) - 5} more)" if len(distinct) > 5 else ""
        return f"{message} NetSuite says: {'; '.join(distinct[:5])}{more}"

    def execute(self, context: Context) -> Any:
        if self.on_finished_with_errors == "branch":
            self._check_branch_targets()
        if self.deferrable:
            return self._finish(context, self._poke_then_defer(context))
        return self._finish(context, super().execute(context))

    def _poke_then_defer(self, context: Context) -> Any:
        """Poke once; return the XCom value if the job has ended, else defer with the time left."""
        started = time.monotonic()
        try:
            done = self.poke(context)
        except AirflowFailException as error:
            if self.soft_fail:
                raise AirflowSkipException(f"Skipping due to soft_fail: {error}") from error
            raise
        if isinstance(done, PokeReturnValue):
            return done.xcom_value
        left = max(0.0, float(self.timeout) - (time.monotonic() - started))
        self.defer(
            trigger=AsyncJobStatusTrigger(
                job_id=self.job_id,
                netsuite_conn_id=self.netsuite_conn_id,
                poke_interval=float(self.poke_interval),
                max_poll_interval=self.max_poll_interval,
                end_time=time.time() + left,
                timeout=self.hook.timeout,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=left + DEFERRAL_GRACE),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Decide on the trigger's event as ``poke`` decides on a status (see the class docstring)."""
        kind = event.get("status") if isinstance(event, dict) else None
        try:
            if kind in TERMINAL_STATUSES:
                status = AsyncJobStatus.from_dict(event["job"])  # type: ignore[index]
                self.log.info("NetSuite async %s", status.describe())
                done = self._decide(status)
                return self._finish(context, done.xcom_value if isinstance(done, PokeReturnValue) else None)
            if kind == TIMEOUT:
                message = str(event["message"])  # type: ignore[index]
                if event.get("job"):  # type: ignore[union-attr]
                    message += f" Last seen: {AsyncJobStatus.from_dict(event['job']).describe()}."  # type: ignore[index]
                if self.soft_fail:
                    raise AirflowSkipException(message)
                raise AirflowSensorTimeout(message)
            if kind == ERROR:
                message = str(event["message"])  # type: ignore[index]
                if event.get("transient"):  # type: ignore[union-attr]
                    raise NetSuiteError(message)  # not AirflowFailException: the task's retries apply
                raise AirflowFailException(message)
        except (KeyError, TypeError, ValueError) as error:
            raise AirflowFailException(
                f"the trigger's event for job {self.job_id} is malformed ({error!r}): {excerpt(repr(event))}"
            ) from None
        raise AirflowFailException(
            f"unrecognised trigger event for job {self.job_id}: {excerpt(repr(event))}"
        )

    def _finish(self, context: Context, final: Any) -> Any:
        """Branch on the final status in branch mode; return the XCom value."""
        if self.on_finished_with_errors == "branch" and final:
            follow = (
                self.follow_task_ids_if_finished_with_errors
                if final["status"] == AsyncStatus.FINISHED_WITH_ERRORS.value
                else self.follow_task_ids_if_finished
            )
            journal.record_outcome(context, self, final, follow)  # UI: the NetSuite job tab
            # Skipping ends execute with an exception, so the return value is pushed first.
            context["ti"].xcom_push(key="return_value", value=final)
            self.log.info("Job %s ended %s: following %s", final["job_id"], final["status"], follow)
            self.skip_all_except(context["ti"], follow)
        elif final:
            journal.record_outcome(context, self, final)  # UI: the NetSuite job tab
        return final

    def _check_branch_targets(self) -> None:
        """Fail before waiting, not hours later, when a branch target is not a direct downstream task."""
        downstream = self.downstream_task_ids
        wanted = set(self.follow_task_ids_if_finished) | set(self.follow_task_ids_if_finished_with_errors)
        unknown = sorted(wanted - downstream)
        if unknown:
            raise AirflowFailException(
                f"task {self.task_id!r} would branch to {unknown}, which are not its direct downstream "
                f"tasks ({sorted(downstream)}). Fix follow_task_ids_* or the DAG's dependencies."
            )


def _task_ids(name: str, task_ids: str | Sequence[str] | None) -> list[str]:
    if task_ids is None:
        return []
    if isinstance(task_ids, str):
        return [task_ids]
    if isinstance(task_ids, Sequence) and all(isinstance(t, str) for t in task_ids):
        return list(task_ids)
    raise TypeError(f"{name} must be a task id or a list of task ids, not {task_ids!r}.")
