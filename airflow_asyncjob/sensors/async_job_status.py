"""AsyncJobStatusSensor: wait for a NetSuite asynchronous job and act on how it ended."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, SkipMixin
from airflow.sdk.exceptions import AirflowFailException

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.links.async_job import AsyncJobLink
from airflow_asyncjob.netsuite.faults import NetSuiteError
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncStatus

if TYPE_CHECKING:
    from airflow.sdk import Context

ON_FINISHED_WITH_ERRORS = ("fail", "succeed", "branch")


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

    Args:
        job_id: NetSuite's job id (templated, e.g. ``"{{ ti.xcom_pull(task_ids='submit') }}"``).
        netsuite_conn_id: the ``netsuite_soap`` connection id.
        on_finished_with_errors: ``"fail"``, ``"succeed"`` or ``"branch"``.
        follow_task_ids_if_finished: task ids to follow after ``finished`` (branch mode).
        follow_task_ids_if_finished_with_errors: task ids to follow after ``finishedWithErrors``
            (branch mode), typically a task that reads getAsyncResult.
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
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
            if error.transient:
                raise
            raise AirflowFailException(str(error)) from error
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
        final = super().execute(context)
        if self.on_finished_with_errors == "branch" and final:
            follow = (
                self.follow_task_ids_if_finished_with_errors
                if final["status"] == AsyncStatus.FINISHED_WITH_ERRORS.value
                else self.follow_task_ids_if_finished
            )
            # Skipping ends execute with an exception, so the return value is pushed first.
            context["ti"].xcom_push(key="return_value", value=final)
            self.log.info("Job %s ended %s: following %s", final["job_id"], final["status"], follow)
            self.skip_all_except(context["ti"], follow)
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
