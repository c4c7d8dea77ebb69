"""The adaptive poll interval: the documented rule, and bounds that hold whatever NetSuite says."""

from __future__ import annotations

import math

import pytest

from airflow_asyncjob.netsuite.faults import ConfigurationError
from airflow_asyncjob.netsuite.polling import (
    PollSample,
    check_bounds,
    failed_poll_interval,
    next_poll,
    next_poll_interval,
)

BOUNDS = {"min_interval": 5.0, "max_interval": 300.0}


def interval(percent=10.0, est=0.0, previous=None, now=100.0, **bounds):
    return next_poll_interval(
        now=now,
        percent_completed=percent,
        est_remaining_duration=est,
        previous=previous,
        **(bounds or BOUNDS),
    )


def test_a_quarter_of_netsuites_estimate():
    assert interval(est=120.0) == 30.0


def test_an_estimate_of_zero_is_no_estimate():
    # NetSuite's pending answer says 0.0 seconds left: back off as without an estimate.
    assert interval(est=0.0) == 5.0
    previous = PollSample(at=95.0, percent_completed=10.0, interval=40.0)
    assert interval(est=0.0, previous=previous) == 80.0


def test_estimate_is_clamped_to_the_bounds():
    assert interval(est=2.0) == 5.0
    assert interval(est=10_000.0) == 300.0


def test_progress_seen_alone_waits_an_eighth_of_what_it_says_is_left():
    # 10 -> 20 percent in 10 s: 80 percent left takes 80 s; NetSuite says 0.0 -> wait 10 s
    previous = PollSample(at=90.0, percent_completed=10.0, interval=5.0)
    assert interval(percent=20.0, est=0.0, previous=previous, now=100.0) == 10.0
    assert interval(percent=20.0, est=float("nan"), previous=previous, now=100.0) == 10.0


def test_the_smaller_estimate_wins_and_with_netsuites_a_quarter_of_it():
    # the progress seen says 80 s, NetSuite 200 s -> a quarter of 80 s
    previous = PollSample(at=90.0, percent_completed=10.0, interval=5.0)
    assert interval(percent=20.0, est=200.0, previous=previous, now=100.0) == 20.0
    # NetSuite's 40 s is the smaller -> a quarter of it
    assert interval(percent=20.0, est=40.0, previous=previous, now=100.0) == 10.0


def test_a_job_just_off_0_percent_is_asked_again_soon_not_extrapolated():
    # 0 percent 10 s ago, 0.02 percent now: the job started at some moment in between, so
    # 0.02 percent per 10 s (14 hours to go) is not its pace. Measure it over the shortest wait,
    # however long the job was queued, instead of waiting the longest.
    previous = PollSample(at=90.0, percent_completed=0.0, interval=10.0)
    assert interval(percent=0.02, est=0.0, previous=previous, now=100.0) == 5.0
    queued_long = PollSample(at=90.0, percent_completed=0.0, interval=250.0)
    assert interval(percent=0.02, est=0.0, previous=queued_long, now=100.0) == 5.0
    # NetSuite's own estimate still counts.
    assert interval(percent=0.02, est=120.0, previous=previous, now=100.0) == 30.0


def test_a_job_reaching_100_percent_still_running_is_asked_again_soon_then_less_often():
    # No estimate and no progress to measure, but the job is about to end: not twice the last
    # wait. If it stays at 100 percent, the waits double again from the shortest.
    previous, now, waits = PollSample(at=0.0, percent_completed=80.0, interval=40.0), 0.0, []
    for _ in range(4):
        now += previous.interval
        previous = next_poll(
            now=now, percent_completed=100.0, est_remaining_duration=0.0, previous=previous, **BOUNDS
        )
        waits.append(previous.interval)
    assert waits == [5.0, 10.0, 20.0, 40.0]


@pytest.mark.parametrize("est", [float("nan"), float("inf"), -1.0, 1e12])
def test_unusable_estimate_backs_off_from_the_last_wait(est):
    assert interval(est=est) == 5.0  # first poll: the shortest wait
    previous = PollSample(at=95.0, percent_completed=10.0, interval=40.0)
    assert interval(est=est, previous=previous) == 80.0  # no progress: twice the last wait
    long_ago = PollSample(at=95.0, percent_completed=10.0, interval=250.0)
    assert interval(est=est, previous=long_ago) == 300.0


@pytest.mark.parametrize("percent", [float("nan"), -5.0, 150.0, float("inf")])
def test_strange_percentages_stay_within_bounds(percent):
    previous = PollSample(at=90.0, percent_completed=1.0, interval=5.0)
    assert 5.0 <= interval(percent=percent, est=float("nan"), previous=previous) <= 300.0


@pytest.mark.parametrize(
    ("low", "high"), [(0, 10), (-1, 10), (10, 5), (float("nan"), 10), (5, float("inf")), (True, 10)]
)
def test_bad_bounds_are_a_configuration_error(low, high):
    with pytest.raises(ConfigurationError):
        interval(min_interval=low, max_interval=high)


def test_never_nan():
    previous = PollSample(at=100.0, percent_completed=5.0, interval=5.0)  # same instant
    assert not math.isnan(interval(percent=6.0, previous=previous, now=100.0))


def after_failures(failures, previous_interval=None, **bounds):
    return failed_poll_interval(failures=failures, previous_interval=previous_interval, **(bounds or BOUNDS))


