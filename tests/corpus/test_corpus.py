"""The bad-input corpus: every answer in cases/ against the hook (sync) and the trigger (async).

Each case is ``cases/<name>.http`` (the HTTP answer, byte for byte) or ``cases/<name>.json`` (an
answer acted out: a reset, a cut-off answer, silence, 50 MB, a TLS or DNS failure, a refused
connection), with ``<name>.expected.json``
beside it. The case's answer is served ``times`` times (default 1, null: always), then good
answers. Expected ``outcome``:

- ``value``: the first answer is read as ``value`` (one request);
- ``retried``: the answer is retried and the good one read (two requests);
- ``error``: a typed error (``error`` class, ``transient``) whose message holds each ``message``
  string, quotes at most a short excerpt and never resolves an entity.
"""

from __future__ import annotations

import dataclasses
import json
import math
import socket
from pathlib import Path

import pytest

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.faults import EXCERPT_LENGTH, NetSuiteError
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.triggers.async_job_status import MAX_FAILED_POLLS, AsyncJobStatusTrigger

from .raw_server import JOB_ID, Delivery, RawServer

CASES = Path(__file__).parent / "cases"
NAMES = sorted(p.name.removesuffix(".expected.json") for p in CASES.glob("*.expected.json"))
RETRY = RetryPolicy(max_attempts=3, max_delay=20, initial_wait=0.01, max_wait=0.05)
TIMEOUT = 1.0  # seconds per request: the silent server is cut off quickly
# Hint and wording around a quoted excerpt stay well under this.
MAX_MESSAGE = EXCERPT_LENGTH + 600


def load(name: str, base_url: str = "") -> tuple[Delivery, dict, str | None]:
    """A case's delivery, with ``{BASE_URL}`` in its body replaced by ``base_url`` before the
    Content-Length is counted (aiohttp refuses bytes after an announced length)."""
    expected = json.loads((CASES / f"{name}.expected.json").read_text())
    times = expected.get("times", 1)
    if (CASES / f"{name}.http").exists():
        raw = (CASES / f"{name}.http").read_bytes()
        head, _, body = raw.partition(b"\n\n")
        body = body.replace(b"{BASE_URL}", base_url.encode())
        lines = head.decode().splitlines()
        answer = "\r\n".join(lines).encode() + b"\r\n"
        if not any(line.lower().startswith("content-length:") for line in lines):
            answer += f"Content-Length: {len(body)}\r\n".encode()
        return Delivery(answer=answer + b"Connection: close\r\n\r\n" + body, times=times), expected, None
    special = json.loads((CASES / f"{name}.json").read_text())["special"]
    return Delivery(special=special, times=times), expected, special


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed again)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    raw = RawServer()
    yield raw
    raw.close()


@pytest.fixture
def case(request, server, monkeypatch):
    delivery, expected, special = load(request.param, server.base_url)  # e.g. an external entity
    server.reset(delivery)
    hosts = {
        "tls": f"https://127.0.0.1:{server.port}",
        "dns": "http://asyncjob-corpus.invalid",
        "refused": f"http://127.0.0.1:{closed_port()}",
    }
    host = hosts.get(special or "", server.base_url)
    conn = {
        "conn_type": "netsuite_soap",
        "host": host,
        "extra": {
            "account_id": "1234567_SB1",
            "consumer_key": "corpus-consumer-key",
            "consumer_secret": "corpus-consumer-secret",
            "token_id": "corpus-token-id",
            "token_secret": "corpus-token-secret",
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
    return expected


def check_value(actual: dict, expected: dict, server: RawServer) -> None:
    outcome = expected["outcome"]
    wanted = expected.get("value") or {
        "status": "finished",
        "percent_completed": 100.0,
        "est_remaining_duration": 0.0,
    }
    assert actual == {"job_id": JOB_ID, **wanted}
    assert server.posts == (1 if outcome == "value" else expected.get("times", 1) + 1)


def check_error(kind: str, transient: bool, message: str, expected: dict, server: RawServer) -> None:
    assert kind == expected["error"]
    assert transient is expected["transient"]
    for part in expected["message"]:
        assert part in message
    for part in expected.get("not_in_message", []):
        assert part not in message
    assert len(message) <= MAX_MESSAGE
    if "posts" in expected:
        assert server.posts == expected["posts"]


@pytest.mark.parametrize("case", NAMES, indirect=True)
def test_hook(case, server):
    hook = SoapAsyncJobHook(timeout=TIMEOUT, retry=RETRY)
    if case["outcome"] == "error":
        with pytest.raises(NetSuiteError) as caught:
            hook.check_async_status(JOB_ID)
        error = caught.value
        check_error(type(error).__name__, error.transient, str(error), case, server)
    else:
        check_value(hook.check_async_status(JOB_ID).to_dict(), case, server)
    assert server.gets == []  # no entity was fetched


@pytest.mark.parametrize("case", NAMES, indirect=True)
async def test_trigger(case, server):
    trigger = AsyncJobStatusTrigger(
        job_id=JOB_ID,
        poke_interval=0.05,
        max_poll_interval=0.1,
        timeout=TIMEOUT,
        retry=dataclasses.asdict(RETRY),
    )
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1
    event = events[0]
    if case["outcome"] == "error":
        assert event["status"] == "error"
        if case["transient"] and "posts" in case:  # the trigger polls MAX_FAILED_POLLS times first
            case = {**case, "posts": case["posts"] * MAX_FAILED_POLLS}
        check_error(event["error_type"], event["transient"], event["message"], case, server)
    else:
        assert event["status"] == "finished"
        check_value(event["job"], case, server)
    assert server.gets == []
    assert all(
        not isinstance(v, float) or math.isfinite(v)
        for v in json.loads(json.dumps(event)).get("job", {}).values()
        if v is not None
    )


def test_the_corpus_is_at_least_thirty_cases():
    assert len(NAMES) >= 30
