"""Read what the tasks recorded about their NetSuite jobs, in the API server (no NetSuite call).

Sources, per task instance: the journal (``airflow_asyncjob.ui.journal``) in task_state_store
(Airflow 3.3) and in XCom (the triggerer's, and Airflow 3.2's), merged; the task's XCom
return value (the sensor's final status, the submit's job id, the result summary) for tasks
that ran before the plugin was installed; its rendered ``job_id`` while it has polled nothing.
Only these keys are read: no connection, no record payload (a submit's rendered ``records``
are never read).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from airflow_asyncjob.netsuite.models import TASKS_UNREAD_TEXT
from airflow_asyncjob.ui import journal

ROLES = {
    "AsyncJobStatusSensor": "sensor",
    "AsyncJobSubmitOperator": "submit",
    "GetAsyncResultOperator": "result",
}
"""Our task types (``TaskInstance.operator``) and the role each plays for a job."""
WAITING = ("running", "deferred", "up_for_reschedule")
"""Task states in which a sensor waits for its job."""
NOT_STARTED = (None, "scheduled", "queued", "none", "up_for_retry", "restarting")
TERMINAL_JOB = ("finished", "finishedWithErrors", "failed")
RECENT = timedelta(hours=24)
"""How far back the nav page's "recently ended" list reaches."""
RECENT_LIMIT = 50


class NotFound(LookupError):
    """No such task instance (a wrong URL, or a run that was deleted)."""


@dataclass(frozen=True)
class TaskKey:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1


def _models() -> tuple[Any, Any, Any, Any]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel

    state: Any = None
    try:
        from airflow.models.task_state_store import TaskStateStoreModel

        state = TaskStateStoreModel
    except ImportError:  # Airflow 3.2: no task_state_store; the journal is in XCom
        pass
    return TaskInstance, XComModel, state, RenderedTaskInstanceFields


