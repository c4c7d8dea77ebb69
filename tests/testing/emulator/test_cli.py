"""``python -m airflow_asyncjob.testing.emulator``: prints its URL first, serves, stops on SIGTERM."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from airflow_asyncjob.testing.emulator import DEFAULT_CREDENTIALS, DEFAULT_REST_CLIENT

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
    assert '"conn_type":"netsuite_rest","extra":{"account_id":"1234567_SB1","auth_method":"oauth2"' in banner
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


def test_cli_verifies_rest_jwts_with_the_public_key_file_it_is_given(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_file = tmp_path / "public.pem"
    public_file.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [
        sys.executable,
        "-m",
        "airflow_asyncjob.testing.emulator",
        "--port",
        "0",
        "--log-level",
        "warning",
    ]
    command += ["--oauth2-public-key", str(public_file), "--oauth2-certificate-id", "cert-1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    try:
        base_url = process.stdout.readline().strip()
        token_url = f"{base_url}/services/rest/auth/oauth2/v1/token"
        now = int(time.time())
        claims = {
            "iss": DEFAULT_REST_CLIENT.client_id,
            "scope": "rest_webservices",
            "aud": token_url,
            "iat": now,
            "exp": now + 600,
        }
        signed = jwt.encode(claims, private, algorithm="PS256", headers={"kid": "cert-1"})
        answer = httpx.post(
            token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": signed,
            },
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
    finally:
        process.terminate()
        process.wait(timeout=15)
    banner = process.stdout.read()
    process.stdout.close()
    assert "certificate id: cert-1" in banner
    assert "AIRFLOW_CONN_NETSUITE_REST_TBA='" in banner and '"auth_method":"tba"' in banner
    assert '"auth_method":"oauth2"' not in banner  # it holds no private key to hand out
