"""The normalisation rule for out-of-range asyncStatusResult numbers, in one place.

The rule main settled (issue 5, bad input); adjust HERE if it changes:

- percentCompleted below 0 or above 100 (infinities included) -> clamped to 0..100;
- percentCompleted NaN -> NetSuiteResponseError;
- estRemainingDuration below 0 -> 0;
- estRemainingDuration INF, -INF or NaN -> unknown: stored as math.inf, shown as "unknown"
  (models._estimate).
"""

from __future__ import annotations

import math

from airflow_asyncjob.netsuite.faults import NetSuiteError, NetSuiteResponseError

UNKNOWN_SHOWN_AS = "unknown"


def expected_numbers(percent: float, est: float) -> tuple[float, float] | type[NetSuiteError]:
    """(percent_completed, est_remaining_duration) parse_async_status should give for these
    values, or the error type it should raise."""
    if math.isnan(percent):
        return NetSuiteResponseError
    percent = min(100.0, max(0.0, percent))
    est = max(0.0, est) if math.isfinite(est) else math.inf
    return percent, est
