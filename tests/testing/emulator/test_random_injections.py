"""Random injections: a seeded fraction of answers replaced, the same through Python, HTTP and CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from airflow_asyncjob.testing.emulator import Emulator

from .conftest import SoapClient, soap_envelope

ROOT = Path(__file__).resolve().parents[3]


def replaced(client: SoapClient, requests: int) -> list[int]:
    """Indexes of the getServerTime calls (of ``requests`` made one after another) that did not
    get NetSuite's answer."""
    indexes = []
    for i in range(requests):
        try:
            if client.call("getServerTime").status_code != 200:
                indexes.append(i)
        except httpx.RemoteProtocolError:  # a drop: no answer at all
            indexes.append(i)
    return indexes


def test_a_seeded_fraction_is_replaced_the_same_way_each_time(client: SoapClient) -> None:
    emulator = client.emulator
    emulator.inject("http_error", status=503, probability=0.3, seed=11, times=None)
    first = replaced(client, 120)
    # Binomial(120, 0.3): mean 36, standard deviation 5; far outside this is no longer "30 %".
    assert 16 <= len(first) <= 56
    assert emulator.stats()["injections_applied"] == {"http_error": len(first)}
    assert emulator.stats()["injections_unlimited"] == 1

    emulator.reset()
    emulator.inject("http_error", status=503, probability=0.3, seed=11, times=None)
    assert replaced(client, 120) == first

    emulator.reset()
    emulator.inject("http_error", status=503, probability=0.3, seed=12, times=None)
    assert replaced(client, 120) != first


def test_equal_seeds_of_two_injections_still_draw_independently(client: SoapClient) -> None:
    emulator = client.emulator
    emulator.inject("soap_fault", code="UNEXPECTED_ERROR", probability=0.5, seed=3, times=None)
    emulator.inject("http_error", status=503, probability=0.5, seed=3, times=None)
    for _ in range(80):
        client.call("getServerTime")
    applied = emulator.stats()["injections_applied"]
    # Same draws would make the second one apply never (it is only asked when the first missed).
    assert applied.get("soap_fault", 0) > 0 and applied.get("http_error", 0) > 0


def test_times_limits_how_many_answers_a_random_injection_replaces(client: SoapClient) -> None:
    emulator = client.emulator
    emulator.inject("soap_fault", code="UNEXPECTED_ERROR", probability=0.5, seed=1, times=3)
    assert emulator.stats()["injections_pending"] == 3
    assert len(replaced(client, 40)) == 3
    assert emulator.stats()["injections_pending"] == 0


def test_a_missed_draw_lets_the_next_injection_apply(client: SoapClient) -> None:
    emulator = client.emulator
    emulator.inject("soap_fault", code="UNEXPECTED_ERROR", probability=0.01, seed=0, times=None)
    emulator.inject("http_error", status=502, times=1)
    statuses = [client.call("getServerTime").status_code for _ in range(3)]
    # Seed 0 at position 0 misses its first draws (p = 0.01), so the queued 502 answers first.
    assert statuses == [502, 200, 200]


def test_the_admin_api_takes_the_same_random_injection(client: SoapClient) -> None:
    emulator = client.emulator
    emulator.inject("drop", probability=0.25, seed=5, times=None, operation="getServerTime")
    by_python = emulator.stats()
    first = replaced(client, 60)
    emulator.reset()
    answer = client.http.post(
        "/_emulator/faults",
        json={"kind": "drop", "probability": 0.25, "seed": 5, "times": None, "operation": "getServerTime"},
    )
    assert answer.status_code == 200, answer.text
    assert emulator.stats()["injections_unlimited"] == by_python["injections_unlimited"] == 1
    assert replaced(client, 60) == first


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"probability": 0}, "probability must be within (0, 1]"),
        ({"probability": 1.5}, "probability must be within (0, 1]"),
        ({"probability": float("nan")}, "probability must be within (0, 1]"),
        ({"probability": "0.1"}, "probability must be a number"),
        ({"probability": True}, "probability must be a number"),
        ({"seed": "seven"}, "seed must be an integer"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"times": 0}, "times must be >= 1, or null for no limit"),
    ],
)
def test_bad_random_parameters_are_refused_by_name(client: SoapClient, params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        client.emulator.inject("soap_fault", code="UNEXPECTED_ERROR", **params)
    body = {"kind": "soap_fault", "code": "UNEXPECTED_ERROR", **params}
    if body.get("probability") != body.get("probability"):  # NaN is not JSON
        return
    answer = client.http.post("/_emulator/faults", json=body)
    assert answer.status_code == 400 and message in answer.json()["error"]
    assert client.emulator.stats()["injections_pending"] == 0


def test_refusals_over_the_limit_are_counted_apart_from_injected_ones() -> None:
    with Emulator(concurrency_limit=1) as emulator:
        emulator.inject("delay", seconds=0.5, operation="getServerTime")
        emulator.inject("soap_fault", code="WS_REQUEST_BLOCKED", operation="checkAsyncStatus")
        client = SoapClient(emulator)
        try:
            slow = threading.Thread(target=client.call, args=("getServerTime",))
            slow.start()
            while emulator.stats()["in_flight"] == 0:
                pass
            refused = client.call("getServerTime")
            slow.join()
            client.call("checkAsyncStatus")  # the injected WS_REQUEST_BLOCKED
        finally:
            client.http.close()
        stats = emulator.stats()
    assert refused.status_code == 500
    assert stats["refused_over_limit"] == 1
    assert stats["faults"]["WS_REQUEST_BLOCKED"] == 2


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "airflow_asyncjob.testing.emulator", "--port", "0", "--log-level", "warning"]
        + list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )


def test_the_cli_queues_injections_from_flags_and_from_its_variable() -> None:
    flag = {"kind": "http_error", "status": 503, "probability": 0.5, "seed": 2, "times": None}
    listed = [
        {"kind": "delay", "seconds": 0.01, "probability": 0.1, "times": None},
        {"kind": "soap_fault", "code": "UNEXPECTED_ERROR"},
    ]
    for args, env, expected in (
        (("--inject", json.dumps(flag)), {}, (0, 1)),
        ((), {"NETSUITE_EMULATOR_INJECT": json.dumps(listed)}, (1, 1)),
    ):
        process = _cli(*args, env=env)
        assert process.stdout is not None and process.stderr is not None
        try:
            base_url = process.stdout.readline().strip()
            with httpx.Client(base_url=base_url, timeout=10) as http:
                stats = http.get("/_emulator/stats").json()
                port = "/services/NetSuitePort_2025_2"
                statuses = {
                    http.post(port, content=soap_envelope("getServerTime")).status_code for _ in range(20)
                }
        finally:
            process.terminate()
            process.wait(timeout=15)
            banner = process.stdout.read()
            process.stdout.close()
            process.stderr.close()
        assert (stats["injections_pending"], stats["injections_unlimited"]) == expected
        assert "injections queued" in banner
        if args:
            assert statuses == {200, 503}


@pytest.mark.parametrize(
    ("injection", "message"),
    [
        ("{not json", "not JSON"),
        ('["a list in a flag"]', "a JSON object with a kind"),
        ('{"kind": "soap_fault", "code": "UNEXPECTED_ERROR", "probability": 2}', "probability"),
    ],
)
def test_the_cli_refuses_a_bad_injection(injection: str, message: str) -> None:
    process = _cli("--inject", injection)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert message in err and out == ""