def test_after_failed_polls_the_wait_doubles_from_the_last_one():
    assert [after_failures(n, previous_interval=20.0) for n in (1, 2, 3, 4)] == [20.0, 40.0, 80.0, 160.0]


def test_before_any_answer_a_failed_poll_waits_the_shortest_wait():
    assert [after_failures(n) for n in (0, 1, 2)] == [5.0, 5.0, 10.0]


def test_after_many_failed_polls_the_wait_stays_at_the_longest():
    assert after_failures(10_000, previous_interval=20.0) == 300.0


def test_after_failed_polls_bad_bounds_are_a_configuration_error():
    with pytest.raises(ConfigurationError, match=r"max_interval=1.0 must be >= min_interval \(5.0\)"):
        after_failures(1, min_interval=5.0, max_interval=1.0)


@pytest.mark.parametrize(
    ("low", "high", "message"),
    [
        (0, 10, "poke_interval=0 must be > 0 seconds"),
        (float("nan"), 10, "poke_interval=nan must be a finite number of seconds"),
        (5, True, "max_poll_interval=True must be a finite number of seconds"),
        (10, 5, r"max_poll_interval=5 must be >= poke_interval \(10\)"),
        (5, 10**12, r"max_poll_interval=1000000000000 s is more than 365 days \(31536000 s\)"),
    ],
)
def test_a_bad_bound_is_named_as_the_caller_names_it(low, high, message):
    with pytest.raises(ConfigurationError, match=message):
        check_bounds(low, high, names=("poke_interval", "max_poll_interval"))


def answers(*polls, min_interval=5.0, max_interval=3600.0):
    """The samples next_poll returns for answers (now s, estRemainingDuration s), in order;
    percentCompleted stays 10 so that only NetSuite's estimate informs the rule."""
    previous, samples = None, []
    for now, est in polls:
        previous = next_poll(
            now=now,
            percent_completed=10.0,
            est_remaining_duration=est,
            previous=previous,
            min_interval=min_interval,
            max_interval=max_interval,
        )
        samples.append(previous)
    return samples


def test_next_poll_interval_is_the_interval_of_next_poll():
    first, second = answers((0.0, 1000.0), (250.0, 750.0))
    assert interval(est=750.0, previous=first, now=250.0, min_interval=5.0, max_interval=3600.0) == (
        second.interval
    )


def test_the_first_estimate_waits_a_quarter_of_it():
    # One estimate says nothing about how far it can be trusted.
    (first,) = answers((0.0, 1000.0))
    assert first.interval == 250.0


def test_estimates_that_keep_time_bring_the_next_poll_close_to_the_expected_end():
    # 1000 s left at 0, 750 s left at 250: NetSuite's clock agrees with ours.
    _, second = answers((0.0, 1000.0), (250.0, 750.0))
    assert 750.0 / 4 < second.interval <= 750.0
    # ... and the more answers agree, the closer the poll comes to the end, never past it.
    *_, fourth = answers((0.0, 1000.0), (250.0, 750.0), (400.0, 600.0), (500.0, 500.0))
    assert fourth.interval / 500.0 > second.interval / 750.0
    assert fourth.interval <= 500.0


def test_the_more_successive_estimates_disagree_the_earlier_the_next_poll():
    # The second answer always says 750 s left; the first said the job would end at 1000 s,
    # 1500 s or 3000 s.
    waits = [answers((0.0, first), (250.0, 750.0))[-1].interval for first in (1000.0, 1500.0, 3000.0)]
    assert waits == sorted(waits, reverse=True) and waits[0] > waits[-1]
    assert all(wait >= 750.0 / 4 for wait in waits)  # never shorter than without the history


def test_an_estimate_that_ran_out_falls_back_to_a_quarter():
    # 100 s left at 0, yet at 300 s NetSuite says 400 s left: the estimates do not keep time.
    _, second = answers((0.0, 100.0), (300.0, 400.0))
    assert second.interval == 100.0


def test_a_zero_estimate_forgets_what_the_estimates_said():
    *_, after_zero = answers((0.0, 1000.0), (250.0, 750.0), (400.0, 0.0))
    assert after_zero.spread is None and after_zero.remaining is None
    # The next estimate is then a first one again: a quarter of it.
    *_, again = answers((0.0, 1000.0), (250.0, 750.0), (400.0, 0.0), (450.0, 400.0))
    assert again.interval == 100.0


def test_near_the_end_a_job_is_seen_within_min_interval_of_the_lower_side():
    # Estimates that agree except for a little noise: the poll comes at most min_interval
    # after the earliest end they allow, and not before min_interval.
    *_, last = answers((0.0, 1000.0), (250.0, 700.0), (600.0, 40.0), min_interval=30.0)
    assert 30.0 <= last.interval <= 40.0 + 30.0


@pytest.mark.parametrize("tiny", [5e-324, 1e-300, 1e-9])
def test_a_vanishingly_small_estimate_after_a_large_one_is_a_wait_not_an_error(tiny):
    # The ratio of the two rounds to 0.0 for the smallest: the rule must still answer in bounds.
    *_, last = answers((0.0, 1000.0), (10.0, tiny))
    assert 5.0 <= last.interval <= 3600.0  # answers()'s bounds
    assert last.spread is not None and math.isfinite(last.spread)
