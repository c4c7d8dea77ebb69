"""The "NetSuite jobs" page and the "NetSuite job" tab with 200 jobs in flight: seconds per view
and NetSuite requests per view. Prints numbers; not a test.

One real sensor run (dag.test() against the emulator) makes a task instance and its journal;
they are cloned into N deferred task instances (map indexes 0..N-1) of one run, each with a job
in flight at its own percent. Then Airflow's own API server app (with the plugin mounted, as
``airflow api-server`` builds it; SQLite, SimpleAuthManager) serves each page ``--views`` times
through a TestClient; the emulator counts checkAsyncStatus during the views.

    .venv/bin/python benchmarks/ui_page.py [--jobs 200] [--views 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone

HOME = tempfile.mkdtemp(prefix="asyncjob-bench-ui-")
os.environ.update(
    AIRFLOW_HOME=HOME,
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__DAGS_FOLDER=HOME,
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{HOME}/airflow.db",
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
    AIRFLOW__API_AUTH__JWT_SECRET="b" * 64,
    AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
)


DAG_FILE = """
from airflow.sdk import DAG, Param

from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor

with DAG(dag_id="bench_ui", schedule=None, catchup=False, params={"job_id": Param("", type="string")}) as dag:
    AsyncJobStatusSensor(task_id="wait", job_id="{{ params.job_id }}", poke_interval=0.1, timeout=60)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--views", type=int, default=30)
    args = parser.parse_args()

    import importlib.util
    from pathlib import Path

    from airflow.utils import db

    from airflow_asyncjob.testing.emulator import Emulator, Scenario

    db.initdb()
    # dag.test() needs the DAG in the DAG folder (it serializes it from there).
    source = Path(HOME) / "bench_ui.py"
    source.write_text(DAG_FILE)
    spec = importlib.util.spec_from_file_location("bench_ui", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with Emulator(port=0, scenario=Scenario.example()) as emulator:
        os.environ["AIRFLOW_CONN_NETSUITE_DEFAULT"] = emulator.airflow_connection_json()
        job_id = emulator.create_job(
            {"operation": "asyncUpsertList", "pending_seconds": 0.1, "processing_seconds": 0.5}
        )
        run = module.dag.test(run_conf={"job_id": job_id})
        clone(run.run_id, args.jobs, emulator)
        measure(run.run_id, args, emulator)


def clone(run_id: str, jobs: int, emulator) -> None:
    """N deferred copies of the sensor's task instance, each with a journal of a job in flight."""
    from airflow.models.task_state_store import TaskStateStoreModel
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import insert, select

    ti_table, tss_table = TaskInstance.__table__, TaskStateStoreModel.__table__
    with create_session() as session:
        ti = dict(session.execute(select(ti_table).where(ti_table.c.run_id == run_id)).mappings().one())
        tss = dict(session.execute(select(tss_table).where(tss_table.c.run_id == run_id)).mappings().one())
        entry = json.loads(tss["value"])
        session.execute(ti_table.delete().where(ti_table.c.id == ti["id"]))
        session.execute(tss_table.delete().where(tss_table.c.id == tss["id"]))
        now = time.time()
        for index in range(jobs):
            job_id = emulator.create_job(
                {"operation": "asyncUpsertList", "pending_seconds": 1, "processing_seconds": 3600}
            )
            percent = round(100 * index / jobs, 1)
            history = [[now - 60 * (10 - k), percent * k / 10] for k in range(11)]
            value = dict(
                entry,
                job_id=job_id,
                job_ids=[job_id],
                status="processing",
                percent_completed=percent,
                est_remaining_duration=600.0,
                outcome=None,
                history=history,
                mode="deferred",
                last_seen=datetime.now(timezone.utc).isoformat(),
                updated=datetime.now(timezone.utc).isoformat(),
            )
            session.execute(
                insert(ti_table).values(dict(ti, id=uuid.uuid4(), map_index=index, state="deferred"))
            )
            tss_row = {k: v for k, v in tss.items() if k != "id"}
            session.execute(insert(tss_table).values(dict(tss_row, map_index=index, value=json.dumps(value))))


def measure(run_id: str, args, emulator) -> None:
    from airflow.api_fastapi.app import create_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    app = create_app()
    token = app.state.auth_manager.generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    headers = {"Authorization": f"Bearer {token}"}
    pages = {
        "nav page (HTML)": "/netsuite-jobs/jobs",
        "nav JSON (each refresh)": "/netsuite-jobs/api/jobs",
        "tab (HTML)": f"/netsuite-jobs/tab/bench_ui/{run_id}/wait?map_index=7",
        "tab JSON (each refresh)": f"/netsuite-jobs/api/task/bench_ui/{run_id}/wait?map_index=7",
    }
    print(f"{args.jobs} jobs in flight, {args.views} views each, SQLite, one process ({sys.platform})")
    print(
        f"{'page':26} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'bytes':>8} {'NetSuite calls/view':>20}"
    )
    with TestClient(app) as client:
        rows = client.get(pages["nav JSON (each refresh)"], headers=headers).json()["in_flight"]
        assert len(rows) == args.jobs, f"{len(rows)} rows, expected {args.jobs}"
        for name, path in pages.items():
            client.get(path, headers=headers)  # warm
            before = emulator.stats()["requests"].get("checkAsyncStatus", 0)
            times, size = [], 0
            for _ in range(args.views):
                began = time.perf_counter()
                response = client.get(path, headers=headers)
                times.append(time.perf_counter() - began)
                assert response.status_code == 200, response.text[:300]
                size = len(response.content)
            calls = emulator.stats()["requests"].get("checkAsyncStatus", 0) - before
            times.sort()
            p95 = times[max(0, int(len(times) * 0.95) - 1)]
            print(
                f"{name:26} {statistics.median(times) * 1000:10.1f} {p95 * 1000:8.1f} "
                f"{times[-1] * 1000:8.1f} {size:8d} {calls / args.views:20.2f}"
            )


if __name__ == "__main__":
    main()
