"""AsyncJobStatusSensor: wait for a NetSuite asynchronous job and act on how it ended."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, SkipMixin
from airflow.sdk.configuration import conf
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, AirflowSkipException

from airflow_asyncjob.errors import netsuite_error_rule, task_job_id
from airflow_asyncjob.hooks.dispatch import JobHook, is_rest, job_hook
from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.links.async_job import AsyncJobLink
from airflow_asyncjob.netsuite.faults import ConfigurationError, NetSuiteError
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncStatus
from airflow_asyncjob.netsuite.polling import check_bounds, check_seconds
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.triggers.async_job_status import TIMEOUT
from airflow_asyncjob.ui import journal  # the NetSuite job tab's record of each poll
from airflow_asyncjob.waiting import (
    ON_FINISHED_WITH_ERRORS,
    check_rest_task_progress,
    deferral_timeout,
    failure_message,
    final_status,
    read_event,
    status_trigger,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


class SensorTimingWarning(UserWarning):
    """A sensor's poke_interval or max_poll_interval was longer than its timeout and was lowered
    to it (warned when the DAG is parsed; Airflow shows DAG parsing warnings in its UI)."""


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
    does. There the wait adapts: the next poll comes after a quarter of the seconds NetSuite's
    estRemainingDuration or the progress seen says are left (the smaller; an estimate of 0.0 is
    none; an eighth when the progress seen since an answer above 0 percent is all there is), or
    after twice the last wait when neither is usable (``poke_interval`` when the job has just
    moved off 0 percent, or just reached 100 percent while running); from the second estimate from
    NetSuite in a row on, it may come closer to the expected end: ``poke_interval`` past the
    earliest end a margin allows, the margin learnt from how much successive estimates disagreed
    with the time elapsed between them (the more they disagree, the wider, down to the quarter
    rule); always within ``[poke_interval, max_poll_interval]``. The trigger's first poll
    comes after the wait the poke's status calls for, not at once. ``poke_interval`` is the
    knob that sets the detection delay (seconds from the job's end to the poll that sees it):
    about ``poke_interval`` at the 95th percentile when NetSuite's numbers carry information;
    ``max_poll_interval`` bounds it when they carry none. benchmarks/polling_budget.py
    measures the trade-off against calls per job (docs/performance.md, "Polling budget").
    Running out of ``timeout`` fails the task without retry (AirflowSensorTimeout), or skips it
    with ``soft_fail=True``. An event the sensor does not recognise fails the task, quoting it.

    Times are checked when the DAG is parsed: ``timeout``, ``poke_interval`` and
    ``max_poll_interval`` must be finite and at most ``polling.MAX_WAIT`` (365 days: NetSuite
    purges jobs after 30 days, and the end of a deferred wait must fit Airflow's database), else
    ValueError naming the argument and the task. A ``poke_interval`` or ``max_poll_interval``
    longer than a ``timeout`` above 0 is lowered to the timeout with a SensorTimingWarning, so
    the sensor never sleeps past its timeout (Airflow's poke loop sleeps a whole
    ``poke_interval``; the trigger's waits end at the timeout).

    Args:
        job_id: NetSuite's job id (templated, e.g. ``"{{ ti.xcom_pull(task_ids='submit') }}"``).
            Checked before any request as ``netsuite.job_ids.require_job_id`` checks it: empty,
            whitespace, ``None``, ``null``, ``[]`` or ``{}`` (a template that rendered a
            missing value) fails the task without retry, asking whether the upstream task
            returned the job id; any other printable string is sent as it is.
        netsuite_conn_id: the ``netsuite_soap`` connection id, or a ``netsuite_rest`` one for a
            REST async job (``Prefer: respond-async``): its job id is the last segment of the
            submit's Location; finished = every task succeeded, finishedWithErrors = some
            failed, failed = all failed; percent_completed = tasks completed of tasks.
        on_finished_with_errors: ``"fail"``, ``"succeed"`` or ``"branch"``.
        follow_task_ids_if_finished: task ids to follow after ``finished`` (branch mode).
        follow_task_ids_if_finished_with_errors: task ids to follow after ``finishedWithErrors``
            (branch mode), typically a task that reads getAsyncResult.
        deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
        max_poll_interval: seconds; the longest wait between polls in deferrable mode (default
            300, or ``poke_interval`` if that is longer, or ``timeout`` if that is shorter).
        retry: how the hook (and in deferrable mode the trigger) retries a transient failure
            within one poll (default: ``RetryPolicy()``, 5 attempts within 120 s).
        rest_task_progress: REST jobs only (ignored for a ``netsuite_soap`` connection, whose
            checkAsyncStatus gives a percent on every poll). False (the default): a poll of a
            running job is 1 request (GET the job) and says only pending or processing; the
            log line and the NetSuite job tab say "task counts come when the job completes",
            and the poll that sees it completed reads the task list and each task (2 + N
            requests for N tasks). True: every poll reads them, 2 + N requests a poll, so
            that the log line, the tab and the wait's pacing show "k of N tasks completed" while
            it runs. Each request counts against the account's concurrency limit, which SOAP,
            REST and RESTlets share (Oracle subsect_1559222360): a batch of 100 records polled
            every 10 s for 10 minutes costs 60 x 102 = 6,120 requests instead of 60 + 101.
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
        retry: RetryPolicy | None = None,
        rest_task_progress: bool = False,
        **kwargs: Any,
    ) -> None:
        where = f"{type(self).__name__}(task_id={kwargs.get('task_id')!r})"
        check_rest_task_progress(where, rest_task_progress)
        try:
            # Before Airflow's own checks, which overflow on these (timedelta(seconds=inf)).
            for name in ("poke_interval", "timeout"):
                if isinstance(kwargs.get(name), (int, float)):
                    check_seconds(name, kwargs[name])
            if max_poll_interval is not None:
                check_seconds("max_poll_interval", max_poll_interval)
            super().__init__(**kwargs)
            check_seconds("timeout", float(self.timeout))  # also when given as a timedelta
            check_seconds("poke_interval", float(self.poke_interval))
        except ConfigurationError as error:
            raise ValueError(f"{where}: {error}") from None
        self.deferrable = deferrable
        self.retry = retry
        self.poke_interval, self.max_poll_interval = self._bounded_intervals(where, max_poll_interval)
        if deferrable:
            try:
                check_bounds(
                    float(self.poke_interval),
                    self.max_poll_interval,
                    names=("poke_interval", "max_poll_interval"),
                )
            except ConfigurationError as error:
                raise ValueError(f"{where}: {error}") from None
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
        self.rest_task_progress = rest_task_progress

    def _bounded_intervals(self, where: str, max_poll_interval: float | None) -> tuple[float, float]:
        """poke_interval and max_poll_interval, each at most ``timeout`` (when it is above 0), so
        that no wait outlives the timeout by more than one poll; a value given longer than the
        timeout is lowered to it with a SensorTimingWarning."""
        timeout, poke_interval = float(self.timeout), float(self.poke_interval)
        if 0 < timeout < poke_interval:
            warnings.warn(
                f"{where}: poke_interval={poke_interval:g} s is longer than timeout={timeout:g} s, "
                f"so the sensor would sleep past its timeout; poking every {timeout:g} s instead.",
                SensorTimingWarning,
                stacklevel=3,
            )
            poke_interval = timeout
        if max_poll_interval is None:
            longest = max(300.0, poke_interval)
            return poke_interval, (min(longest, timeout) if timeout > 0 else longest)
        if 0 < timeout < max_poll_interval:
            warnings.warn(
                f"{where}: max_poll_interval={max_poll_interval:g} s is longer than timeout={timeout:g} s; "
                f"waiting at most {timeout:g} s between polls instead.",
                SensorTimingWarning,
                stacklevel=3,
            )
            return poke_interval, timeout
        return poke_interval, max_poll_interval

    @cached_property
    def hook(self) -> JobHook:
        """SoapAsyncJobHook, or RestAsyncJobHook for a ``netsuite_rest`` connection (``hooks.dispatch``)."""
        return job_hook(self.netsuite_conn_id, retry=self.retry)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One checkAsyncStatus call; see the class docstring for what each status does."""
        with netsuite_error_rule():
            try:
                status = self._check_status()
            except NetSuiteError as error:
                journal.record_error(context, self, error)  # UI: the NetSuite job tab
                raise
        journal.record_poll(context, self, status)  # UI: the NetSuite job tab
        self.log.info("NetSuite async %s", status.describe())
        self._last_status = status  # the deferred trigger's first wait starts from it
        return self._decide(status)

    def _check_status(self) -> AsyncJobStatus:
        hook = self.hook
        if self.rest_task_progress and is_rest(hook):
            return hook.check_async_status(self.job_id, progress=True)  # type: ignore[call-arg]
        return hook.check_async_status(self.job_id)

    def _decide(self, status: AsyncJobStatus) -> bool | PokeReturnValue:
        final = final_status(self.hook, status, self.on_finished_with_errors)
        return False if final is None else PokeReturnValue(is_done=True, xcom_value=final)

    def _failure_message(self, status: AsyncJobStatus) -> str:
        return failure_message(self.hook, status)

    def execute(self, context: Context) -> Any:
        # A template that rendered nothing ("None") fails here, before any request.
        self.job_id = task_job_id(self, self.job_id)
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
            trigger=status_trigger(
                job_id=self.job_id,
                netsuite_conn_id=self.netsuite_conn_id,
                poke_interval=float(self.poke_interval),
                max_poll_interval=self.max_poll_interval,
                end_time=time.time() + left,
                timeout=self.hook.timeout,
                retry=self.retry,
                last=getattr(self, "_last_status", None),
                rest_task_progress=self.rest_task_progress,
            ),
            method_name="execute_complete",
            timeout=deferral_timeout(left),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Decide on the trigger's event as ``poke`` decides on a status (see the class docstring).

        An error event ends the task by the same rule as ``poke`` (``airflow_asyncjob.errors``),
        with the error rebuilt as the trigger saw it: its class, code, hint and transient flag.
        """
        ended = read_event(event, self.job_id, "sensor")
        if ended.status == TIMEOUT:
            message = str(ended.message)
            if ended.job is not None:
                message += f" Last seen: {ended.job.describe()}."
            if self.soft_fail:
                raise AirflowSkipException(message)
            raise AirflowSensorTimeout(message)
        if ended.job is None:  # from_payload gives every terminal event its job
            raise AirflowFailException(f"the trigger's event for job {self.job_id} has no status.")
        self.log.info("NetSuite async %s", ended.job.describe())
        done = self._decide(ended.job)
        return self._finish(context, done.xcom_value if isinstance(done, PokeReturnValue) else None)

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
