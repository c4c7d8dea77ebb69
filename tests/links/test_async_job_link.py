"""The "NetSuite UI" extra link: computed in the task, kept in XCom, shown by the UI."""

from __future__ import annotations

import importlib.util
import json
from types import SimpleNamespace

import async_job_links
import pytest
from airflow.sdk.types import TaskInstanceKey

from airflow_asyncjob.links.async_job import AsyncJobLink, job_id_from, netsuite_ui_url
from airflow_asyncjob.netsuite.endpoints import normalize_account_id
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor
from airflow_asyncjob.testing.emulator import EXAMPLE_JOB_IDS

TI_KEY = TaskInstanceKey(dag_id="links", task_id="wait", run_id="manual__1")  # XCom is patched

LINK_KEY = "_link_AsyncJobLink"
SANDBOX_UI = "https://1234567-sb1.app.netsuite.com/"


def stored_links(dag_run) -> dict[str, str | None]:
    """The link each task left in XCom, which is what the API server serves to the UI."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.execute(
            XComModel.get_many(key=LINK_KEY, run_id=dag_run.run_id, dag_ids=dag_run.dag_id).with_only_columns(
                XComModel.task_id, XComModel.value
            )
        ).all()
    return {task_id: XComModel.deserialize_value(SimpleNamespace(value=value)) for task_id, value in rows}


def test_job_id_is_read_from_a_string_or_a_status_dict():
    assert job_id_from(" ASYNCWEBSERVICES_1 ") == "ASYNCWEBSERVICES_1"
    assert job_id_from({"job_id": "ASYNCWEBSERVICES_2", "status": "finished"}) == "ASYNCWEBSERVICES_2"
    assert job_id_from({"status": "finished"}) is None
    assert job_id_from("") is None and job_id_from(None) is None and job_id_from(42) is None


def test_ui_url_is_the_account_specific_domain():
    assert netsuite_ui_url(normalize_account_id("1234567_sb1")) == SANDBOX_UI
    assert netsuite_ui_url(normalize_account_id("TSTDRV1234567")) == "https://tstdrv1234567.app.netsuite.com/"


def test_sensor_declares_the_link_for_the_serialized_dag():
    from airflow.serialization.serialized_objects import OperatorSerialization

    sensor = AsyncJobStatusSensor(task_id="wait", job_id="ASYNCWEBSERVICES_1")
    serialized = OperatorSerialization.serialize_operator(sensor)
    assert serialized["_operator_extra_links"] == {"NetSuite UI": LINK_KEY}


def test_sensor_and_submitting_task_store_the_link_after_a_run(airflow_db, emulator):
    job_id = emulator.create_job(
        {
            "operation": "asyncAddList",
            "pending_seconds": 0.2,
            "processing_seconds": 0.3,
            "start_on_first_request": True,
            "records": [{"externalId": "a", "success": True}],
        }
    )
    dag_run = async_job_links.dag.test(run_conf={"job_id": job_id})
    states = {ti.task_id: getattr(ti.state, "value", ti.state) for ti in dag_run.get_task_instances()}
    assert states == {"submit": "success", "wait": "success"}
    # the submit stand-in returned a string, the sensor a status dict: both give the job id
    assert stored_links(dag_run) == {"submit": SANDBOX_UI, "wait": SANDBOX_UI}

    # what the API server does for the UI: the serialized task reads the link back from XCom
    from airflow.serialization.serialized_objects import DagSerialization

    served = DagSerialization.from_dict(DagSerialization.to_dict(async_job_links.dag))
    for task_id in ("submit", "wait"):
        ti = dag_run.get_task_instance(task_id)
        assert served.get_task(task_id).extra_links == ["NetSuite UI"]
        assert served.get_task(task_id).get_extra_links(ti, "NetSuite UI") == SANDBOX_UI


def test_no_link_without_a_job_id(airflow_db, emulator):
    dag_run = async_job_links.dag.test(run_conf={"job_id": ""})
    links = stored_links(dag_run)
    assert links["submit"] == ""


def test_no_link_when_the_connection_is_unknown(airflow_db, emulator):
    dag_run = async_job_links.dag.test(
        run_conf={"job_id": EXAMPLE_JOB_IDS["finished"], "conn_id": "no_such_connection"}
    )
    assert stored_links(dag_run)["submit"] == ""


def test_a_waiting_sensor_links_from_its_job_id_argument(emulator, monkeypatch):
    """Before the final status is pushed (rescheduled, deferred), the rendered job_id is used."""
    monkeypatch.setattr("airflow_asyncjob.links.async_job.XCom.get_all", lambda **kwargs: None)
    sensor = AsyncJobStatusSensor(task_id="wait", job_id=EXAMPLE_JOB_IDS["finished"])
    assert AsyncJobLink().get_link(sensor, ti_key=TI_KEY) == SANDBOX_UI


@pytest.mark.parametrize("account_id", ["", "not an account"])
def test_no_link_for_a_connection_without_a_usable_account_id(emulator, monkeypatch, account_id):
    conn = emulator.airflow_connection()
    conn["extra"]["account_id"] = account_id
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
    sensor = AsyncJobStatusSensor(task_id="wait", job_id="ASYNC_1")
    assert AsyncJobLink().get_link(sensor, ti_key=TI_KEY) == ""


@pytest.mark.xfail(
    importlib.util.find_spec("airflow.models.task_state_store") is None,
    reason="on Airflow 3.2.0 the deferred run still logs one 'XCom not found' line (not traced yet)",
    strict=False,
)
def test_a_deferred_sensors_successful_run_logs_no_error(airflow_db, emulator, capfd, caplog):
    """The link is computed when the deferred try ends, before any return value exists: it must
    not ask for one (Airflow logs "XCom not found" at error level for every such read)."""
    job_id = emulator.create_job(
        {
            "operation": "asyncAddList",
            "pending_seconds": 0.2,
            "processing_seconds": 0.3,
            "start_on_first_request": True,
            "records": [{"externalId": "a", "success": True}],
        }
    )
    dag_run = async_job_links.deferred_dag.test(run_conf={"job_id": job_id})
    assert dag_run.get_task_instance("wait_for_job").state == "success"
    assert stored_links(dag_run) == {"wait_for_job": SANDBOX_UI}
    out, err = capfd.readouterr()
    logged = out + err + caplog.text
    assert "XCom not found" not in logged
    assert not [line for line in logged.splitlines() if "[error" in line or " ERROR " in line]
