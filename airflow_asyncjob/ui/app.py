"""The FastAPI app the plugin mounts on Airflow's API server at ``/netsuite-jobs``.

Routes (every one checks the user through Airflow's auth manager: the UI's ``_token`` cookie
or a Bearer token; none -> 401, an invalid one -> 403):

- ``GET /tab/{dag_id}/{run_id}/{task_id}?map_index=``: the "NetSuite job" tab (HTML); DAG-level
  read permission on task instances of ``dag_id``, else 403 and nothing about the task;
- ``GET /api/task/{dag_id}/{run_id}/{task_id}?map_index=``: the same as JSON (the tab's refresh);
- ``GET /jobs?account=&dag_id=&status=``: the "NetSuite jobs" page (HTML), only DAGs the user
  may read;
- ``GET /api/jobs?account=&dag_id=&status=``: the same as JSON.

The pages are server-rendered HTML with the data embedded as JSON and one small script that
draws it and refreshes it from the JSON route: no build step, no bundle, one request per view.
What is shown comes from what the tasks recorded (``store``); only the tab asks NetSuite, and
only when the record is older than ``[netsuite_ui] live_after_seconds`` while the task waits
(``live``). Nothing secret is read (no connection extra, no signature) and no record payload.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from airflow_asyncjob.netsuite.faults import ConcurrencyLimitError, InvalidJobIdError
from airflow_asyncjob.netsuite.models import TASKS_UNREAD_TEXT
from airflow_asyncjob.ui import store
from airflow_asyncjob.ui.app_prefix import PREFIX  # noqa: F401 (re-exported)
from airflow_asyncjob.ui.live import LiveStatus

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def _conf_float(key: str, default: float) -> float:
    from airflow.configuration import conf

    return conf.getfloat("netsuite_ui", key, fallback=default)


User = GetUserDep
"""The user, from the UI's ``_token`` cookie or a Bearer token (Airflow's own dependency)."""
ReadTaskInstances = Depends(requires_access_dag(method="GET", access_entity=DagAccessEntity.TASK_INSTANCE))
"""Airflow's own DAG-level check on the route's ``dag_id``: 403 when the user may not read it."""
MapIndex = Annotated[str | None, Query()]
"""``map_index``: a number, or ``{MAP_INDEX}`` as the UI leaves it for an unmapped task (-1)."""
Filter = Annotated[str | None, Query()]


def _readable_dags(user: Any) -> set[str]:
    return set(get_auth_manager().get_authorized_dag_ids(user=user, method="GET"))


def _map_index(value: str | None) -> int:
    """``{MAP_INDEX}`` is left as it is (or empty) by the UI for an unmapped task: that is -1."""
    try:
        return int(value) if value not in (None, "") else -1
    except ValueError:
        return -1


def ti_url(key: store.TaskKey) -> str:
    """The task instance's page in Airflow's UI."""
    dag_id, run_id, task_id = (quote(part, safe="") for part in (key.dag_id, key.run_id, key.task_id))
    return f"/dags/{dag_id}/runs/{run_id}/tasks/{task_id}" + (
        f"/mapped/{key.map_index}" if key.map_index >= 0 else ""
    )


def _notice(kind: str, message: str) -> dict[str, str]:
    return {"kind": kind, "message": message}


def _age(iso: str | None, now: float) -> float | None:
    if not iso:
        return None
    return max(0.0, now - datetime.fromisoformat(iso).timestamp())


def _job_fields(entry: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "job_id",
        "job_ids",
        "operation",
        "account_id",
        "endpoint_version",
        "conn_id",
        "mode",
        "status",
        "percent_completed",
        "tasks_completed",
        "tasks_total",
        "tasks_unread",
        "est_remaining_duration",
        "first_seen",
        "last_seen",
        "polls",
        "history",
        "outcome",
        "summary",
        "last_error",
        "try_number",
        "role",
    )
    job = {k: entry.get(k) for k in keep}
    _progress_texts(job)
    return job


def _progress_texts(job: dict[str, Any]) -> None:
    """The words the tab shows for the time remaining and (REST) the tasks completed."""
    job["est_remaining_text"] = store.job_remaining_text(job)
    job["tasks_text"] = store.tasks_text(job)


def _live_problem(error: Exception, job_id: str) -> str:
    if isinstance(error, InvalidJobIdError):
        return (
            f"NetSuite does not know job {job_id} (INVALID_JOB_ID): it was purged (NetSuite keeps async "
            "jobs for 30 days), the id is wrong, or the account was reset (an emulator that restarted)."
        )
    if isinstance(error, ConcurrencyLimitError):
        return f"The NetSuite account is busy (its concurrent request limit): {error}"
    return f"NetSuite could not be reached: {error}"


class NetSuiteJobsApp:
    """The app's state: the live-status cache (one per API server process) and the routes."""

    def __init__(self, live: LiveStatus | None = None) -> None:
        self.live = live or LiveStatus(refresh_seconds=_conf_float("live_after_seconds", 30.0))
        self.app = FastAPI(title="NetSuite jobs (airflow-provider-asyncjob)", docs_url=None, redoc_url=None)
        self.app.state.netsuite = self  # for tests and benchmarks: the live-status cache
        self._routes()

    # -- the tab -------------------------------------------------------------------------------

    async def task_view(self, user: Any, key: store.TaskKey) -> tuple[int, dict[str, Any]]:
        """(HTTP status, the tab's data) for one task instance; see docs/ui.md for the shape."""
        try:
            found = await run_in_threadpool(_load_task, key)
        except store.NotFound:
            message = (
                f"No task instance {key.task_id!r} (map index {key.map_index}) in run {key.run_id!r} of "
                f"DAG {key.dag_id!r}: the run was deleted, or the address is wrong."
            )
            return 404, {
                "task": _task_json(key, None),
                "job": None,
                "notice": _notice("unknown_task", message),
            }
        ti, entry = found["ti"], found["journal"]
        data: dict[str, Any] = {"task": {**_task_json(key, found), "role": found["role"]}, "notice": None}
        refresh = _conf_float("refresh_seconds", 10.0)
        data["refresh_seconds"] = refresh
        if found["role"] is None:
            data["job"] = None
            data["notice"] = _notice(
                "not_ours",
                f"Task {key.task_id!r} is a {ti['operator']}, not AsyncJobStatusSensor, "
                "AsyncJobSubmitOperator or GetAsyncResultOperator: it runs no NetSuite job.",
            )
            return 200, data
        state = ti["state"]
        if entry is None:
            data["job"] = None
            if state in store.NOT_STARTED:
                message = (
                    f"The task has not run yet (state: {state or 'none'}). Its job id is templated: it is "
                    "known once the task runs."
                )
                data["notice"] = _notice("not_started", message)
            elif found["rendered_job_id"]:
                data["job"] = _job_fields({"job_id": found["rendered_job_id"]})
                data["notice"] = _notice("no_poll", f"The task is {state} and has recorded no poll yet.")
            else:
                data["notice"] = _notice(
                    "no_job_id",
                    f"The task is {state} and never had a job id: its job_id rendered to nothing, or it "
                    "ended before asking NetSuite. Its log says why.",
                )
            return 200, data
        job = _job_fields(entry)
        data["job"] = job
        if state in store.NOT_STARTED:
            data["notice"] = _notice(
                "cleared",
                f"The task was cleared or waits for a retry (state: {state or 'none'}): what is shown is "
                f"what try {entry.get('try_number') or '?'} saw; the new try has not polled yet.",
            )
        data["freshness"] = await self._freshness(job, state)
        return 200, data

    async def _freshness(self, job: dict[str, Any], state: str | None) -> dict[str, Any]:
        """Where the status comes from and whether it is current; may make one live call."""
        now = time.time()
        age = _age(job.get("last_seen"), now)
        fresh: dict[str, Any] = {"source": "task", "age_seconds": age, "stale": False, "reason": None}
        terminal = job.get("status") in store.TERMINAL_JOB
        error = job.get("last_error")
        if error and not terminal:
            fresh["stale"] = True
            fresh["reason"] = (
                "The account is busy (concurrent request limit): "
                if error.get("busy")
                else "The last poll failed: "
            ) + str(error.get("message"))
        if terminal or state not in store.WAITING:
            if not terminal and state not in store.NOT_STARTED:
                fresh["stale"] = True
                fresh["reason"] = fresh["reason"] or f"Nobody watches the job any more (task {state})."
            return fresh
        live_after = self.live.refresh_seconds
        if live_after <= 0 or not job.get("job_id") or not job.get("conn_id"):
            return fresh
        if age is not None and age < live_after and not error:
            return fresh
        answer = await self.live.get(job["conn_id"], job["job_id"])
        if answer is None:
            return fresh
        if answer.error is not None:
            fresh["stale"] = True
            fresh["reason"] = _live_problem(answer.error, job["job_id"])
            fresh["live_checked_at"] = answer.fetched_at
            return fresh
        status = answer.status
        assert status is not None
        live_age = max(0.0, now - answer.fetched_at)
        if age is None or live_age < age:  # newer than what the task recorded
            job["status"] = status.status.value
            if getattr(status, "tasks_unread", False) and isinstance(job.get("tasks_total"), int):
                # A running REST job whose sensor reads its tasks (rest_task_progress): the live
                # check reads the job alone (one request), so the counts, the percent and the
                # chart stay those the sensor recorded; only the status is newer.
                fresh.update(source="live", age_seconds=live_age, stale=False, reason=None)
                return fresh
            job["percent_completed"] = status.percent_completed
            if getattr(status, "tasks_total", None) is not None:  # a REST job: tasks, not percent
                job["tasks_completed"] = getattr(status, "tasks_completed", None)
                job["tasks_total"] = status.tasks_total
            job["tasks_unread"] = bool(getattr(status, "tasks_unread", False))
            job["est_remaining_duration"] = status.to_dict()["est_remaining_duration"]
            _progress_texts(job)
            job["history"] = [
                *(job.get("history") or []),
                [round(answer.fetched_at, 1), status.percent_completed],
            ]
            fresh.update(source="live", age_seconds=live_age, stale=False, reason=None)
        return fresh

    # -- the nav page --------------------------------------------------------------------------

    def jobs_view(
        self, user: Any, account: str | None, dag_id: str | None, status: str | None
    ) -> dict[str, Any]:
        """The nav page's data: jobs in flight, recently ended, per-account limits; see docs/ui.md."""
        dags = _readable_dags(user)
        rows = _load_jobs(dags)
        now = time.time()
        by_job: dict[str, dict[str, Any]] = {}
        for key, state, end_date, entry in rows:
            job_id = entry.get("job_id")
            if not job_id:
                continue
            waiting = state in store.WAITING
            mode = {"deferred": "deferred", "up_for_reschedule": "reschedule"}.get(
                state or "", entry.get("mode")
            )
            row = {
                "dag_id": key.dag_id,
                "run_id": key.run_id,
                "task_id": key.task_id,
                "map_index": key.map_index,
                "ti_url": ti_url(key),
                "state": state,
                "role": entry.get("role"),
                "job_id": job_id,
                "operation": entry.get("operation"),
                "account_id": entry.get("account_id"),
                "status": entry.get("status"),
                # A running REST job polled without its tasks has no percent (its 0.0 is "not read").
                "percent_completed": None
                if store.tasks_text(entry) == TASKS_UNREAD_TEXT
                else entry.get("percent_completed"),
                "est_remaining_duration": entry.get("est_remaining_duration"),
                "est_remaining_text": store.job_remaining_text(entry),
                "mode": mode if waiting else None,
                "last_seen": entry.get("last_seen"),
                "age_seconds": _age(entry.get("last_seen"), now),
                "stale": bool(entry.get("last_error")) and entry.get("status") not in store.TERMINAL_JOB,
                "in_flight": waiting and entry.get("status") not in store.TERMINAL_JOB,
                "ended_at": end_date.isoformat() if end_date else None,
                "limiter": entry.get("limiter"),
            }
            known = by_job.get(job_id)
            # One row per job: the task that waits for it (a sensor) wins over its submit.
            if known is None or (row["in_flight"], row["role"] == "sensor") > (
                known["in_flight"],
                known["role"] == "sensor",
            ):
                by_job[job_id] = row
        everything = list(by_job.values())
        accounts: dict[str, dict[str, Any]] = {}
        for row in everything:
            name = row["account_id"] or "unknown"
            acc = accounts.setdefault(name, {"account_id": name, "jobs_in_flight": 0, "limiter": None})
            acc["jobs_in_flight"] += 1 if row["in_flight"] else 0
            limiter = row.pop("limiter")
            if limiter and (acc["limiter"] is None or limiter["at"] > acc["limiter"]["at"]):
                acc["limiter"] = limiter
        options = {
            "accounts": sorted(accounts),
            "dag_ids": sorted({r["dag_id"] for r in everything}),
            "statuses": sorted({r["status"] for r in everything if r["status"]}),
        }

        def wanted(row: dict[str, Any]) -> bool:
            return (
                (not account or (row["account_id"] or "unknown") == account)
                and (not dag_id or row["dag_id"] == dag_id)
                and (not status or row["status"] == status)
            )

        shown = [r for r in everything if wanted(r)]
        in_flight = sorted(
            (r for r in shown if r["in_flight"]), key=lambda r: (r["dag_id"], r["run_id"], r["task_id"])
        )
        recent = sorted(
            (r for r in shown if not r["in_flight"]), key=lambda r: r["ended_at"] or "", reverse=True
        )
        return {
            "in_flight": in_flight,
            "recent": recent[: store.RECENT_LIMIT],
            "accounts": sorted(accounts.values(), key=lambda a: a["account_id"]),
            "filters": {"account": account, "dag_id": dag_id, "status": status},
            "options": options,
            "refresh_seconds": _conf_float("refresh_seconds", 10.0),
            "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    # -- routes --------------------------------------------------------------------------------

    def _routes(self) -> None:
        app = self.app

        @app.exception_handler(HTTPException)
        async def problem(request: Request, error: HTTPException) -> Any:
            if request.url.path.startswith(f"{request.scope.get('root_path', '')}/api/"):
                return JSONResponse({"detail": error.detail}, status_code=error.status_code)
            return _page(
                "problem.html", {"status": error.status_code, "detail": error.detail}, error.status_code
            )

        @app.get("/api/task/{dag_id}/{run_id}/{task_id}", dependencies=[ReadTaskInstances])
        async def task_json(
            user: User, dag_id: str, run_id: str, task_id: str, map_index: MapIndex = None
        ) -> Any:
            status, data = await self.task_view(
                user, store.TaskKey(dag_id, run_id, task_id, _map_index(map_index))
            )
            return JSONResponse(data, status_code=status)

        @app.get(
            "/tab/{dag_id}/{run_id}/{task_id}", response_class=HTMLResponse, dependencies=[ReadTaskInstances]
        )
        async def task_page(
            request: Request, user: User, dag_id: str, run_id: str, task_id: str, map_index: MapIndex = None
        ) -> Any:
            key = store.TaskKey(dag_id, run_id, task_id, _map_index(map_index))
            status, data = await self.task_view(user, key)
            api = request.url_for("task_json", dag_id=dag_id, run_id=run_id, task_id=task_id).path
            return _page("job.html", {"data": data, "api": f"{api}?map_index={key.map_index}"}, status)

        @app.get("/api/jobs")
        async def jobs_json(
            user: User, account: Filter = None, dag_id: Filter = None, status: Filter = None
        ) -> Any:
            # JSONResponse as it is: the data is plain JSON already (FastAPI's encoder doubled the time).
            return JSONResponse(await run_in_threadpool(self.jobs_view, user, account, dag_id, status))

        @app.get("/jobs", response_class=HTMLResponse)
        async def jobs_page(
            request: Request, user: User, account: Filter = None, dag_id: Filter = None, status: Filter = None
        ) -> Any:
            data = await run_in_threadpool(self.jobs_view, user, account, dag_id, status)
            return _page("jobs.html", {"data": data, "api": request.url_for("jobs_json").path}, 200)


def _task_json(key: store.TaskKey, found: dict[str, Any] | None) -> dict[str, Any]:
    ti = (found or {}).get("ti") or {}
    return {
        "dag_id": key.dag_id,
        "run_id": key.run_id,
        "task_id": key.task_id,
        "map_index": key.map_index,
        "ti_url": ti_url(key),
        "state": ti.get("state"),
        "operator": ti.get("operator"),
        "try_number": ti.get("try_number"),
    }


def _load_task(key: store.TaskKey) -> dict[str, Any]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return store.load_task(session, key)


def _load_jobs(dag_ids: set[str]) -> list[Any]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return store.load_jobs(session, dag_ids)


def _page(template: str, context: dict[str, Any], status: int) -> HTMLResponse:
    return HTMLResponse(TEMPLATES.get_template(template).render(**context), status_code=status)


def create_app() -> FastAPI:
    """The app the plugin mounts (one per API server process)."""
    return NetSuiteJobsApp().app
