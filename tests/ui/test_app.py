"""The plugin's routes on Airflow's own API server app: shapes, 401/403, the DAGs a user may read,
each bad input as a message, and the NetSuite budget (requests counted at the emulator).

The task rows are real: dag.test() runs the sensor and operator DAGs against the emulator; a few
rows are then moved to the states a running deployment has (waiting, cleared, not started).
"""

from __future__ import annotations

import importlib.util
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import operator_dags
import pytest
import sensor_policies

from airflow_asyncjob.testing.emulator import Timeline
from airflow_asyncjob.testing.emulator.jobs import SubmitDefaults
from airflow_asyncjob.ui import journal

from .conftest import HIDDEN_DAG

#: The tab reads what tasks recorded from Airflow 3.3's task_state_store; Airflow 3.2 has none
#: (the plugin falls back to XCom there, which these tests do not cover yet).
NO_TASK_STATE_STORE = pytest.mark.skipif(
    importlib.util.find_spec("airflow.models.task_state_store") is None,
    reason="Airflow before 3.3 has no task_state_store, from which these tests read the tab's record",
)
pytestmark = NO_TASK_STATE_STORE


RECORDS = [
    {"externalId": "c1", "internalId": "1", "type": "customer", "success": True},
    {
        "externalId": "c2",
        "type": "customer",
        "success": False,
        "code": "DUP_ENTITY",
        "message": "This entity already exists.",
    },
]
CUSTOMERS = [
    {"externalId": "cust-1", "companyName": "Secret Payload Ltd", "subsidiary": {"internalId": "1"}},
    {"externalId": "dup-2", "companyName": "Other Payload Ltd"},  # the emulator answers DUP_ENTITY
]


def _job(emulator, records=RECORDS) -> str:
    return emulator.create_job(
        {
            "operation": "asyncUpsertList",
            "pending_seconds": 0.2,
            "processing_seconds": 1.0,
            "start_on_first_request": True,
            "records": records,
        }
    )


def _run(dag, **conf):
    run = dag.test(run_conf=conf)
    return run.run_id


def _update(dag_id, run_id, task_id, *, state="keep", entry=None):
    """Move a task instance to ``state`` and/or replace its journal (task_state_store)."""
    from airflow.models.task_state_store import TaskStateStoreModel
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        where = (
            TaskInstance.dag_id == dag_id,
            TaskInstance.run_id == run_id,
            TaskInstance.task_id == task_id,
        )
        if state != "keep":
            session.execute(update(TaskInstance).where(*where).values(state=state))
        if entry is not None:
            session.execute(
                update(TaskStateStoreModel)
                .where(
                    TaskStateStoreModel.dag_id == dag_id,
                    TaskStateStoreModel.run_id == run_id,
                    TaskStateStoreModel.task_id == task_id,
                    TaskStateStoreModel.key == journal.KEY,
                )
                .values(value=json.dumps(entry))
            )


def _entry(dag_id: str, run_id: str, task_id: str = "wait") -> dict:
    from airflow.models.task_state_store import TaskStateStoreModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        value = session.scalar(
            select(TaskStateStoreModel.value).where(
                TaskStateStoreModel.dag_id == dag_id,
                TaskStateStoreModel.run_id == run_id,
                TaskStateStoreModel.task_id == task_id,
                TaskStateStoreModel.key == journal.KEY,
            )
        )
    assert value is not None, f"no journal for {dag_id}/{run_id}/{task_id}"
    return json.loads(value)


@pytest.fixture(scope="module")
def runs(airflow_db, emulator_server, tmp_path_factory):
    """Real runs: a poke sensor that branches on finishedWithErrors, one in the DAG the outsider
    may not read, submit -> sensor -> results, and a sensor moved back to "waiting"."""
    mp = pytest.MonkeyPatch()
    emulator_server.reset()
    mp.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", emulator_server.airflow_connection_json())
    mp.setattr(emulator_server.jobs, "submit_defaults", SubmitDefaults(timeline=Timeline(0.2, 1.0)))
    branch = sensor_policies.dag_id("branch", "poke")
    out = {
        "branch": (branch, _run(sensor_policies.DAGS[branch], job_id=_job(emulator_server))),
        "hidden": (HIDDEN_DAG, _run(sensor_policies.DAGS[HIDDEN_DAG], job_id=_job(emulator_server))),
        "ops": (
            "submit_branch_results",
            _run(
                operator_dags.DAGS["submit_branch_results"],
                records=CUSTOMERS,
                output_path=str(tmp_path_factory.mktemp("results") / "r.jsonl"),
            ),
        ),
    }
    waiting = sensor_policies.dag_id("fail", "poke")
    job_id = _job(emulator_server, RECORDS[:1])
    out["waiting"] = (waiting, _run(sensor_policies.DAGS[waiting], job_id=job_id))
    yield out
    mp.undo()


