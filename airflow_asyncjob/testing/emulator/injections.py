"""Injections: misbehaviour queued for the next SOAP requests (faults, HTML error pages, slow
answers, dropped connections, raw bodies), and the queue that decides which request gets one.

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

INJECTION_KINDS = ("soap_fault", "http_error", "delay", "drop", "raw")
_INJECTION_FIELDS = {
    "soap_fault": ("code", "message", "fault_type"),
    "http_error": ("status", "body"),
    "delay": ("seconds",),
    "drop": (),
    "raw": ("body", "status", "content_type"),
}


@dataclass(frozen=True)
class Injection:
    """A misbehaviour for the next ``times`` SOAP requests (of ``operation``, or any), once
    ``after`` such requests have been let through unchanged.

    With ``probability`` below 1 it is a random injection: each matching request is replaced
    with that probability (a fault soak: ``probability=0.1, times=None`` replaces about one answer
    in ten until reset). ``times`` then counts the requests it replaced; None means no limit.
    The draws come from ``random.Random`` seeded with ``seed`` and the injection's position in the
    queue since the last reset: the same queue of injections meeting the same sequence of requests
    replaces the same ones, and two injections given the same seed still draw independently.
    Injections are considered in the order queued; one whose draw misses lets the next one be
    considered, so the first that applies replaces the answer.

    Kinds:
        soap_fault: answer ``fault`` (HTTP 500) instead of the operation's answer.
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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Injection:
        """The JSON form: ``{"kind", "operation"?, "times"? (null: no limit), "after"?,
        "probability"? (0 < p <= 1, default 1), "seed"? (an integer, default 0), ...}`` plus, per kind,
        soap_fault: ``code``, ``message``?, ``fault_type``? (known codes such as WS_REQUEST_BLOCKED,
        UNEXPECTED_ERROR, ACCT_TEMP_UNAVAILABLE fill in NetSuite's type and text); http_error:
        ``status``? (503), ``body``?; delay: ``seconds``; raw: ``body``, ``status``? (200),
        ``content_type``? (text/xml).

        Raises:
            ValueError: unknown kind, key or operation, times < 1, after < 0, a probability outside
                (0, 1], a seed that is not an integer, an HTTP status Python does not know, negative
                seconds, an unknown fault code without fault_type and message.
        """
        kind = data.get("kind")
        if kind not in INJECTION_KINDS:
            raise ValueError(f"kind must be one of {', '.join(INJECTION_KINDS)}, not {kind!r}")
        allowed = {"kind", "operation", "times", "after", "probability", "seed", *_INJECTION_FIELDS[kind]}
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
        if operation is not None and operation not in soap.OPERATIONS:
            raise ValueError(f"operation {operation!r} is not one of {', '.join(soap.OPERATIONS)}")
        status = int(data.get("status", 200 if kind == "raw" else 503))
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
        }
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

    def applies_to(self, operation: str) -> bool:
        return self.injection.operation in (None, operation)


class InjectionQueue:
    """The queued injections of one emulator, in the order queued. Thread-safe.

    ``take(operation)`` is asked once per admitted SOAP request; ``applied()`` counts what was
    replaced, by kind.
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

    def take(self, operation: str) -> Injection | None:
        """The first queued injection for ``operation`` (or for any) that applies, using up one
        of its times (or, while it still lets requests through, one of those, and then none
        applies). A random injection whose draw misses lets the next one be considered."""
        with self._lock:
            for entry in self._entries:
                if not entry.applies_to(operation):
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
