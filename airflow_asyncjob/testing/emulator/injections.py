"""Injections: misbehaviour queued for the next SOAP or REST requests (faults, REST error
bodies, HTML error pages, slow answers, dropped connections, raw bodies), and the queue that
decides which request gets one.

Plain data and bookkeeping: no HTTP (``responses`` turns a taken injection into an answer).
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from airflow_asyncjob.testing.emulator import soap
from airflow_asyncjob.testing.emulator.exceptions import EmulatedFault

INJECTION_KINDS = ("soap_fault", "rest_error", "http_error", "delay", "drop", "raw")
REST_KINDS = ("submit", "job", "task_list", "task", "result", "token", "server_time", "governance_limits")
"""The kinds of REST request, as ``operation`` of an injection and keys of stats' rest_requests."""
APIS = ("soap", "rest")
_INJECTION_FIELDS = {
    "soap_fault": ("code", "message", "fault_type"),
    "rest_error": ("status", "code", "detail"),
    "http_error": ("status", "body"),
    "delay": ("seconds",),
    "drop": (),
    "raw": ("body", "status", "content_type"),
}


@dataclass(frozen=True)
class Injection:
    """A misbehaviour for the next ``times`` requests (of ``operation``, or any), once
    ``after`` such requests have been let through unchanged.

    ``operation`` is a SOAP operation (``checkAsyncStatus``...) or a REST kind (REST_KINDS:
    ``submit``, ``job``, ``task_list``, ``task``, ``result``, ``token``, ``server_time``,
    ``governance_limits``). ``api`` ("soap" / "rest" / None for both) limits it to one API; it
    follows from the kind (soap_fault, rest_error) or the operation when not given. ``path``: only
    requests whose URL path starts with it (e.g. ``/services/rest/async/v1/job/``).

    With ``probability`` below 1 it is a random injection: each matching request is replaced
    with that probability (a fault soak: ``probability=0.1, times=None`` replaces about one answer
    in ten until reset). ``times`` then counts the requests it replaced; None means no limit.
    The draws come from ``random.Random`` seeded with ``seed`` and the injection's position in the
    queue since the last reset: the same queue of injections meeting the same sequence of requests
    replaces the same ones, and two injections given the same seed still draw independently.
    Injections are considered in the order queued; one whose draw misses lets the next one be
    considered, so the first that applies replaces the answer.

    Kinds:
        soap_fault: answer ``fault`` (HTTP 500) instead of the operation's answer (SOAP only).
        rest_error: answer ``status`` (default 500) with NetSuite's REST error body, its
            ``o:errorCode`` ``code`` (default by status: 401 INVALID_LOGIN, 403
            INSUFFICIENT_PERMISSION, 404 NONEXISTENT_ID, 429 CONCURRENCY_LIMIT_EXCEEDED, 5xx
            UNEXPECTED_ERROR) and ``detail`` (REST only).
        http_error: answer an HTML error page with ``status`` (a proxy's 503, a wrong URL's 404).
        delay: wait ``seconds`` and then answer normally (the request stays in flight).
        drop: close the connection without any answer (the client sees the server disconnect).
        raw: answer ``body`` with ``status`` and ``content_type`` as given.
    """

    kind: str
    operation: str | None = None
    times: int | None = 1
    after: int = 0
    fault: EmulatedFault | None = None
    status: int = 503
    body: str | None = None
    content_type: str = "text/html; charset=utf-8"
    seconds: float = 0.0
    probability: float = 1.0
    seed: int = 0
    code: str | None = None
    detail: str | None = None
    api: str | None = None
    path: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Injection:
        """The JSON form: ``{"kind", "operation"?, "times"? (null: no limit), "after"?,
        "probability"? (0 < p <= 1, default 1), "seed"? (an integer, default 0), ...}`` plus, per kind,
        soap_fault: ``code``, ``message``?, ``fault_type``? (known codes such as WS_REQUEST_BLOCKED,
        UNEXPECTED_ERROR, ACCT_TEMP_UNAVAILABLE fill in NetSuite's type and text); http_error:
        ``status``? (503), ``body``?; delay: ``seconds``; raw: ``body``, ``status``? (200),
        ``content_type``? (text/xml); rest_error: ``status``? (500), ``code``?, ``detail``?. Any
        kind also takes ``api``? and ``path``?.

        Raises:
            ValueError: unknown kind, key or operation, times < 1, after < 0, a probability outside
                (0, 1], a seed that is not an integer, an HTTP status Python does not know, negative
                seconds, an unknown fault code without fault_type and message.
        """
        kind = data.get("kind")
        if kind not in INJECTION_KINDS:
            raise ValueError(f"kind must be one of {', '.join(INJECTION_KINDS)}, not {kind!r}")
        allowed = {
            "kind",
            "operation",
            "times",
            "after",
            "probability",
            "seed",
            "api",
            "path",
            *_INJECTION_FIELDS[kind],
        }
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"a {kind} injection does not take {unknown}; it takes {sorted(allowed)}")
        times = data.get("times", 1)
        if times is not None:
            times = int(times)
            if times < 1:
                raise ValueError("times must be >= 1, or null for no limit")
        after = int(data.get("after", 0))
        if after < 0:
            raise ValueError("after must be >= 0")
        operation = data.get("operation")
        if operation is not None and operation not in (*soap.OPERATIONS, *REST_KINDS):
            raise ValueError(
                f"operation {operation!r} is not one of {', '.join(soap.OPERATIONS)} (SOAP) or "
                f"{', '.join(REST_KINDS)} (REST)"
            )
        by_kind = "soap" if kind == "soap_fault" else "rest" if kind == "rest_error" else None
        by_operation = None if operation is None else "rest" if operation in REST_KINDS else "soap"
        if by_kind and by_operation and by_kind != by_operation:
            raise ValueError(
                f"a {kind} injection applies to api {by_kind!r} only; {operation!r} is {by_operation}"
            )
        implied = by_kind or by_operation
        api = data.get("api", implied)
        if api is not None and api not in APIS:
            raise ValueError(f"api must be one of {', '.join(APIS)} or null, not {api!r}")
        if implied is not None and api != implied:
            raise ValueError(
                f"a {kind} injection for operation {operation!r} applies to api {implied!r} only"
            )
        path = data.get("path")
        if path is not None and not (isinstance(path, str) and path.startswith("/")):
            raise ValueError(f"path must be a URL path starting with '/', not {path!r}")
        default_status = 200 if kind == "raw" else 500 if kind == "rest_error" else 503
        status = int(data.get("status", default_status))
        HTTPStatus(status)  # raises ValueError for a status uvicorn could not send either
        probability = data.get("probability", 1.0)
        if isinstance(probability, bool) or not isinstance(probability, (int, float)):
            raise ValueError(f"probability must be a number within (0, 1], not {probability!r}")
        if not (math.isfinite(probability) and 0 < probability <= 1):
            raise ValueError(f"probability must be within (0, 1], not {probability!r}")
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an integer, not {seed!r}")
        common = {
            "kind": kind,
            "operation": operation,
            "times": times,
            "after": after,
            "probability": float(probability),
            "seed": seed,
            "api": api,
            "path": path,
        }
        if kind == "rest_error":
            code = data.get("code")
            if code is not None and not (isinstance(code, str) and code):
                raise ValueError(f"code must be a non-empty string, not {code!r}")
            return cls(**common, status=status, code=code, detail=data.get("detail"))
        if kind == "soap_fault":
            if not data.get("code"):
                raise ValueError("a soap_fault injection needs a code")
            fault = EmulatedFault.well_known(data["code"], data.get("message"), data.get("fault_type"))
            return cls(**common, fault=fault)
        if kind == "http_error":
            return cls(**common, status=status, body=data.get("body"))
        if kind == "delay":
            seconds = float(data.get("seconds", 0))
            if seconds < 0:
                raise ValueError("seconds must be >= 0")
            return cls(**common, seconds=seconds)
        if kind == "raw":
            return cls(
                **common,
                status=status,
                body=str(data.get("body", "")),
                content_type=data.get("content_type", soap.CONTENT_TYPE),
            )
        return cls(**common)