def auth(tokens, user="admin"):
    return {"Authorization": f"Bearer {tokens[user]}"}


def tab_api(key, task_id="wait"):
    dag_id, run_id = key
    return f"/netsuite-jobs/api/task/{dag_id}/{run_id}/{task_id}"


def tab_page(key, task_id="wait"):
    dag_id, run_id = key
    return f"/netsuite-jobs/tab/{dag_id}/{run_id}/{task_id}?map_index={{MAP_INDEX}}"


def page_data(html: str) -> dict:
    start = html.index('<script id="data" type="application/json">') + len(
        '<script id="data" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


# -- security ------------------------------------------------------------------------------------


def test_every_route_without_login_is_401(api, runs):
    client, _, _ = api
    for path in (
        tab_api(runs["branch"]),
        tab_page(runs["branch"]),
        "/netsuite-jobs/api/jobs",
        "/netsuite-jobs/jobs",
    ):
        response = client.get(path)
        assert response.status_code == 401, path
        assert "ASYNCWEBSERVICES" not in response.text
    assert "not logged in" in client.get("/netsuite-jobs/jobs").text


def test_a_forged_token_is_refused(api, runs):
    client, _, _ = api
    response = client.get(tab_api(runs["branch"]), headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code == 403


def test_the_ui_cookie_logs_in(api, runs):
    client, tokens, _ = api
    client.cookies.set("_token", tokens["admin"])  # as the browser sends it, no Authorization header
    try:
        response = client.get(tab_page(runs["branch"]))
    finally:
        client.cookies.clear()
    assert response.status_code == 200
    assert page_data(response.text)["job"]["status"] == "finishedWithErrors"


def test_a_user_who_may_not_read_the_dag_gets_403_and_not_a_word_of_its_job(api, runs):
    client, tokens, _ = api
    job_id = _entry(*runs["hidden"])["job_id"]
    for path in (tab_api(runs["hidden"]), tab_page(runs["hidden"])):
        response = client.get(path, headers=auth(tokens, "outsider"))
        assert response.status_code == 403, path
        assert job_id not in response.text
    assert client.get(tab_api(runs["hidden"]), headers=auth(tokens)).json()["job"]["job_id"] == job_id


def test_the_nav_page_lists_only_permitted_dags(api, runs):
    client, tokens, _ = api
    hidden_job = _entry(*runs["hidden"])["job_id"]
    mine = client.get("/netsuite-jobs/api/jobs", headers=auth(tokens, "outsider")).json()
    rows = mine["in_flight"] + mine["recent"]
    assert rows and HIDDEN_DAG not in {r["dag_id"] for r in rows}
    assert hidden_job not in json.dumps(mine)
    assert HIDDEN_DAG not in mine["options"]["dag_ids"]
    admin = client.get("/netsuite-jobs/api/jobs", headers=auth(tokens)).json()
    assert hidden_job in {r["job_id"] for r in admin["in_flight"] + admin["recent"]}


def test_no_secret_and_no_record_payload_reaches_a_page(api, runs, emulator_server):
    client, tokens, _ = api
    extra = json.loads(emulator_server.airflow_connection_json())["extra"]
    secrets = [
        f'"{extra["consumer_secret"]}"',
        f'"{extra["token_secret"]}"',
        "consumer_secret",
        "token_secret",
    ]
    bodies = [
        client.get(tab_api(runs["ops"], t), headers=auth(tokens)).text for t in ("submit", "wait", "results")
    ]
    bodies.append(client.get("/netsuite-jobs/jobs", headers=auth(tokens)).text)
    for body in bodies:
        assert not any(secret in body for secret in secrets)
        assert "Secret Payload Ltd" not in body and "companyName" not in body


# -- shapes --------------------------------------------------------------------------------------


def test_the_sensor_tab_shows_the_job_its_polls_and_the_branch_taken(api, runs):
    client, tokens, _ = api
    data = client.get(tab_api(runs["branch"]), headers=auth(tokens)).json()
    task, job = data["task"], data["job"]
    assert task["state"] == "success" and task["role"] == "sensor" and task["map_index"] == -1
    assert task["ti_url"].startswith(f"/dags/{runs['branch'][0]}/runs/")
    assert job["job_id"].startswith("ASYNCWEBSERVICES_1234567_SB1_")
    assert (job["status"], job["percent_completed"], job["account_id"], job["endpoint_version"]) == (
        "finishedWithErrors",
        100.0,
        "1234567_SB1",
        "2025_2",
    )
    assert job["mode"] == "poke" and job["polls"] >= 3 and job["est_remaining_text"] == "none"
    percents = [p for _, p in job["history"]]
    assert percents == sorted(percents) and percents[0] < 100.0 == percents[-1]
    assert job["outcome"]["branch"] == ["report"]
    assert job["first_seen"] <= job["last_seen"]
    assert data["freshness"]["stale"] is False and data["notice"] is None


def test_submit_and_result_tabs_show_the_operation_and_the_failures_by_code(api, runs):
    client, tokens, _ = api
    submit = client.get(tab_api(runs["ops"], "submit"), headers=auth(tokens)).json()
    assert submit["task"]["role"] == "submit" and submit["job"]["job_ids"] == [submit["job"]["job_id"]]
    results = client.get(tab_api(runs["ops"], "results"), headers=auth(tokens)).json()
    summary = results["job"]["summary"]
    assert results["job"]["job_id"] == submit["job"]["job_id"]
    assert (summary["records"], summary["failed"]) == (2, 1)
    assert summary["failures_by_code"] == {"DUP_ENTITY": 1}
    assert summary["first_failures"][0]["code"] == "DUP_ENTITY"
    assert summary["first_failures"][0]["message"]
    assert summary["output_path"].endswith("r.jsonl")
    sensor = client.get(tab_api(runs["ops"], "wait"), headers=auth(tokens)).json()
    assert sensor["job"]["summary"]["failures_by_code"] == {"DUP_ENTITY": 1}  # the result task's summary


def test_the_tab_page_embeds_its_data_and_refreshes_from_the_json_route(api, runs):
    client, tokens, _ = api
    response = client.get(tab_page(runs["branch"]), headers=auth(tokens))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert page_data(response.text) == client.get(
        tab_api(runs["branch"]) + "?map_index=-1", headers=auth(tokens)
    ).json() | {"freshness": page_data(response.text)["freshness"]}
    assert f'"{tab_api(runs["branch"])}?map_index=-1"' in response.text


def test_the_nav_page_rows_and_filters(api, runs):
    client, tokens, _ = api
    data = client.get("/netsuite-jobs/api/jobs", headers=auth(tokens)).json()
    row = next(r for r in data["recent"] if r["dag_id"] == runs["branch"][0])
    assert {
        "dag_id",
        "run_id",
        "task_id",
        "ti_url",
        "job_id",
        "status",
        "percent_completed",
        "est_remaining_text",
        "mode",
    } <= set(row)
    assert data["accounts"][0]["account_id"] == "1234567_SB1"
    only = client.get("/netsuite-jobs/api/jobs", params={"dag_id": HIDDEN_DAG}, headers=auth(tokens)).json()
    assert {r["dag_id"] for r in only["in_flight"] + only["recent"]} == {HIDDEN_DAG}
    none = client.get("/netsuite-jobs/api/jobs", params={"account": "7654321"}, headers=auth(tokens)).json()
    assert none["in_flight"] == none["recent"] == []
    html = client.get("/netsuite-jobs/jobs", headers=auth(tokens)).text
    assert page_data(html)["filters"] == {"account": None, "dag_id": None, "status": None}


# -- bad inputs ----------------------------------------------------------------------------------


def test_an_unknown_task_is_a_message_not_a_stack_trace(api, runs):
    client, tokens, _ = api
    response = client.get(tab_api(runs["branch"], "no_such_task"), headers=auth(tokens))
    assert response.status_code == 404
    assert response.json()["notice"]["kind"] == "unknown_task"
    page = client.get(tab_page(runs["branch"], "no_such_task"), headers=auth(tokens))
    assert (
        page.status_code == 404
        and "No task instance 'no_such_task'" in page_data(page.text)["notice"]["message"]
    )


def test_a_task_that_is_not_ours_says_so(api, runs):
    client, tokens, _ = api
    data = client.get(tab_api(runs["branch"], "report"), headers=auth(tokens)).json()
    assert data["notice"]["kind"] == "not_ours" and data["job"] is None
    assert "runs no NetSuite job" in data["notice"]["message"]


def test_a_job_id_not_rendered_yet_and_a_cleared_run_say_so(api, runs):
    client, tokens, _ = api
    dag_id, run_id = runs["ops"]
    _update(dag_id, run_id, "load", state=None)  # skipped before; a python task: still not ours
    from airflow.models.task_state_store import TaskStateStoreModel
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:  # the results task as before its first try
        for model in (TaskStateStoreModel, XComModel):
            session.execute(
                delete(model).where(
                    model.dag_id == dag_id, model.run_id == run_id, model.task_id == "results"
                )
            )
    _update(dag_id, run_id, "results", state="scheduled")
    data = client.get(tab_api(runs["ops"], "results"), headers=auth(tokens)).json()
    assert data["notice"]["kind"] == "not_started" and "known once the task runs" in data["notice"]["message"]
    _update(dag_id, run_id, "results", state="failed")
    data = client.get(tab_api(runs["ops"], "results"), headers=auth(tokens)).json()
    assert data["notice"]["kind"] in ("no_job_id", "no_poll")
    _update(dag_id, run_id, "wait", state=None)  # cleared: the journal of the earlier try stays
    data = client.get(tab_api(runs["ops"], "wait"), headers=auth(tokens)).json()
    assert data["notice"]["kind"] == "cleared" and data["job"]["status"] == "finishedWithErrors"


def _waiting(runs, emulator_server, **changes):
    """The "waiting" sensor as it is while it waits: running, last poll 5 minutes ago at 40 %."""
    dag_id, run_id = runs["waiting"]
    entry = _entry(dag_id, run_id, "wait")
    five_minutes_ago = datetime.fromtimestamp(time.time() - 300, tz=timezone.utc).isoformat()
    entry.update(
        status="processing",
        percent_completed=40.0,
        est_remaining_duration=240.0,
        outcome=None,
        last_error=None,
        conn_id="netsuite_default",
        last_seen=five_minutes_ago,
        updated=five_minutes_ago,
    )
    entry.update(changes)
    _update(dag_id, run_id, "wait", state="running", entry=entry)
    return entry


def test_a_stale_record_is_refreshed_by_one_live_call_however_many_watch(
    api, runs, emulator_server, monkeypatch
):
    client, tokens, state = api
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", emulator_server.airflow_connection_json())
    _waiting(runs, emulator_server)
    state.live._answers.clear()
    before = emulator_server.stats()["requests"].get("checkAsyncStatus", 0)
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: client.get(tab_api(runs["waiting"]), headers=auth(tokens)).json(), range(16))
        )
    assert emulator_server.stats()["requests"].get("checkAsyncStatus", 0) - before == 1
    assert {a["freshness"]["source"] for a in answers} == {"live"}
    assert {a["job"]["status"] for a in answers} == {"finished"}
    # the nav page never asks NetSuite
    client.get("/netsuite-jobs/api/jobs", headers=auth(tokens))
    assert emulator_server.stats()["requests"].get("checkAsyncStatus", 0) - before == 1


