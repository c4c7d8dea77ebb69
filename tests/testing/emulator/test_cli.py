"""``python -m airflow_asyncjob.testing.emulator``: prints its URL first, serves, stops on SIGTERM."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from lxml import etree

from airflow_asyncjob.testing.emulator import DEFAULT_CREDENTIALS

from .conftest import soap_envelope

ROOT = Path(__file__).resolve().parents[3]


def test_cli_prints_its_url_first_and_serves_until_terminated() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env["NETSUITE_EMULATOR_CONCURRENCY_LIMIT"] = "3"
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_asyncjob.testing.emulator", "--port", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    try:
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=base_url, timeout=10) as http:
            response = http.post("/services/NetSuitePort_2025_2", content=soap_envelope("getServerTime"))
            assert response.status_code == 200, response.text
            assert etree.QName(etree.fromstring(response.content)[0][0]).localname == "getServerTimeResponse"
            assert http.get("/_emulator/stats").json()["concurrency_limit"] == 3
    finally:
        process.terminate()
        process.wait(timeout=15)
    banner = process.stdout.read()
    process.stdout.close()
    assert process.returncode == 0
    assert '"conn_type":"netsuite_soap"' in banner
    assert f"consumer key: {DEFAULT_CREDENTIALS['consumer_key']}" in banner


def test_cli_refuses_a_bad_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.json"
    scenario.write_text('{"jobs": [{"operation": "asyncFrobnicate"}]}')
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_asyncjob.testing.emulator",
            "--port",
            "0",
            "--scenario",
            str(scenario),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert result.returncode == 2
    assert "asyncFrobnicate" in result.stderr and result.stdout == ""