@dataclass
class _Queued:
    """One injection in the queue, with what is left of it."""

    injection: Injection
    remaining: int | None
    """Requests it will still replace; None: no limit."""
    let_through: int
    """Matching requests still to pass unchanged before it starts replacing."""
    draws: random.Random | None
    """The random draws of an injection with probability < 1; None: it always applies."""

    def applies_to(self, operation: str, api: str, path: str | None) -> bool:
        injection = self.injection
        if injection.path is not None and not (path or "").startswith(injection.path):
            return False
        return injection.operation in (None, operation) and injection.api in (None, api)


class InjectionQueue:
    """The queued injections of one emulator, in the order queued. Thread-safe.

    ``take(operation, api, path)`` is asked once per admitted SOAP or REST request; ``applied()``
    counts what was replaced, by kind.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[_Queued] = []
        self._queued = 0  # injections queued since the last clear: part of each random one's seed
        self._applied: Counter[str] = Counter()

    def add(self, injection: Injection) -> None:
        """Queue ``injection`` behind those already queued."""
        with self._lock:
            draws = None
            if injection.probability < 1:
                draws = random.Random(f"{injection.seed}/{self._queued}")
            self._queued += 1
            self._entries.append(_Queued(injection, injection.times, injection.after, draws))

    def take(self, operation: str, api: str = "soap", path: str | None = None) -> Injection | None:
        """The first queued injection for ``operation`` (or for any) of ``api`` and ``path`` that
        applies, using up one of its times (or, while it still lets requests through, one of
        those, and then none applies). A random injection whose draw misses lets the next one be
        considered."""
        with self._lock:
            for entry in self._entries:
                if not entry.applies_to(operation, api, path):
                    continue
                if entry.let_through > 0:
                    entry.let_through -= 1
                    return None
                if entry.draws is not None and entry.draws.random() >= entry.injection.probability:
                    continue
                if entry.remaining is not None:
                    entry.remaining -= 1
                    if entry.remaining == 0:
                        self._entries.remove(entry)
                self._applied[entry.injection.kind] += 1
                return entry.injection
        return None

    def clear(self) -> None:
        """Forget every injection, the applied counts and the seed positions."""
        with self._lock:
            self._entries.clear()
            self._queued = 0
            self._applied.clear()

    def applied(self) -> dict[str, int]:
        """Answers replaced since the last clear, by kind."""
        with self._lock:
            return dict(self._applied)

    @property
    def pending(self) -> int:
        """Requests that the queued injections with a limit will still replace."""
        with self._lock:
            return sum(entry.remaining or 0 for entry in self._entries)

    @property
    def unlimited(self) -> int:
        """Queued injections without a limit (``times=None``)."""
        with self._lock:
            return sum(entry.remaining is None for entry in self._entries)