def test_a_fresh_record_costs_no_call(api, runs, emulator_server):
    client, tokens, state = api
    _waiting(
        runs,
        emulator_server,
        last_seen=datetime.now(timezone.utc).isoformat(),
        updated=datetime.now(timezone.utc).isoformat(),
    )
    state.live._answers.clear()
    before = emulator_server.stats()["requests"].get("checkAsyncStatus", 0)
    data = client.get(tab_api(runs["waiting"]), headers=auth(tokens)).json()
    assert data["freshness"] == {
        "source": "task",
        "age_seconds": pytest.approx(0, abs=5),
        "stale": False,
        "reason": None,
    }
    assert emulator_server.stats()["requests"].get("checkAsyncStatus", 0) == before


def test_netsuite_down_shows_the_old_status_as_stale(api, runs, emulator_server, monkeypatch):
    from airflow_asyncjob.testing.emulator import Emulator

    client, tokens, state = api
    with Emulator(port=0) as gone:
        down = gone.airflow_connection_json()
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DOWN", down)
    _waiting(runs, emulator_server, conn_id="netsuite_down")
    state.live._answers.clear()
    data = client.get(tab_api(runs["waiting"]), headers=auth(tokens)).json()
    assert data["freshness"]["stale"] is True
    assert data["freshness"]["reason"].startswith("NetSuite could not be reached")
    assert data["job"]["percent_completed"] == 40.0


