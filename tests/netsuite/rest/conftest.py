"""A scripted NetSuite REST server on httpx.MockTransport, and credentials for it.

The emulator's REST side is built elsewhere; these tests pin the client against answers written
out here, one route at a time, and count the requests the client makes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from airflow_asyncjob.netsuite.auth import TokenCredentials
from airflow_asyncjob.netsuite.endpoints import normalize_account_id
from airflow_asyncjob.netsuite.rest.auth import TOKENS, ClientCredentials
from airflow_asyncjob.netsuite.rest.settings import RestSettings
from airflow_asyncjob.netsuite.retry import RetryPolicy

BASE = "https://1234567-sb1.suitetalk.api.netsuite.com"
JOB = "/services/rest/async/v1/job"
KEY = "7f0c3b1e-2a4d-4e5f-9a8b-1c2d3e4f5a6b"
FAST = RetryPolicy(max_attempts=4, max_delay=60.0, initial_wait=0.0, max_wait=0.0)
#: No second attempt, whatever the error (concurrency refusals included: max_delay 0 ends them).
ONCE = RetryPolicy(max_attempts=1, max_delay=0.0, initial_wait=0.0, max_wait=0.0)

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response] | Exception


class Server:
    """Routes ``(method, path)`` to answers; each route may hold a list, answered in turn (the last
    one repeats). Every request is recorded in ``requests``."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *answers: Answer) -> Server:
        self.routes[(method, path)] = list(answers)
        return self

    def handler(self, request: httpx.Request) -> httpx.Response:
        # A copy: a request resent after a 401 is the same object with a new Authorization.
        self.requests.append(
            httpx.Request(request.method, request.url, headers=request.headers.copy(), content=request.read())
        )
        answers = self.routes.get((request.method, request.url.path))
        if not answers:
            return error(404, "NONEXISTENT_ID", f"nothing at {request.method} {request.url.path}")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        # A fresh response each time: one response object cannot be sent twice (a client binds
        # its stream), and a route's last answer repeats.
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


def error(status: int, code: str, detail: str = "an error", **headers: str) -> httpx.Response:
    """NetSuite's REST error body."""
    body = {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
        "title": "Bad Request",
        "status": status,
        "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
    }
    return httpx.Response(status, json=body, headers=headers)


def job(job_id: str, completed: bool, progress: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "links": [{"rel": "self", "href": f"{BASE}{JOB}/{job_id}"}],
            "completed": completed,
            "id": job_id,
            "progress": progress,
            "task": {"links": [{"rel": "self", "href": f"{BASE}{JOB}/{job_id}/task"}]},
        },
    )


def task_list(
    job_id: str, task_ids: list[str], *, has_more: bool = False, total: int | None = None
) -> httpx.Response:
    items = [{"links": [{"rel": "self", "href": f"{BASE}{JOB}/{job_id}/task/{t}"}]} for t in task_ids]
    return httpx.Response(
        200,
        json={
            "links": [],
            "count": len(items),
            "hasMore": has_more,
            "offset": 0,
            "totalResults": len(items) if total is None else total,
            "items": items,
        },
    )


def task(task_id: str, completed: bool, progress: str) -> httpx.Response:
    body: dict[str, Any] = {
        "links": [{"rel": "related", "href": f".../task/{task_id}/result"}],
        "completed": completed,
        "id": task_id,
        "progress": progress,
        "startTime": "2026-12-01T10:00:00Z",
    }
    if completed:
        body["endTime"] = "2026-12-01T10:00:05Z"
    return httpx.Response(200, json=body)


def serve_job(server: Server, job_id: str, progresses: list[str], *, completed: bool = True) -> Server:
    """A job whose tasks have these progress values (one task per record)."""
    ids = [str(i + 1) for i in range(len(progresses))]
    server.on("GET", f"{JOB}/{job_id}", job(job_id, completed, "succeeded" if completed else "processing"))
    server.on("GET", f"{JOB}/{job_id}/task", task_list(job_id, ids))
    for task_id, progress in zip(ids, progresses, strict=True):
        done = progress in ("succeeded", "failed")
        server.on("GET", f"{JOB}/{job_id}/task/{task_id}", task(task_id, done, progress))
    return server


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    TOKENS.clear()
    yield
    TOKENS.clear()


@pytest.fixture
def tba() -> TokenCredentials:
    return TokenCredentials(
        normalize_account_id("1234567_sb1"),
        consumer_key="CK-rest-consumer",
        consumer_secret="CS-rest-consumer-secret-5e1",
        token_id="TK-rest-token",
        token_secret="TS-rest-token-secret-7a2",
    )


@pytest.fixture
def tba_settings(tba: TokenCredentials) -> RestSettings:
    return RestSettings(tba)


def pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def m2m(ec_key: ec.EllipticCurvePrivateKey) -> ClientCredentials:
    return ClientCredentials(
        normalize_account_id("1234567_SB1"),
        client_id="client-id-3f9e",
        certificate_id="cert-id-81ab",
        private_key=pem(ec_key),
        algorithm="ES256",
    )


@pytest.fixture
def m2m_settings(m2m: ClientCredentials) -> RestSettings:
    return RestSettings(m2m)


def token_answer(token: str = "access-token-1", expires_in: str = "3600") -> httpx.Response:
    return httpx.Response(200, json={"access_token": token, "expires_in": expires_in, "token_type": "Bearer"})
