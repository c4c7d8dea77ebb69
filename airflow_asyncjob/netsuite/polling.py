"""Adaptive polling: when to call checkAsyncStatus next, from what the last answers said.

The rule (also in docs/sensor.md):

1. Estimate the seconds left from two sources, ignoring any that is not a finite number of
   seconds above 0 and at most ``MAX_TRUSTED_ESTIMATE`` (0.0 is NetSuite's "no estimate": its
   documented pending answer reports ``estRemainingDuration`` 0.0):

   - NetSuite's ``estRemainingDuration`` (seconds; schema type AsyncStatusResult; Help Center
     "Checking the Status of an Asynchronous Job": "the estimated time remaining ... measured
     in seconds"; how accurate it is, is UNVERIFIED);
   - the progress seen: percentCompleted gained since the previous poll, over the seconds between
     the two polls, extrapolated to 100 percent.

   The progress seen needs a previous answer above 0 percent: after an answer at 0 percent
   (pending, or a REST job with none of its tasks done) the job started at some moment in
   between, so the seconds elapsed overstate its progress's time (0.02 percent in 10 s
   extrapolates to 14 hours).

2. With an estimate, wait a quarter (``FRACTION_OF_REMAINING``) of the smaller one, or an
   eighth (``FRACTION_OF_PROGRESS``) when NetSuite's is unusable and the progress seen is all
   there is: far from the end the waits are long, near it they shrink to ``min_interval``, so a
   job is seen finished within about ``min_interval`` of its end while a long job is asked
   rarely. Without any estimate, wait twice the previous wait (the first wait is
   ``min_interval``), except ``min_interval`` when the job has just moved off 0 percent (its pace
   is measured from the next answer, however long it was queued) or has just reached 100
   percent while still running (it is about to end; if it stays there, the waits double again).

3. From the second estimate from NetSuite in a row on, learn how far they can be trusted: the
   previous one, less the seconds elapsed since, predicts this one; the spread is the root mean
   square of ``|ln(this / predicted)|`` (each new pair weighs ``SPREAD_WEIGHT``, starting from
   ``SPREAD_PRIOR``; a previous estimate that has run out counts as ``INCONSISTENT``). The end
   is then taken to lie between ``e * exp(-m)`` and ``e * exp(m)`` seconds away (``e`` the
   estimate of step 1, ``m = MARGIN_IN_SPREADS * spread``), and the wait is the upper side when
   that span is shorter than ``min_interval``, else ``min_interval`` after the lower side: a job
   ending in the span is seen within ``min_interval``, one ending later by a poll with a closer
   (so tighter) estimate. Never shorter than step 2's wait, so estimates that disagree fall back
   to it. An answer without a usable estimate from NetSuite (0.0) forgets the spread. The state
   is the last PollSample (five numbers), kept by the trigger's loop only: a trigger that starts
   again, and poke and reschedule modes (fixed ``poke_interval``), use steps 1, 2 and 4 alone.

4. Clamp to ``[min_interval, max_interval]`` (the sensor's ``poke_interval`` and
   ``max_poll_interval``). Whatever NetSuite sends (NaN, INF, negative, 1e12), the result stays
   within these bounds, so polling neither stalls nor spins.

So ``min_interval`` sets the detection delay when NetSuite's numbers carry information (p95
delay about ``min_interval``), and ``max_interval`` bounds it when they carry none; the
trade-off against calls per job is measured by benchmarks/polling_budget.py.

After a poll that failed (``failed_poll_interval``): the last wait, or ``min_interval`` before
any answer, doubled for each failure in a row after the first, at most ``max_interval``.

Imports nothing from Airflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from airflow_asyncjob.netsuite.faults import ConfigurationError

#: Estimates above this many seconds (about 30 days, NetSuite's job retention) are not trusted.
MAX_TRUSTED_ESTIMATE = 30 * 24 * 3600.0

#: The longest wait, in seconds (365 days), a poll interval or a sensor's timeout may ask for.
#: NetSuite purges async jobs after 30 days (Help Center "SOAP Web Services Governance
#: Overview"), so no job can be waited on for longer; and Airflow stores when a deferred wait
#: ends as a date, which must fit every metadata database it supports: MySQL's TIMESTAMP ends
#: on 2038-01-19, Python's datetime in year 9999 (``timeout=10**12`` overflows both).
MAX_WAIT = 365 * 24 * 3600.0


@dataclass(frozen=True)
class PollSample:
    """One answer to remember, for the next call of ``next_poll``.

    Attributes:
        at: monotonic seconds when the answer came.
        percent_completed: percent (0..100) in the answer.
        interval: seconds, the wait chosen after it.
        remaining: NetSuite's estRemainingDuration in that answer (seconds left at ``at``),
            or None when it was not usable (0.0, not finite, negative, too large).
        spread: how much successive estimates have disagreed: the root mean square (recent
            pairs weigh more) of ``|ln(estimate / (previous estimate - seconds elapsed since))|``,
            or None before two estimates in a row.

    Small and immutable: the trigger keeps the last one in memory; a trigger that starts again
    (another triggerer) starts from None and so from the rule without a spread.
    """

    at: float
    percent_completed: float
    interval: float
    remaining: float | None = None
    spread: float | None = None


def _trusted(seconds: float) -> float | None:
    # 0.0 is NetSuite's "no estimate" (its documented pending answer reports 0.0 seconds left),
    # not "done": a job that is done says so in its status.
    return seconds if math.isfinite(seconds) and 0 < seconds <= MAX_TRUSTED_ESTIMATE else None


#: The share of the seconds expected to be left that the next wait takes: each poll cuts the
#: distance to the expected end by a quarter. Chosen from benchmarks/polling_budget.py
#: (docs/performance.md, "Polling budget"): 0.5 takes fewer calls when the estimate is good, but
#: one estimate twice too long then overshoots the end (p95 delay 500-660 s on hour-long jobs
#: with noisy estimates); 0.25 keeps the p95 delay at ``min_interval`` in every regime measured.
FRACTION_OF_REMAINING = 0.25
#: The share of the seconds the progress seen says are left that the next wait takes, when it
#: is the only estimate (NetSuite's is unusable: 0.0, not finite, negative or too large). If a
#: job's pace changes from one stretch of records to the next (the benchmark's model, 10
#: stretches of lognormal length, sigma 0.8; how NetSuite's jobs really move is UNVERIFIED), the
#: last interval's pace extrapolated to 100 percent can be several times too slow. Chosen from
#: benchmarks/polling_budget.py's "useless" regime (docs/performance.md, "Polling budget"): with
#: a quarter, one slow stretch overshot the end by up to ``max_interval`` (p95 delay 200 to 272 s
#: at poke_interval 10 to 60 on hour-long jobs), with a fifth by 37 to 68 s; a sixth keeps the
#: p95 delay at ``min_interval`` just (20 s at 20, 58 s at 60), an eighth with room to spare,
#: since the model is an assumption.
FRACTION_OF_PROGRESS = 0.125
#: Without any estimate, each wait is this many times the one before (from ``min_interval``).
GROWTH_WITHOUT_ESTIMATE = 2.0
#: How many spreads (PollSample.spread) below and above the estimate the job's end is taken to
#: lie. Chosen from benchmarks/polling_budget.py (docs/performance.md, "Polling budget"): 2.0
#: costs 5 to 15 % more calls at the same delay; 1.5 keeps the p95 delay at ``min_interval``
#: with noisy estimates (lognormal sigma 0.8).
MARGIN_IN_SPREADS = 1.5
#: A previous estimate that said the job would be done by now counts as a disagreement of this
#: many natural-log units (a factor of e**2): the rule then falls back to FRACTION_OF_REMAINING
#: until later estimates agree again.
INCONSISTENT = 2.0
#: Weight of the newest disagreement in the spread (the rest is the spread before).
SPREAD_WEIGHT = 0.5
#: The spread assumed before the first pair of estimates is compared (an estimate off by a
#: factor of e, as an unverified estimate may be): one lucky agreement cannot make the rule
#: trust NetSuite fully (without it, p95 delays of 300 to 500 s on hour-long jobs with noisy
#: estimates in the benchmark).
SPREAD_PRIOR = 1.0


def next_poll_interval(
    *,
    now: float,
    percent_completed: float,
    est_remaining_duration: float,
    previous: PollSample | None,
    min_interval: float,
    max_interval: float,
) -> float:
    """Seconds to wait before the next checkAsyncStatus: ``next_poll(...).interval``.

    Same arguments and errors as ``next_poll``.
    """
    return next_poll(
        now=now,
        percent_completed=percent_completed,
        est_remaining_duration=est_remaining_duration,
        previous=previous,
        min_interval=min_interval,
        max_interval=max_interval,
    ).interval


def next_poll(
    *,
    now: float,
    percent_completed: float,
    est_remaining_duration: float,
    previous: PollSample | None,
    min_interval: float,
    max_interval: float,
) -> PollSample:
    """The sample to remember for this answer; its ``interval`` is the seconds to wait before
    the next checkAsyncStatus, within ``[min_interval, max_interval]``.

    Args:
        now: monotonic seconds when this answer came.
        percent_completed: percent (0..100) from this answer.
        est_remaining_duration: seconds from this answer; 0.0 (NetSuite's pending answer) and
            anything not finite, negative or above MAX_TRUSTED_ESTIMATE count as no estimate.
        previous: what this function returned for the poll before, or None on the first.
        min_interval: seconds, > 0 (the sensor's poke_interval): the wait near the expected end,
            hence the detection delay when the numbers NetSuite sends carry information.
        max_interval: seconds, >= min_interval: the longest wait, hence the worst detection delay.

    Returns:
        PollSample(at=now, percent_completed, interval, remaining, spread): see the module's
        docstring for the rule.

    Raises:
        ConfigurationError: bounds that are not finite, not positive, or in the wrong order.
    """
    check_bounds(min_interval, max_interval)
    netsuite = _trusted(est_remaining_duration)
    estimates = [netsuite]
    if (
        previous is not None
        and math.isfinite(percent_completed)
        and math.isfinite(previous.percent_completed)
        and previous.percent_completed > 0  # from 0 percent, when the job started is unknown
    ):
        gained, elapsed = percent_completed - previous.percent_completed, now - previous.at
        if gained > 0 and elapsed > 0:
            estimates.append(_trusted((100.0 - min(percent_completed, 100.0)) * elapsed / gained))
    known = [e for e in estimates if e is not None]
    spread = previous.spread if previous is not None else None
    if netsuite is not None and previous is not None and previous.remaining is not None:
        predicted = previous.remaining - (now - previous.at)
        consistent = math.isfinite(predicted) and predicted > 0
        # The difference of logs, not the log of the ratio: a tiny estimate (5e-324 s) over a large
        # prediction rounds the ratio to 0.0, whose log is a domain error.
        disagreement = (
            min(abs(math.log(netsuite) - math.log(predicted)), INCONSISTENT) if consistent else INCONSISTENT
        )
        before = spread if spread is not None and 0 <= spread <= INCONSISTENT else SPREAD_PRIOR
        spread = math.sqrt(SPREAD_WEIGHT * disagreement**2 + (1 - SPREAD_WEIGHT) * before**2)
    elif netsuite is None:
        spread = None  # 0.0 or nonsense: what was learnt no longer applies
    if known:
        wanted = min(known) * (FRACTION_OF_REMAINING if netsuite is not None else FRACTION_OF_PROGRESS)
        if spread is not None and not 0 <= spread <= INCONSISTENT:
            spread = None  # not a spread this function made
        if netsuite is not None and spread is not None:
            # The end lies between expected * e**-m and expected * e**m (m: the margin). Poll
            # at its upper side when that span is shorter than min_interval (one poll sees the
            # end within the span); else min_interval after its lower side (a job ending in
            # between is seen within min_interval; one ending later, with a closer estimate).
            margin, expected = MARGIN_IN_SPREADS * spread, min(known)
            jump = min(expected * math.exp(margin), expected * math.exp(-margin) + min_interval)
            wanted = max(wanted, jump)
    elif previous is not None and (
        previous.percent_completed <= 0 < percent_completed
        or previous.percent_completed < 100 <= percent_completed < math.inf
    ):
        # Just moved off 0 percent (its pace is measured over a short wait, however long it was
        # queued), or just reached 100 percent while still running (about to end; if it stays
        # there, the waits double again from min_interval).
        wanted = min_interval
    elif previous is not None and math.isfinite(previous.interval):
        wanted = previous.interval * GROWTH_WITHOUT_ESTIMATE
    else:
        wanted = min_interval
    interval = min(max_interval, max(min_interval, wanted))
    return PollSample(now, percent_completed, interval, netsuite, spread)


def failed_poll_interval(
    *,
    failures: int,
    previous_interval: float | None,
    min_interval: float,
    max_interval: float,
) -> float:
    """Seconds to wait after a poll that failed, within ``[min_interval, max_interval]``.

    The wait doubles with each failure in a row, from the last wait used (``previous_interval``,
    or ``min_interval`` when no poll has been answered yet): ``base * 2 ** (failures - 1)``, at
    most ``max_interval``. A flaky network is thus asked less and less often, but never less
    often than every ``max_interval`` seconds.

    Args:
        failures: failed polls in a row, this one included; 0 (a failure that is not counted,
            such as a concurrency fault) waits as 1 does.
        previous_interval: seconds; the wait chosen after the last answered poll, or None.
        min_interval: seconds, > 0 (the sensor's poke_interval).
        max_interval: seconds, >= min_interval.

    Raises:
        ConfigurationError: bounds that are not finite, not positive, or in the wrong order.
    """
    check_bounds(min_interval, max_interval)
    base = min_interval if previous_interval is None else previous_interval
    # The exponent is capped so that a long outage cannot overflow before the clamp.
    return min(max_interval, base * 2 ** min(max(failures, 1) - 1, 32))


def check_bounds(
    min_interval: float,
    max_interval: float,
    *,
    names: tuple[str, str] = ("min_interval", "max_interval"),
) -> None:
    """Raise ConfigurationError unless 0 < min_interval <= max_interval <= MAX_WAIT seconds.

    Args:
        names: what the caller calls the two bounds, for the message (a sensor says
            ``("poke_interval", "max_poll_interval")``).

    Raises:
        ConfigurationError: naming the bound that is wrong, its value and what it must be, e.g.
            ``max_interval=1.0 must be >= min_interval (5.0)``, or more than MAX_WAIT seconds.
    """
    low, high = names
    for name, value in ((low, min_interval), (high, max_interval)):
        check_seconds(name, value)
    if min_interval <= 0:
        raise ConfigurationError(f"{low}={min_interval!r} must be > 0 seconds.")
    if max_interval < min_interval:
        raise ConfigurationError(f"{high}={max_interval!r} must be >= {low} ({min_interval!r}).")


def check_seconds(name: str, value: object) -> float:
    """``value`` as float seconds, or ConfigurationError unless it is a number (not a bool) that
    is finite and at most MAX_WAIT.

    Args:
        name: what the caller calls the value, for the message (``"timeout"``).

    Raises:
        ConfigurationError: naming ``name`` and its value, e.g. ``timeout=1000000000000 s is more
            than 365 days (31536000 s)...``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigurationError(f"{name}={value!r} must be a finite number of seconds.")
    if value > MAX_WAIT:
        raise ConfigurationError(
            f"{name}={value!r} s is more than {MAX_WAIT / 86400:.0f} days ({MAX_WAIT:.0f} s), the longest "
            "wait accepted: NetSuite purges async jobs after 30 days, and Airflow stores the end of a "
            "deferred wait as a date, which must fit its database (MySQL's ends in January 2038). "
            f"Give at most {MAX_WAIT:.0f} seconds."
        )
    return float(value)
