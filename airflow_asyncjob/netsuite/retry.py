"""How transient failures are retried: the policy, which operations may be resent after which
failures, and its tenacity set-up (exponential backoff with full jitter).

Imports nothing from Airflow.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import tenacity

from airflow_asyncjob.netsuite.faults import ConcurrencyLimitError, ConfigurationError, NetSuiteError
from airflow_asyncjob.netsuite.records import SUBMIT_OPERATIONS
from airflow_asyncjob.netsuite.resend import safe_to_resend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried.

    A read (checkAsyncStatus, getAsyncResult, getServerTime) is resent after any transient
    failure. A submit (async*) is never resent after an unknown outcome (a time-out, a dropped
    connection, a gateway error, a cut-off body: NetSuite may have created the job); it is
    resent only where NetSuite cannot have created the job (see ``resend.safe_to_resend``).
    Concurrency faults (WS_REQUEST_BLOCKED, WS_CONCUR_SESSION_DISALLWD) do not use up attempts:
    the async client's limiter steps down on them, and only ``max_delay`` ends their retries;
    a caller that waits in its own bounds instead (the trigger's poll) asks for
    ``retry_refused=False`` and gets the fault at once.

    Attributes:
        max_attempts: attempts in all, the first included (>= 1).
        max_delay: seconds after the first attempt past which no new attempt starts.
        initial_wait: seconds; the backoff's first upper bound (doubles per attempt, full jitter).
        max_wait: seconds; the largest single wait.

    Raises:
        ConfigurationError: ``max_attempts`` below 1 or a negative time.
    """

    max_attempts: int = 5
    max_delay: float = 120.0
    initial_wait: float = 1.0
    max_wait: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_delay < 0 or self.initial_wait < 0 or self.max_wait < 0:
            raise ConfigurationError(
                f"invalid retry policy {self}: max_attempts must be >= 1 and the times >= 0 seconds."
            )

    def may_resend(self, operation: str, error: BaseException) -> bool:
        """Whether ``operation`` may be sent again after it failed with ``error``."""
        if operation in SUBMIT_OPERATIONS:
            return safe_to_resend(error)
        return isinstance(error, NetSuiteError) and error.transient

    def retrying(self, operation: str) -> tenacity.Retrying:
        """A tenacity controller for one sync call of ``operation``."""
        return tenacity.Retrying(**self._arguments(operation))

    def async_retrying(self, operation: str, *, retry_refused: bool = True) -> tenacity.AsyncRetrying:
        """A tenacity controller for one async call of ``operation``; with ``retry_refused``
        False, a concurrency fault is raised at once instead of retried."""
        return tenacity.AsyncRetrying(**self._arguments(operation, retry_refused=retry_refused))

    def _arguments(self, operation: str, *, retry_refused: bool = True) -> dict[str, Any]:
        # The strategies hold no state of a call (that is tenacity's RetryCallState), so one set
        # per policy, operation and flag serves every call: a poll queued for an in-flight slot
        # then holds only its own controller, not a dozen strategy objects and closures for the
        # garbage collector to walk (10,000 waiting triggers; docs/performance.md).
        return dict(_strategies(self, operation, retry_refused))


@functools.lru_cache(maxsize=256)
def _strategies(policy: RetryPolicy, operation: str, retry_refused: bool) -> tuple[tuple[str, Any], ...]:
    """tenacity's keyword arguments for ``policy`` (a frozen, hashable dataclass), as pairs."""
    attempts = tenacity.stop_after_attempt(policy.max_attempts)
    delay = tenacity.stop_after_delay(policy.max_delay)

    def stop(state: tenacity.RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, ConcurrencyLimitError):
            return delay(state)
        return attempts(state) or delay(state)

    def resend(error: BaseException) -> bool:
        if not retry_refused and isinstance(error, ConcurrencyLimitError):
            return False
        return policy.may_resend(operation, error)

    return (
        ("retry", tenacity.retry_if_exception(resend)),
        ("stop", stop),
        ("wait", tenacity.wait_random_exponential(multiplier=policy.initial_wait, max=policy.max_wait)),
        ("before_sleep", _log_retry),
        ("reraise", True),
    )


def or_default(policy: RetryPolicy | None) -> RetryPolicy:
    """``policy``, or the default RetryPolicy when it is None."""
    return policy if policy is not None else RetryPolicy()


def _log_retry(state: tenacity.RetryCallState) -> None:
    """One warning per retry, naming what failed first (``... connection to 127.0.0.1:1 failed:
    Connection refused (ECONNREFUSED); attempt 1 failed, retrying in 0.8 s``); the hint is left
    to the error that ends the retries."""
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    what = (error.summary if isinstance(error, NetSuiteError) else str(error)).rstrip(".")
    log.warning("%s; attempt %d failed, retrying in %.1f s", what, state.attempt_number, wait)