def test_a_restarted_emulator_that_forgot_the_job_is_named(api, runs, emulator_server, monkeypatch):
    client, tokens, state = api
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", emulator_server.airflow_connection_json())
    _waiting(runs, emulator_server)
    emulator_server.reset()  # as a restart does: every job forgotten
    state.live._answers.clear()
    data = client.get(tab_api(runs["waiting"]), headers=auth(tokens)).json()
    assert data["freshness"]["stale"] is True
    assert "INVALID_JOB_ID" in data["freshness"]["reason"] and "emulator" in data["freshness"]["reason"]


def test_a_poll_that_failed_in_the_task_marks_the_status_stale(api, runs, emulator_server):
    client, tokens, state = api
    error = {
        "at": "x",
        "type": "ConcurrencyLimitError",
        "code": "WS_CONCUR_SESSION_DISALLWD",
        "message": "busy",
        "transient": True,
        "busy": True,
    }
    _waiting(runs, emulator_server, last_error=error, last_seen=datetime.now(timezone.utc).isoformat())
    state.live.refresh_seconds, saved = 0, state.live.refresh_seconds  # no live call: the record alone
    try:
        data = client.get(tab_api(runs["waiting"]), headers=auth(tokens)).json()
    finally:
        state.live.refresh_seconds = saved
    assert data["freshness"]["stale"] is True and data["freshness"]["reason"].startswith(
        "The account is busy"
    )


