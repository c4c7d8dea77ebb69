"""The job journal: what a task learned about its NetSuite job, kept for the UI.

One JSON value per task instance, under the key ``netsuite_job``:

- in the worker (the sensor's pokes, the result operator's summary), in Airflow 3.3's
  task_state_store (``context["task_state_store"]``; the task's "Storage" tab shows it too; it
  survives reschedules and retries), or in XCom on Airflow 3.2, which has no task_state_store;
- in the triggerer (a deferred sensor's polls), in XCom: the triggerer offers triggers no
  task_state_store, and Airflow keeps a task's XCom while it is deferred and resumed.

The UI (``airflow_asyncjob.ui.store``) reads both and merges them with :func:`merge`.

The value (version 1)::

    {"v": 1, "role": "sensor" | "submit" | "result", "job_id", "job_ids": [...],
     "operation", "conn_id", "account_id", "endpoint_version",
     "mode": "poke" | "reschedule" | "deferred" | None, "try_number",
     "first_seen", "last_seen" (ISO 8601 UTC, of successful polls), "polls",
     "status", "percent_completed" (percent), "est_remaining_duration" (seconds or None),
     "history": [[unix seconds, percent], ...] (at most MAX_POINTS),
     "last_error": {"at", "type", "code", "message", "transient", "busy"} | None,
     "outcome": {"status", "branch": [task ids] | None, "at"} | None,
     "summary": GetAsyncResultOperator's summary without record payloads | None,
     "limiter": {"in_flight", "limit", "ceiling", "at"} | None, "updated"}

No secret goes in (no connection extra, no signature) and no record payload: counts, codes,
messages and record references only. Recording never fails a task: an error while writing is
logged as a warning and the task goes on.

The submit operator writes no journal: the UI reads its job ids from its XCom. A write at the end
of a submit would delay the task that waits for the job (the deployment test's sensor started
2.5 s later in one measurement) and would say nothing the XCom does not.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from airflow_asyncjob.netsuite.faults import ConcurrencyLimitError, NetSuiteError
from airflow_asyncjob.netsuite.models import AsyncJobStatus
from airflow_asyncjob.netsuite.settings import ClientSettings

KEY = "netsuite_job"
"""The task_state_store / XCom key of the journal."""
VERSION = 1
MAX_POINTS = 120
"""History points kept; older ones are thinned (every other one) when it is full."""
MAX_FAILURES = 10
"""Failures by code quoted from a result summary."""

log = logging.getLogger(__name__)


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, tz=timezone.utc).isoformat(timespec="seconds")


def new_entry(role: str, *, conn_id: str | None, job_id: str | None = None) -> dict[str, Any]:
    """An empty journal value for a task of ``role`` (``sensor``, ``submit`` or ``result``)."""
    return {
        "v": VERSION,
        "role": role,
        "job_id": job_id,
        "job_ids": [job_id] if job_id else [],
        "operation": None,
        "conn_id": conn_id,
        "account_id": None,
        "endpoint_version": None,
        "mode": None,
        "try_number": None,
        "first_seen": None,
        "last_seen": None,
        "polls": 0,
        "status": None,
        "percent_completed": None,
        "est_remaining_duration": None,
        "history": [],
        "last_error": None,
        "outcome": None,
        "summary": None,
        "limiter": None,
        "updated": None,
    }


def add_poll(entry: dict[str, Any], status: AsyncJobStatus, now: float | None = None) -> dict[str, Any]:
    """Add one successful checkAsyncStatus answer; returns ``entry`` (changed in place)."""
    now = time.time() if now is None else now
    if entry.get("job_id") != status.job_id:
        entry["job_id"] = status.job_id
        if status.job_id not in entry["job_ids"]:
            entry["job_ids"].append(status.job_id)
    entry["first_seen"] = entry.get("first_seen") or _iso(now)
    entry["last_seen"] = _iso(now)
    entry["polls"] = int(entry.get("polls") or 0) + 1
    entry["status"] = status.status.value
    entry["percent_completed"] = status.percent_completed
    # REST jobs give no percent: progress is tasks completed of tasks (the tab shows "3 of 5 tasks").
    tasks_total = getattr(status, "tasks_total", None)
    if tasks_total is not None:
        entry["tasks_completed"] = getattr(status, "tasks_completed", None)
        entry["tasks_total"] = tasks_total
    # A running REST job polled without its tasks: the tab says when the counts come.
    entry["tasks_unread"] = bool(getattr(status, "tasks_unread", False))
    remaining = status.est_remaining_duration
    entry["est_remaining_duration"] = remaining if math.isfinite(remaining) else None
    entry["last_error"] = None
    history = entry.setdefault("history", [])
    history.append([round(now, 1), status.percent_completed])
    if len(history) > MAX_POINTS:
        # Keep the first and last points; thin the rest so that the chart spans the whole wait.
        entry["history"] = history[:-1:2] + [history[-1]]
    entry["updated"] = _iso(now)
    return entry


def add_error(entry: dict[str, Any], error: NetSuiteError, now: float | None = None) -> dict[str, Any]:
    """Note a failed poll (the status shown becomes stale until the next good one)."""
    now = time.time() if now is None else now
    entry["last_error"] = {
        "at": _iso(now),
        "type": type(error).__name__,
        "code": getattr(error, "code", None),
        "message": str(error)[:500],
        "transient": bool(error.transient),
        "busy": isinstance(error, ConcurrencyLimitError),
    }
    entry["updated"] = _iso(now)
    return entry


def summary_for_ui(summary: Mapping[str, Any]) -> dict[str, Any]:
    """GetAsyncResultOperator's summary, reduced to counts, codes, messages and references."""
    keep = ("result_type", "pages", "records", "succeeded", "failed", "total_records", "output_path")
    out: dict[str, Any] = {k: summary.get(k) for k in keep}
    out["failures_by_code"] = dict(summary.get("failures_by_code") or {})
    fields = ("code", "message", "external_id", "internal_id", "type")
    out["first_failures"] = [
        {k: f.get(k) for k in fields} for f in list(summary.get("first_failures") or [])[:MAX_FAILURES]
    ]
    out["job_errors"] = [
        {"code": e.get("code"), "message": e.get("message")} for e in summary.get("job_errors") or []
    ]
    return out


