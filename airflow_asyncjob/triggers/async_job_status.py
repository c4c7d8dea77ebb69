"""AsyncJobStatusTrigger: wait for a NetSuite async job in the triggerer, not in a worker slot."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.faults import ConcurrencyLimitError, NetSuiteError
from airflow_asyncjob.netsuite.models import AsyncJobStatus
from airflow_asyncjob.netsuite.polling import PollSample, check_bounds, next_poll_interval
from airflow_asyncjob.ui.journal import TriggerJournal  # the NetSuite job tab's record of each poll

#: Event ``status`` values besides the terminal job statuses (finished, finishedWithErrors, failed).
ERROR = "error"
TIMEOUT = "timeout"
#: Polls in a row that may fail transiently, each after the client's own retries, before the
#: trigger gives up with a transient error event.
MAX_FAILED_POLLS = 3


class AsyncJobStatusTrigger(BaseTrigger):
    """Poll checkAsyncStatus asynchronously until the job ends; yield exactly one TriggerEvent.

    pending, processing and retry keep it polling (schema type AsyncStatusType). The wait between
    polls adapts to NetSuite's estRemainingDuration and the progress seen, within
    ``[poke_interval, max_poll_interval]`` (see ``airflow_asyncjob.netsuite.polling``).

    All triggers of one account in one triggerer share one connection pool and one AIMD limit on
    in-flight requests (the connection's ``max_in_flight``, default 4). A concurrency fault
    (WS_REQUEST_BLOCKED, WS_CONCUR_SESSION_DISALLWD) steps the limit down and the poll is tried
    again later, however long the account stays busy (``end_time`` still applies): it never
    ends the trigger. Any other transient failure that outlives the client's retries (maintenance, 5xx,
    resets, time-outs) is logged and the job polled again after a wait that doubles with each
    failure in a row, within ``[poke_interval, max_poll_interval]``: one unlucky poll does not
    fail the task while its job runs on in NetSuite. Only MAX_FAILED_POLLS such polls in a row
    end the wait, with a transient error event.

    The event payload, a dict:

    - ``{"status": "finished" | "finishedWithErrors" | "failed", "job_id", "job": {...}}``, where
      ``job`` is ``AsyncJobStatus.to_dict()``;
    - ``{"status": "error", "job_id", "error_type", "message", "transient", "code"}``: a
      permanent error, or a transient one on MAX_FAILED_POLLS polls in a row (the message
      carries NetSuite's fault code and a hint, no secret);
    - ``{"status": "timeout", "job_id", "message", "job"}``: ``end_time`` passed first; ``job`` is
      the last status seen, or None; the message names the last error if the last poll failed.

    Args:
        job_id: NetSuite's job id.
        netsuite_conn_id: the ``netsuite_soap`` connection, read with Airflow's async API in ``run``.
        poke_interval: seconds; the shortest wait between polls (> 0).
        max_poll_interval: seconds; the longest wait between polls (>= poke_interval).
        end_time: Unix time in seconds after which it yields a timeout event, or None for never.
        timeout: seconds allowed for one HTTP request.

    Raises:
        ConfigurationError: bounds that are not positive finite seconds, or in the wrong order.
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
    ) -> None:
        super().__init__()
        check_bounds(poke_interval, max_poll_interval)
        if end_time is not None and not math.isfinite(end_time):
            raise ValueError(f"end_time must be a finite Unix time in seconds or None, got {end_time!r}.")
        self.job_id = job_id
        self.netsuite_conn_id = netsuite_conn_id
        self.poke_interval = float(poke_interval)
        self.max_poll_interval = float(max_poll_interval)
        self.end_time = end_time
        self.timeout = float(timeout)

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
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until a terminal status, an incurable error or ``end_time``; yield one event."""
        hook = SoapAsyncJobHook(netsuite_conn_id=self.netsuite_conn_id, timeout=self.timeout)
        try:
            async with hook.async_client() as client:
                payload = await self._wait(client, TriggerJournal(self, client))
        except NetSuiteError as error:  # the connection itself is unusable
            payload = self._error(error)
        yield TriggerEvent(payload)

    async def _wait(self, client: Any, journal: TriggerJournal) -> dict[str, Any]:
        clock = asyncio.get_running_loop().time
        previous: PollSample | None = None
        last: AsyncJobStatus | None = None
        failure: NetSuiteError | None = None
        failures = 0  # transient failures in a row
        while True:
            try:
                last = await client.check_async_status(self.job_id)
            except NetSuiteError as error:
                failure = error
                await journal.error(error)  # UI: the NetSuite job tab
                # A busy account is no reason to fail a task: concurrency faults never count.
                if not isinstance(error, ConcurrencyLimitError):
                    failures += 1
                if not error.transient or failures >= MAX_FAILED_POLLS:
                    return self._error(error)
                base = previous.interval if previous else self.poke_interval
                interval = min(self.max_poll_interval, base * 2 ** min(max(failures, 1) - 1, 32))
                self.log.warning("%s; polling again in %.1f s.", error, interval)
            else:
                failure, failures = None, 0
                await journal.poll(last)  # UI: the NetSuite job tab
                self.log.info("NetSuite async %s", last.describe())
                if last.status.is_terminal:
                    return {"status": last.status.value, "job_id": last.job_id, "job": last.to_dict()}
                now = clock()
                interval = next_poll_interval(
                    now=now,
                    percent_completed=last.percent_completed,
                    est_remaining_duration=last.est_remaining_duration,
                    previous=previous,
                    min_interval=self.poke_interval,
                    max_interval=self.max_poll_interval,
                )
                previous = PollSample(now, last.percent_completed, interval)
            if self.end_time is not None:
                left = self.end_time - time.time()
                if left <= 0:
                    message = f"NetSuite job {self.job_id} had not ended when the sensor's timeout ran out."
                    if failure is not None:
                        message += f" The last poll failed: {failure}"
                    return {
                        "status": TIMEOUT,
                        "job_id": self.job_id,
                        "message": message,
                        "job": last.to_dict() if last else None,
                    }
                interval = min(interval, left)
            await asyncio.sleep(interval)

    def _error(self, error: NetSuiteError) -> dict[str, Any]:
        return {
            "status": ERROR,
            "job_id": self.job_id,
            "error_type": type(error).__name__,
            "message": str(error),
            "transient": error.transient,
            "code": getattr(error, "code", None),
        }
