"""What one emulator keeps beside the account's jobs: the requests in flight (the account's
concurrency limit, one for SOAP and REST together: Help Center subsect_1559222360.html), the
injection queue, the counters of ``stats`` and the log of raw requests.

No HTTP here either: ``routes`` and ``responses`` call these methods per request.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

from airflow_asyncjob.testing.emulator.auth import TokenPassportChecker
from airflow_asyncjob.testing.emulator.injections import InjectionQueue
from airflow_asyncjob.testing.emulator.jobs import JobStore
from airflow_asyncjob.testing.emulator.rest_auth import RestAuthenticator

MAX_LATENCY = 60.0
"""The longest ``latency`` (seconds) an emulator accepts."""


def check_latency(seconds: float) -> float:
    """``seconds`` if within 0..MAX_LATENCY; ValueError otherwise."""
    if not 0 <= seconds <= MAX_LATENCY:
        raise ValueError(f"latency must be within 0..{MAX_LATENCY:g} seconds, got {seconds!r}")
    return seconds


class Service:
    """The state of one emulator's SOAP port and REST services. Thread-safe (the app runs on
    uvicorn's loop; the Python API is called from other threads).

    Args:
        jobs: the account's jobs. checker: its tokenPassport check.
        concurrency_limit: SOAP and REST requests allowed in flight at once (>= 1).
        max_logged_requests: how many raw requests ``requests()`` keeps.
        latency: seconds each admitted SOAP or REST request waits before it is answered (0..60).
        rest_auth: the REST TBA and OAuth 2.0 checks.

    Attributes (settable at any time; ``reset()`` restores them):
        rest_relative_location: REST submits answer a relative ``Location`` (Oracle shows both).
        rest_governance_limits: governanceLimits answers 200; False: 403 INSUFFICIENT_PERMISSION
            (a role that is not an administrator).

    Raises:
        ValueError: a limit below 1 or a latency outside 0..60.
    """

    def __init__(
        self,
        jobs: JobStore,
        checker: TokenPassportChecker,
        concurrency_limit: int,
        max_logged_requests: int,
        latency: float = 0.0,
        rest_auth: RestAuthenticator | None = None,
    ) -> None:
        if concurrency_limit < 1:
            raise ValueError("concurrency_limit must be >= 1")
        self.default_latency = self.latency = check_latency(latency)
        self.jobs = jobs
        self.checker = checker
        self.rest_auth = rest_auth
        self.default_rest_governance_limits = True
        self.concurrency_limit = concurrency_limit
        self.injections = InjectionQueue()
        self._lock = threading.Lock()
        self._log: deque[dict[str, Any]] = deque(maxlen=max_logged_requests)
        self.reset()

    def reset(self) -> None:
        """Forget jobs (preset ones come back), nonces, idempotency keys, REST tokens, injections,
        counters and logged requests; restore the latency and REST settings given at start."""
        with self._lock:
            self.latency = self.default_latency
            self.rest_relative_location = False
            self.rest_governance_limits = self.default_rest_governance_limits
            self._in_flight = self._max_in_flight = 0
            self._over_limit = 0
            self._requests: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()
            self._rest_requests: Counter[str] = Counter()
            self._rest_errors: Counter[str] = Counter()
            self._idempotent_replays = 0
            self._log.clear()
        self.injections.clear()
        self.jobs.reset()
        self.checker.reset()
        if self.rest_auth is not None:
            self.rest_auth.reset()

    def admit(self) -> bool:
        """Count a request in flight; False (and counted as refused) when the limit is reached."""
        with self._lock:
            if self._in_flight >= self.concurrency_limit:
                self._over_limit += 1
                return False
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            return True

    def release(self) -> None:
        """An admitted request has been answered."""
        with self._lock:
            self._in_flight -= 1

    def record(
        self, operation: str | None, endpoint_version: str, soap_action: str | None, body: bytes
    ) -> None:
        """Log a SOAP request as received; ``operation`` None when it could not be parsed."""
        with self._lock:
            self._requests[operation or "(unparsed)"] += 1
            self._log.append(
                {
                    "api": "soap",
                    "operation": operation,
                    "endpoint_version": endpoint_version,
                    "soap_action": soap_action,
                    "body": body.decode("utf-8", "replace"),
                }
            )

    def record_rest(self, kind: str, method: str, path: str, body: bytes) -> None:
        """Log a REST request as received (``kind``: submit, job, task_list, task, result, token,
        server_time, governance_limits; ``unknown`` for a path the emulator does not serve). The
        Authorization header is not kept."""
        with self._lock:
            self._rest_requests[kind] += 1
            self._log.append(
                {
                    "api": "rest",
                    "kind": kind,
                    "method": method,
                    "path": path,
                    "body": body.decode("utf-8", "replace"),
                }
            )

    def count_rest_error(self, code: str) -> None:
        with self._lock:
            self._rest_errors[code] += 1

    def count_idempotent_replay(self) -> None:
        with self._lock:
            self._idempotent_replays += 1

    def count_fault(self, code: str) -> None:
        with self._lock:
            self._faults[code] += 1

    def stats(self) -> dict[str, Any]:
        """The counters; see ``Emulator.stats`` for the keys."""
        with self._lock:
            counters = {
                "concurrency_limit": self.concurrency_limit,
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "refused_over_limit": self._over_limit,
                "requests": dict(self._requests),
                "faults": dict(self._faults),
                "rest_requests": dict(self._rest_requests),
                "rest_errors": dict(self._rest_errors),
                "idempotent_replays": self._idempotent_replays,
            }
        return {
            **counters,
            "injections_applied": self.injections.applied(),
            "injections_pending": self.injections.pending,
            "injections_unlimited": self.injections.unlimited,
            "jobs": len(self.jobs.job_ids()),
        }

    def requests(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The last ``limit`` logged requests (all when None), oldest first."""
        with self._lock:
            entries = list(self._log)
        return entries if limit is None else entries[-limit:] if limit > 0 else []