def _loads(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _xcom_value(row: Any) -> Any:
    from airflow.models.xcom import XComModel

    try:
        return _loads(XComModel.deserialize_value(row))
    except Exception:
        return _loads(row.value)


def _journal(value: Any) -> dict[str, Any] | None:
    value = _loads(value)
    return value if isinstance(value, dict) and value.get("v") == journal.VERSION else None


def _state(ti: Any) -> str | None:
    state = ti.state
    return None if state is None else str(getattr(state, "value", state))


def remaining_text(seconds: Any) -> str | None:
    """NetSuite's estRemainingDuration in words: "about 4 min", "under a minute", None if unknown."""
    if seconds is None or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        return None
    if seconds < 60:
        return "under a minute" if seconds > 0 else "none"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"about {hours} h {minutes} min" if minutes else f"about {hours} h"


REST_NO_ESTIMATE = "not given by NetSuite REST"
"""The "estimated time remaining" of a running REST job: REST reports no estimate (its 0.0 is none)."""


def is_rest_entry(entry: Mapping[str, Any]) -> bool:
    """A journal entry (or the tab's job fields) of a REST job: it has task counts, or says they
    were not read."""
    return bool(entry.get("tasks_unread")) or isinstance(entry.get("tasks_total"), int)


def job_remaining_text(entry: Mapping[str, Any]) -> str | None:
    """What the tab and the nav page show as the time remaining: NetSuite's estRemainingDuration
    in words (``remaining_text``), or, for a running REST job, that REST gives none (not "none",
    which would read as "about to end"); None (the page says "unknown") for a running SOAP job
    whose estimate is 0.0, NetSuite's "no estimate" (its documented pending answer)."""
    seconds = entry.get("est_remaining_duration")
    if entry.get("status") not in TERMINAL_JOB:
        if is_rest_entry(entry):
            return REST_NO_ESTIMATE
        if isinstance(seconds, (int, float)) and seconds <= 0:
            return None
    return remaining_text(seconds)


def tasks_text(entry: Mapping[str, Any]) -> str | None:
    """A REST job's progress in words: ``"3 of 5 tasks"``; for a running job polled without its
    tasks (the sensor's ``rest_task_progress=False``), that the counts come when it completes;
    None for a SOAP job."""
    if entry.get("tasks_unread") and entry.get("status") not in TERMINAL_JOB:
        return TASKS_UNREAD_TEXT
    total = entry.get("tasks_total")
    if isinstance(total, int):
        return f"{entry.get('tasks_completed') or 0} of {total} tasks"
    return None


def _from_return_value(role: str, value: Any) -> dict[str, Any] | None:
    """A journal made from a task's XCom return value (tasks that recorded no journal)."""
    if role == "sensor" and isinstance(value, Mapping) and value.get("job_id"):
        entry = journal.new_entry("sensor", conn_id=None, job_id=str(value["job_id"]))
        entry.update(
            status=value.get("status"),
            percent_completed=value.get("percent_completed"),
            est_remaining_duration=value.get("est_remaining_duration"),
            outcome={"status": value.get("status"), "branch": None, "at": None},
        )
        return entry
    if role == "submit" and value:
        ids = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        entry = journal.new_entry("submit", conn_id=None, job_id=ids[-1])
        entry["job_ids"] = ids
        return entry
    if role == "result" and isinstance(value, Mapping) and value.get("job_id"):
        entry = journal.new_entry("result", conn_id=None, job_id=str(value["job_id"]))
        entry["summary"] = journal.summary_for_ui(value)
        return entry
    return None


def load_task(session: Session, key: TaskKey) -> dict[str, Any]:
    """What is known about one task instance's job.

    Returns:
        ``{"ti": {"state", "operator", "try_number", "start_date", "end_date"}, "role": "sensor" |
        "submit" | "result" | None, "journal": merged journal or None, "rendered_job_id"}``.

    Raises:
        NotFound: no such task instance.
    """
    TI, XCom, State, Rendered = _models()
    ti = session.scalar(
        select(TI).where(
            TI.dag_id == key.dag_id,
            TI.run_id == key.run_id,
            TI.task_id == key.task_id,
            TI.map_index == key.map_index,
        )
    )
    if ti is None:
        raise NotFound(key)
    role = ROLES.get(str(ti.operator or ""))
    where = (
        XCom.dag_id == key.dag_id,
        XCom.run_id == key.run_id,
        XCom.task_id == key.task_id,
        XCom.map_index == key.map_index,
    )
    xcoms = {row.key: row for row in session.scalars(select(XCom).where(*where, XCom.key.in_(_XCOM_KEYS)))}
    from_worker = None
    if State is not None:
        stored = session.scalar(
            select(State.value).where(
                State.dag_id == key.dag_id,
                State.run_id == key.run_id,
                State.task_id == key.task_id,
                State.map_index == key.map_index,
                State.key == journal.KEY,
            )
        )
        from_worker = _journal(stored)
    from_xcom = _journal(_xcom_value(xcoms[journal.KEY])) if journal.KEY in xcoms else None
    merged = journal.merge(from_worker, from_xcom)
    if merged is None and role and "return_value" in xcoms:
        merged = _from_return_value(role, _xcom_value(xcoms["return_value"]))
    if merged is not None and role is None:
        role = merged.get("role")
    if merged is not None and role == "sensor" and not merged.get("summary") and merged.get("job_id"):
        merged["summary"] = _result_summary(session, key, str(merged["job_id"]))
    rendered = session.scalar(
        select(Rendered.rendered_fields).where(
            Rendered.dag_id == key.dag_id,
            Rendered.run_id == key.run_id,
            Rendered.task_id == key.task_id,
            Rendered.map_index == key.map_index,
        )
    )
    rendered = _loads(rendered)
    rendered_job_id = rendered.get("job_id") if isinstance(rendered, dict) else None
    return {
        "ti": {
            "state": _state(ti),
            "operator": ti.operator,
            "try_number": ti.try_number,
            "start_date": ti.start_date.isoformat() if ti.start_date else None,
            "end_date": ti.end_date.isoformat() if ti.end_date else None,
        },
        "role": role,
        "journal": merged,
        "rendered_job_id": str(rendered_job_id) if rendered_job_id else None,
    }


_XCOM_KEYS = (journal.KEY, "return_value")


def _result_summary(session: Session, key: TaskKey, job_id: str) -> dict[str, Any] | None:
    """The summary a GetAsyncResultOperator of the same run recorded for ``job_id``, if one ran."""
    _, XCom, State, _ = _models()
    values: list[Any] = []
    if State is not None:
        values += session.scalars(
            select(State.value).where(
                State.dag_id == key.dag_id, State.run_id == key.run_id, State.key == journal.KEY
            )
        )
    for value in values:
        entry = _journal(value)
        if entry and entry.get("role") == "result" and entry.get("job_id") == job_id and entry.get("summary"):
            return dict(entry["summary"])
    return None


def load_jobs(
    session: Session, dag_ids: Iterable[str], now: datetime | None = None
) -> list[tuple[TaskKey, str | None, Any, dict[str, Any]]]:
    """Every journal of a task in ``dag_ids`` that waits, or ended within RECENT.

    Returns:
        ``[(key, task state, end_date, merged journal)]``, one per task instance.
    """
    TI, XCom, State, _ = _models()
    dag_ids = list(dag_ids)
    if not dag_ids:
        return []
    now = now or datetime.now(timezone.utc)
    alive = TI.state.in_(WAITING) | (TI.end_date >= now - RECENT) | TI.state.is_(None)
    found: dict[TaskKey, dict[str, Any]] = {}
    tis: dict[TaskKey, Any] = {}
    sources = []
    if State is not None:
        sources.append((State, State.value, lambda v: v))
    sources.append((XCom, XCom, _xcom_value))
    for model, column, decode in sources:
        join = and_(
            TI.dag_id == model.dag_id,
            TI.run_id == model.run_id,
            TI.task_id == model.task_id,
            TI.map_index == model.map_index,
        )
        query = (
            select(column, TI.dag_id, TI.run_id, TI.task_id, TI.map_index, TI.state, TI.end_date)
            .join(TI, join)
            .where(model.key == journal.KEY, TI.dag_id.in_(dag_ids), alive)
        )
        for value, dag_id, run_id, task_id, map_index, state, end_date in session.execute(query):
            entry = _journal(decode(value))
            if entry is None:
                continue
            key = TaskKey(dag_id, run_id, task_id, map_index)
            found[key] = journal.merge(found.get(key), entry) or entry
            tis[key] = (None if state is None else str(getattr(state, "value", state)), end_date)
    return [(key, tis[key][0], tis[key][1], entry) for key, entry in found.items()]