def merge(first: Mapping[str, Any] | None, second: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """One journal from two (the worker's and the triggerer's): the later status wins,
    histories are joined in time order, poll counts add up."""
    if not first or not second:
        chosen = first or second
        return dict(chosen) if chosen else None
    older, newer = sorted((first, second), key=lambda e: str(e.get("updated") or ""))
    merged = {**older, **{k: v for k, v in newer.items() if v is not None}}
    points = {p[0]: p for p in [*(older.get("history") or []), *(newer.get("history") or [])]}
    merged["history"] = [points[t] for t in sorted(points)][-MAX_POINTS:]
    merged["polls"] = int(older.get("polls") or 0) + int(newer.get("polls") or 0)
    seen = [str(e["first_seen"]) for e in (older, newer) if e.get("first_seen")]
    merged["first_seen"] = min(seen) if seen else None
    last = [str(e["last_seen"]) for e in (older, newer) if e.get("last_seen")]
    merged["last_seen"] = max(last) if last else None
    merged["last_error"] = newer.get("last_error")
    merged["job_ids"] = list(dict.fromkeys([*(older.get("job_ids") or []), *(newer.get("job_ids") or [])]))
    for key in ("outcome", "summary", "limiter", "operation", "account_id", "endpoint_version"):
        merged[key] = newer.get(key) or older.get(key)
    return merged


def describe_settings(entry: dict[str, Any], settings: ClientSettings | None) -> None:
    """Copy the account id and endpoint version from a connection's settings (never its
    credentials' secrets)."""
    if settings is not None:
        entry["account_id"] = settings.credentials.account.passport
        # A REST connection has no endpoint version (RestSettings): the tab says "REST" instead.
        entry["endpoint_version"] = getattr(settings, "endpoint_version", None) or "REST"


def limiter_snapshot(client: Any, now: float | None = None) -> dict[str, Any] | None:
    """The account's shared in-flight limit as the client sees it, or None if it has none."""
    limiter = getattr(getattr(client, "channel", None), "limiter", None)
    if limiter is None:
        return None
    now = time.time() if now is None else now
    return {
        "in_flight": int(getattr(limiter, "in_flight", 0)),
        "limit": int(getattr(limiter, "limit", 0)),
        "ceiling": int(getattr(limiter, "ceiling", 0)),
        "at": _iso(now),
    }


# -- the worker side -------------------------------------------------------------------------


class _Store:
    """task_state_store when the context has one (Airflow 3.3), else the task's XCom."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.state = context.get("task_state_store")
        self.ti = context["ti"]

    def get(self) -> dict[str, Any] | None:
        if self.state is not None:
            value = self.state.get(KEY)
        else:
            value = self.ti.xcom_pull(task_ids=self.ti.task_id, key=KEY, map_indexes=self.ti.map_index)
        return dict(value) if isinstance(value, Mapping) and value.get("v") == VERSION else None

    def set(self, value: dict[str, Any]) -> None:
        if self.state is not None:
            self.state.set(KEY, value)
        else:
            self.ti.xcom_push(key=KEY, value=value)


def _task_entry(
    store: _Store, context: Mapping[str, Any], task: Any, role: str, read: bool = True
) -> dict[str, Any]:
    ti = context["ti"]
    entry = (store.get() if read else None) or new_entry(
        role, conn_id=getattr(task, "netsuite_conn_id", None)
    )
    entry["role"] = role
    entry["try_number"] = int(getattr(ti, "try_number", 0) or 0)
    entry["conn_id"] = getattr(task, "netsuite_conn_id", entry.get("conn_id"))
    hook = task.__dict__.get("hook")  # the cached hook, if the task built one: never build one here
    describe_settings(entry, getattr(hook, "settings_read", None))
    return entry


def _write(context: Mapping[str, Any], task: Any, role: str, change: Any) -> None:
    try:
        store = _Store(context)
        entry = _task_entry(store, context, task, role)
        change(entry)
        store.set(entry)
    except Exception as error:  # the UI's record must never fail the task
        log.warning("Could not record the NetSuite job for the UI (%s: %s)", type(error).__name__, error)


def record_poll(context: Mapping[str, Any], sensor: Any, status: AsyncJobStatus) -> None:
    """After a sensor's successful poke (in the worker): add the status to the journal."""

    def change(entry: dict[str, Any]) -> None:
        entry["mode"] = "deferred" if getattr(sensor, "deferrable", False) else getattr(sensor, "mode", None)
        add_poll(entry, status)

    _write(context, sensor, "sensor", change)


def record_error(context: Mapping[str, Any], task: Any, error: NetSuiteError, role: str = "sensor") -> None:
    """After a failed poll or call (in the worker): note the error."""
    _write(context, task, role, lambda entry: add_error(entry, error))


def record_outcome(context: Mapping[str, Any], sensor: Any, final: Any, branch: Any = None) -> None:
    """When a sensor ends on a terminal status: the outcome and the branch taken, if any."""

    _write(context, sensor, "sensor", lambda entry: add_outcome(entry, final, branch))


def add_outcome(
    entry: dict[str, Any], final: Any, branch: Any = None, now: float | None = None
) -> dict[str, Any]:
    """Add the sensor's final status (its XCom value) and the branch taken; returns ``entry``.

    A REST job's task counts come from the final status too: the worker's entry otherwise keeps
    the counts of its first poke, and, being the newest, would win the merge with the
    triggerer's (an ended job shown "1 of 6 tasks")."""
    now = time.time() if now is None else now
    if isinstance(final, Mapping):
        entry["job_id"] = entry.get("job_id") or final.get("job_id")
        entry["status"] = final.get("status") or entry.get("status")
        entry["percent_completed"] = final.get("percent_completed", entry.get("percent_completed"))
        entry["est_remaining_duration"] = final.get("est_remaining_duration")
        if final.get("tasks_total") is not None:
            entry["tasks_completed"] = final.get("tasks_completed")
            entry["tasks_total"] = final["tasks_total"]
        entry["tasks_unread"] = False
    entry["outcome"] = {
        "status": entry.get("status"),
        "branch": list(branch) if branch else None,
        "at": _iso(now),
    }
    entry["updated"] = _iso(now)
    return entry


def record_summary(context: Mapping[str, Any], operator: Any, summary: Mapping[str, Any]) -> None:
    """After GetAsyncResultOperator read every page: the summary (no record payloads)."""

    def change(entry: dict[str, Any]) -> None:
        entry["job_id"] = summary.get("job_id") or entry.get("job_id")
        if entry["job_id"] and entry["job_id"] not in entry["job_ids"]:
            entry["job_ids"].append(entry["job_id"])
        entry["summary"] = summary_for_ui(summary)
        entry["updated"] = _iso(time.time())

    _write(context, operator, "result", change)


# -- the triggerer side ----------------------------------------------------------------------


class TriggerJournal:
    """A deferred sensor's polls, written to the task's XCom from the triggerer.

    Args:
        trigger: the running trigger; its ``task_instance`` (set by the triggerer) names the
            task. Without one (a trigger run outside a triggerer), nothing is written.
        client: the async protocol client (for the account id and the shared limiter).
    """

    def __init__(self, trigger: Any, client: Any) -> None:
        self.ti = getattr(trigger, "task_instance", None)
        self.client = client
        self.entry = new_entry("sensor", conn_id=getattr(trigger, "netsuite_conn_id", None))
        self.entry["mode"] = "deferred"
        describe_settings(self.entry, getattr(client, "settings", None))
        self.enabled = all(
            getattr(self.ti, name, None) is not None for name in ("dag_id", "run_id", "task_id")
        )

    async def poll(self, status: AsyncJobStatus) -> None:
        """Add a successful poll and write the journal."""
        add_poll(self.entry, status)
        await self._write()

    async def error(self, error: NetSuiteError) -> None:
        """Note a failed poll and write the journal."""
        add_error(self.entry, error)
        await self._write()

    async def _write(self) -> None:
        if not self.enabled or self.ti is None:
            return
        self.entry["limiter"] = limiter_snapshot(self.client)
        self.entry["try_number"] = getattr(self.ti, "try_number", None)
        try:
            from airflow.sdk.execution_time.xcom import XCom
            from asgiref.sync import sync_to_async  # Airflow's own dependency

            map_index = getattr(self.ti, "map_index", -1)
            # XCom.aset is Airflow 3.3's; on 3.2 the blocking XCom.set runs in a thread, whose call to
            # the supervisor asgiref hands back to this event loop (as for a sync hook in a trigger).
            aset = getattr(XCom, "aset", None) or sync_to_async(XCom.set)
            await aset(
                KEY,
                self.entry,
                dag_id=self.ti.dag_id,
                task_id=self.ti.task_id,
                run_id=self.ti.run_id,
                map_index=-1 if map_index is None else map_index,
            )
        except Exception as error:  # the UI's record must never end the wait
            self.enabled = False
            log.warning("Could not record the NetSuite job for the UI (%s: %s)", type(error).__name__, error)