def test_a_live_check_of_a_running_rest_job_keeps_the_task_counts_its_sensor_read(
    api, runs, emulator_server, monkeypatch
):
    # The sensor reads the tasks (rest_task_progress) and recorded 3 of 6 five minutes ago; the
    # tab's live check reads the REST job alone, which says "processing" and nothing of its tasks.
    client, tokens, state = api
    monkeypatch.setenv(
        "AIRFLOW_CONN_NETSUITE_REST_LIVE", emulator_server.airflow_rest_connection_json("oauth2")
    )
    job_id = emulator_server.create_job(
        {
            "api": "rest",
            "operation": "asyncUpsertList",
            "pending_seconds": 0,
            "processing_seconds": 600,
            "records": [{"externalId": f"r{i}"} for i in range(6)],
        }
    )
    _waiting(
        runs,
        emulator_server,
        conn_id="netsuite_rest_live",
        job_id=job_id,
        job_ids=[job_id],
        percent_completed=50.0,
        est_remaining_duration=None,
        tasks_completed=3,
        tasks_total=6,
    )
    state.live._answers.clear()
    counts = emulator_server.stats().get("rest_requests", {})
    before, tasks_before = counts.get("job", 0), counts.get("task", 0)
    data = client.get(tab_api(runs["waiting"]), headers=auth(tokens)).json()
    # The live check happened: one GET of the job (two when the process's cached access token is one
    # the emulator forgot at a reset, so the first answer is a 401 and the client retries once).
    assert before + 1 <= emulator_server.stats()["rest_requests"]["job"] <= before + 2
    assert emulator_server.stats()["rest_requests"].get("task", 0) == tasks_before  # nor its tasks
    assert data["freshness"]["source"] == "live" and data["job"]["status"] == "processing"
    assert (data["job"]["tasks_completed"], data["job"]["tasks_total"]) == (3, 6)
    assert data["job"]["percent_completed"] == 50.0
    assert "task counts come when the job completes" not in json.dumps(data)
