"""The emulator's default credentials are long enough for Airflow's secrets masker: a task using
the default connection logs no "Skipping masking ... too short" line, and its secrets are masked."""

from __future__ import annotations

import logging

import pytest
import sensor_policies  # noqa: E402
from airflow.sdk._shared.secrets_masker.secrets_masker import SecretsMasker

from airflow_asyncjob.testing.emulator import DEFAULT_CREDENTIALS


@pytest.mark.parametrize("name", sorted(DEFAULT_CREDENTIALS))
def test_every_default_credential_is_long_enough_to_be_masked(name: str) -> None:
    value = DEFAULT_CREDENTIALS[name]
    assert len(value) >= SecretsMasker.min_length_to_mask
    # NetSuite's consumer and token keys and secrets are 64 hexadecimal digits.
    assert len(value) == 64 and int(value, 16) >= 0


def test_a_sensor_task_on_the_default_connection_logs_no_short_secret_warning(
    airflow_db, emulator_server, capfd, caplog, monkeypatch
) -> None:
    emulator = emulator_server  # the example scenario sets no credentials: the defaults apply
    emulator.reset()
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", emulator.airflow_connection_json())
    # The masker warns once per process; forget an earlier warning so this run shows its own.
    monkeypatch.setattr(SecretsMasker, "_has_warned_short_secret", False)
    extra = emulator.airflow_connection()["extra"]
    assert {name: extra[name] for name in DEFAULT_CREDENTIALS} == DEFAULT_CREDENTIALS
    job_id = emulator.create_job(
        {"operation": "asyncUpsertList", "pending_seconds": 0, "processing_seconds": 0.2, "records": []}
    )
    with caplog.at_level(logging.DEBUG):
        dag = sensor_policies.DAGS[sensor_policies.dag_id("fail", "poke")]
        dag_run = dag.test(run_conf={"job_id": job_id})
    output = capfd.readouterr()
    logged = output.out + output.err + caplog.text
    (wait,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == "wait"]
    assert getattr(wait.state, "value", wait.state) == "success"
    assert f"NetSuite async job finished, 100.0% completed, about 0 s remaining ({job_id})" in logged
    assert "Skipping masking" not in logged
    for name in ("consumer_secret", "token_secret", "token_id"):
        assert extra[name] not in logged
