"""AsyncJobStatusTrigger: wait for a NetSuite async job in the triggerer, not in a worker slot."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_asyncjob.hooks.dispatch import ajob_hook, is_rest
from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.async_client import AsyncNetSuiteClient
from airflow_asyncjob.netsuite.faults import ConcurrencyLimitError, ConfigurationError, NetSuiteError, excerpt
from airflow_asyncjob.netsuite.limiter import refused_poll_interval
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncStatus
from airflow_asyncjob.netsuite.polling import (
    PollSample,
    check_bounds,
    check_seconds,
    failed_poll_interval,
    next_poll,
)
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.ui.journal import TriggerJournal  # the NetSuite job tab's record of each poll

if TYPE_CHECKING:
    from airflow._shared.logging.types import Logger  # what LoggingMixin.log returns

    from airflow_asyncjob.netsuite.rest.client import AsyncRestClient

#: Event ``status`` values besides the terminal job statuses (finished, finishedWithErrors, failed).
ERROR = "error"
TIMEOUT = "timeout"
TERMINAL_STATUSES = frozenset(status.value for status in AsyncStatus if status.is_terminal)
#: Polls in a row that may fail transiently, each after the client's own retries, before the
#: trigger gives up with a transient error event.
MAX_FAILED_POLLS = 3


@dataclass(frozen=True)
class JobEvent:
    """The one event AsyncJobStatusTrigger yields, as the sensor's ``execute_complete`` reads it.

    One of three kinds, by ``status``:

    - a terminal job status (``finished``, ``finishedWithErrors``, ``failed``): ``job`` is the
      final status;
    - ``"error"`` (ERROR): ``error`` is the NetSuiteError that ended the wait, with its class,
      code, hint and transient flag;
    - ``"timeout"`` (TIMEOUT): ``message`` says the end time passed (and names the last error
      if the last poll failed); ``job`` is the last status seen, or None.

    Build one with ``ended``, ``failed`` or ``timed_out``; ``from_payload`` checks a payload.
    """

    status: str
    job_id: str
    job: AsyncJobStatus | None = None
    error: NetSuiteError | None = None
    message: str | None = None

    @classmethod
    def ended(cls, job: AsyncJobStatus) -> JobEvent:
        """The event for a job that reached a terminal status."""
        return cls(status=job.status.value, job_id=job.job_id, job=job)

    @classmethod
    def failed(cls, job_id: str, error: NetSuiteError) -> JobEvent:
        """The event for an error that ended the wait."""
        return cls(status=ERROR, job_id=job_id, error=error, message=str(error))

    @classmethod
    def timed_out(cls, job_id: str, message: str, last: AsyncJobStatus | None) -> JobEvent:
        """The event for an end time that passed before the job ended."""
        return cls(status=TIMEOUT, job_id=job_id, job=last, message=message)

    def to_payload(self) -> dict[str, Any]:
        """Plain JSON values for TriggerEvent; no secret (error messages never hold one).

        - ``{"status": "finished" | "finishedWithErrors" | "failed", "job_id", "job": {...}}``,
          where ``job`` is ``AsyncJobStatus.to_dict()``;
        - ``{"status": "error", "job_id", "error_type", "message", "transient", "code",
          "error": NetSuiteError.to_payload()}``: the flat keys say in brief what ``error``
          holds in full;
        - ``{"status": "timeout", "job_id", "message", "job": {...} or None}``.
        """
        payload: dict[str, Any] = {"status": self.status, "job_id": self.job_id}
        if self.error is not None:
            error = self.error.to_payload()
            payload.update({key: error[key] for key in ("error_type", "message", "transient", "code")})
            payload["error"] = error
            return payload
        if self.status == TIMEOUT:
            payload["message"] = self.message
        payload["job"] = self.job.to_dict() if self.job is not None else None
        return payload

    @classmethod
    def from_payload(cls, payload: Any) -> JobEvent:
        """The event ``to_payload`` gave (or an earlier version's error event, without ``error``).

        Raises:
            ValueError: not an event of this trigger, or one that lacks what its kind needs.
        """
        if not isinstance(payload, Mapping):
            raise ValueError(f"the event is a {type(payload).__name__}, not a mapping")
        status = payload.get("status")
        try:
            job_id = str(payload["job_id"])
            if status in TERMINAL_STATUSES:
                return cls.ended(AsyncJobStatus.from_dict(payload["job"]))
            if status == TIMEOUT:
                last = payload.get("job")
                return cls.timed_out(
                    job_id, str(payload["message"]), AsyncJobStatus.from_dict(last) if last else None
                )
            if status == ERROR:
                error = payload.get("error") or {
                    key: payload.get(key) for key in ("error_type", "message", "transient", "code")
                }
                return cls.failed(job_id, NetSuiteError.from_payload(error))
        except (KeyError, TypeError, ValueError, NetSuiteError) as error:
            raise ValueError(f"a {status!r} event that is malformed ({error!r})") from None
        raise ValueError(f"unrecognised event status {excerpt(repr(status))}")


class AsyncJobStatusTrigger(BaseTrigger):
    """Poll checkAsyncStatus asynchronously until the job ends; yield exactly one TriggerEvent.

    pending, processing and retry keep it polling (schema type AsyncStatusType). The wait between
    polls adapts to NetSuite's estRemainingDuration and the progress seen, within
    ``[poke_interval, max_poll_interval]`` (see ``airflow_asyncjob.netsuite.polling``).

    All triggers of one account in one triggerer share one connection pool and one AIMD limit on
    in-flight requests (the connection's ``max_in_flight``, default 4). A concurrency fault
    (WS_REQUEST_BLOCKED, WS_CONCUR_SESSION_DISALLWD) steps the limit down and comes straight
    back from the client; the poll is tried again after a jittered wait within
    ``[poke_interval, max_poll_interval]`` (``limiter.refused_poll_interval``), however long the
    account stays busy (``end_time`` still applies): it never ends the trigger. Any other
    transient failure that outlives the client's retries (maintenance, 5xx, resets, time-outs)
    is logged and the job polled again after a wait that doubles with each
    failure in a row, within ``[poke_interval, max_poll_interval]``: one unlucky poll does not
    fail the task while its job runs on in NetSuite. Only MAX_FAILED_POLLS such polls in a row
    end the wait, with a transient error event.

    The event is a JobEvent's payload (see ``JobEvent.to_payload``): the terminal status; an
    error (permanent, or transient on MAX_FAILED_POLLS polls in a row) with its class, code,
    hint and transient flag; or a timeout when ``end_time`` passes first.

    Args:
        job_id: NetSuite's job id.
        netsuite_conn_id: the ``netsuite_soap`` connection, read with Airflow's async API in ``run``;
            a ``netsuite_rest`` connection waits for a REST async job the same way (its status
            in the same shape: ``RestAsyncJobHook.check_async_status``).
        poke_interval: seconds; the shortest wait between polls (> 0).
        max_poll_interval: seconds; the longest wait between polls (>= poke_interval).
        end_time: Unix time in seconds after which it yields a timeout event, or None for never.
        timeout: seconds allowed for one HTTP request.
        retry: the client's retry policy for transient failures as plain values, the fields of
            ``RetryPolicy`` (``{"max_attempts": 5, "max_delay": 120.0, ...}``; any left out keep
            their defaults), or None for the defaults. The sensor passes its own.
        first_poll_after: seconds to wait before the first poll (>= 0; never past ``end_time``).
            A caller that has just seen the job's status (the sensor's poke, the submit's
            answer) passes the wait that status calls for, so that deferring costs no extra
            checkAsyncStatus call; 0 polls at once.
        rest_task_progress: for a REST job, read its task list and every task on each poll
            (2 + N requests a poll for N tasks instead of 1) so that each poll, the log line and
            the NetSuite job tab show "k of N tasks completed" while it runs; False (the
            default) reads them only on the poll that sees the job completed. Ignored for a
            SOAP job (checkAsyncStatus gives a percent and an estimate on every poll).

    Raises:
        ConfigurationError: bounds that are not positive finite seconds, or in the wrong order;
            a retry policy with unknown fields or values out of range; a ``first_poll_after``
            that is not a number of seconds between 0 and ``polling.MAX_WAIT``.
    """

    def __init__(
        self,
        *,
        job_id: str,
        netsuite_conn_id: str = SoapAsyncJobHook.default_conn_name,
        poke_interval: float = 60.0,
        max_poll_interval: float = 300.0,
        end_time: float | None = None,
        timeout: float = 60.0,
        retry: Mapping[str, Any] | None = None,
        first_poll_after: float = 0.0,
        rest_task_progress: bool = False,
    ) -> None:
        super().__init__()
        check_bounds(poke_interval, max_poll_interval, names=("poke_interval", "max_poll_interval"))
        if check_seconds("first_poll_after", first_poll_after) < 0:
            raise ConfigurationError(f"first_poll_after={first_poll_after!r} must be >= 0 seconds.")
        if end_time is not None and not math.isfinite(end_time):
            raise ValueError(f"end_time must be a finite Unix time in seconds or None, got {end_time!r}.")
        self.job_id = job_id
        self.netsuite_conn_id = netsuite_conn_id
        self.poke_interval = float(poke_interval)
        self.max_poll_interval = float(max_poll_interval)
        self.end_time = end_time
        self.timeout = float(timeout)
        self.retry = retry_values(retry_policy(retry)) if retry is not None else None
        self.first_poll_after = float(first_poll_after)
        self.rest_task_progress = bool(rest_task_progress)

    @property
    def log(self) -> Logger:
        """The class's logger, one for every trigger of the class (the same name, module and
        class, as LoggingMixin's per-instance one). The triggerer sends each line to its
        trigger's log by the context it runs in, not by the logger object, and 10,000 waiting
        triggers would otherwise hold 10,000 loggers for the garbage collector to walk."""
        return type(self).logger()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and plain arguments (no secret: the connection is read again in ``run``)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "netsuite_conn_id": self.netsuite_conn_id,
                "poke_interval": self.poke_interval,
                "max_poll_interval": self.max_poll_interval,
                "end_time": self.end_time,
                "timeout": self.timeout,
                "retry": self.retry,
                "first_poll_after": self.first_poll_after,
                "rest_task_progress": self.rest_task_progress,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until a terminal status, an incurable error or ``end_time``; yield one event."""
        try:
            # SoapAsyncJobHook, or RestAsyncJobHook for a netsuite_rest connection (hooks.dispatch):
            # the connection's type says which, so the kwargs stay the same for both.
            hook = await ajob_hook(
                self.netsuite_conn_id,
                timeout=self.timeout,
                retry=retry_policy(self.retry) if self.retry is not None else None,
            )
            async with hook.get_async_conn() as client:
                event = await self.wait(client, TriggerJournal(self, client))
        except NetSuiteError as error:  # the connection itself is unusable
            event = JobEvent.failed(self.job_id, error)
        yield TriggerEvent(event.to_payload())

    async def wait(
        self, client: AsyncNetSuiteClient | AsyncRestClient, journal: TriggerJournal | None = None
    ) -> JobEvent:
        """The polling loop ``run`` runs, through ``client``; returns the one event.

        AsyncJobSubmitOperator runs it in a worker when it waits there (``wait_for_completion``
        without ``deferrable``), so that both ways of waiting poll alike. ``journal`` records
        each poll for the NetSuite job tab (the triggerer's; a worker's wait records none).
        """
        loop = asyncio.get_running_loop()  # its clock; kept as the loop, not a bound method
        # Only the REST client reads tasks; the SOAP client's call takes no such argument.
        read_tasks = self.rest_task_progress and is_rest(client)
        previous: PollSample | None = None
        last: AsyncJobStatus | None = None
        failure: NetSuiteError | None = None
        failures = 0  # transient failures in a row
        refusals = 0  # concurrency faults in a row
        if self.first_poll_after > 0:  # the caller has just polled: no second poll at once
            wait = self.first_poll_after
            if self.end_time is not None:
                wait = min(wait, max(0.0, self.end_time - time.time()))
            await asyncio.sleep(wait)
        while True:
            try:
                last = await client.check_async_status(
                    self.job_id, retry_refused=False, **({"progress": True} if read_tasks else {})
                )
            except NetSuiteError as error:
                failure = error
                if journal is not None:  # UI: the NetSuite job tab
                    await journal.error(error)
                # A busy account is no reason to fail a task: concurrency faults never count.
                if isinstance(error, ConcurrencyLimitError):
                    refusals += 1
                    interval = refused_poll_interval(
                        refusals=refusals,
                        min_interval=self.poke_interval,
                        max_interval=self.max_poll_interval,
                    )
                    self.log.info("%s; polling again in %.1f s.", error.summary.rstrip("."), interval)
                else:
                    failures, refusals = failures + 1, 0
                    if not error.transient or failures >= MAX_FAILED_POLLS:
                        return JobEvent.failed(self.job_id, error)
                    interval = failed_poll_interval(
                        failures=failures,
                        previous_interval=previous.interval if previous else None,
                        min_interval=self.poke_interval,
                        max_interval=self.max_poll_interval,
                    )
                    self.log.warning("%s; polling again in %.1f s.", error, interval)
            else:
                now = loop.time()  # when the answer came: the journal's write below is part of the wait
                failure, failures, refusals = None, 0, 0
                if journal is not None:  # UI: the NetSuite job tab
                    await journal.poll(last)
                self.log.info("NetSuite async %s", last.describe())
                if last.status.is_terminal:
                    return JobEvent.ended(last)
                previous = next_poll(
                    now=now,
                    percent_completed=last.percent_completed,
                    est_remaining_duration=last.est_remaining_duration,
                    previous=previous,
                    min_interval=self.poke_interval,
                    max_interval=self.max_poll_interval,
                )
                interval = max(0.0, previous.interval - (loop.time() - now))
            if self.end_time is not None:
                left = self.end_time - time.time()
                if left <= 0:
                    message = f"NetSuite job {self.job_id} had not ended when the sensor's timeout ran out."
                    if failure is not None:
                        message += f" The last poll failed: {failure}"
                    return JobEvent.timed_out(self.job_id, message, last)
                interval = min(interval, left)
            await asyncio.sleep(interval)


def retry_policy(values: Mapping[str, Any]) -> RetryPolicy:
    """The RetryPolicy for plain values (the fields of RetryPolicy).

    Raises:
        ConfigurationError: an unknown field, or a value RetryPolicy refuses.
    """
    if not isinstance(values, Mapping):
        raise ConfigurationError(f"retry must be a dict of RetryPolicy fields or None, not {values!r}.")
    known = {field.name for field in dataclasses.fields(RetryPolicy)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigurationError(
            f"retry has unknown field(s) {', '.join(map(str, unknown))}: use {', '.join(sorted(known))}."
        )
    return RetryPolicy(**values)


def retry_values(policy: RetryPolicy) -> dict[str, Any]:
    """A RetryPolicy as plain values for a trigger's kwargs (inverse of ``retry_policy``)."""
    return dataclasses.asdict(policy)
