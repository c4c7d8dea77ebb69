"""Property: the adaptive poll interval stays within [min_interval, max_interval] whatever
NetSuite sends and whatever came before; invalid bounds raise ConfigurationError
(airflow_asyncjob.netsuite.polling, docs/sensor.md "Adaptive polling")."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from airflow_asyncjob.netsuite.faults import ConfigurationError
from airflow_asyncjob.netsuite.polling import (
    MAX_TRUSTED_ESTIMATE,
    PollSample,
    check_bounds,
    next_poll_interval,
)

SETTINGS = settings(max_examples=300)

any_float = st.floats()  # NaN, +-INF, -0.0, subnormals, +-1.8e308
seconds = st.floats(min_value=1e-6, max_value=1e7)
maybe_float = st.one_of(st.none(), any_float)
samples = st.builds(
    PollSample,
    at=any_float,
    percent_completed=any_float,
    interval=any_float,
    remaining=maybe_float,
    spread=maybe_float,
)


@st.composite
def valid_bounds(draw) -> tuple[float, float]:
    low = draw(st.one_of(seconds, st.integers(1, 3600)))
    high = draw(st.one_of(st.just(low), st.floats(min_value=float(low), max_value=1e7)))
    return low, high


@SETTINGS
@given(
    bounds=valid_bounds(),
    now=any_float,
    percent=any_float,
    est=any_float,
    previous=st.one_of(st.none(), samples),
)
def test_the_interval_is_always_within_its_bounds(bounds, now, percent, est, previous):
    low, high = bounds
    check_bounds(low, high)  # valid bounds pass
    interval = next_poll_interval(
        now=now,
        percent_completed=percent,
        est_remaining_duration=est,
        previous=previous,
        min_interval=low,
        max_interval=high,
    )
    assert isinstance(interval, (int, float)) and not math.isnan(interval)
    assert low <= interval <= high


@SETTINGS
@given(bounds=valid_bounds(), est=st.floats(min_value=0, max_value=30 * 24 * 3600.0))
def test_a_trusted_estimate_on_the_first_poll_waits_a_quarter_of_it(bounds, est):
    low, high = bounds
    interval = next_poll_interval(
        now=0.0,
        percent_completed=0.0,
        est_remaining_duration=est,
        previous=None,
        min_interval=low,
        max_interval=high,
    )
    assert interval == min(high, max(low, est / 4))


unusable_estimates = st.sampled_from([0.0, -1.0, math.nan, math.inf, 1e12])
running_percent = st.floats(min_value=0.01, max_value=99.99)


@SETTINGS
@given(
    bounds=valid_bounds(),
    est=unusable_estimates,
    before=st.floats(min_value=-5.0, max_value=0.0),
    percent=running_percent,
    last_wait=st.floats(min_value=1e-3, max_value=1e7),
    elapsed=st.floats(min_value=1e-3, max_value=1e6),
)
def test_a_job_just_off_0_percent_without_an_estimate_waits_the_shortest_wait(
    bounds, est, before, percent, last_wait, elapsed
):
    low, high = bounds
    previous = PollSample(at=0.0, percent_completed=before, interval=last_wait)
    interval = next_poll_interval(
        now=elapsed,
        percent_completed=percent,
        est_remaining_duration=est,
        previous=previous,
        min_interval=low,
        max_interval=high,
    )
    assert interval == low  # its pace is unknown, however long it was queued


@SETTINGS
@given(
    bounds=valid_bounds(),
    est=unusable_estimates,
    before=running_percent,
    gained=st.floats(min_value=0.01, max_value=99.0),
    elapsed=st.floats(min_value=1e-3, max_value=1e5),
)
def test_the_progress_seen_alone_waits_an_eighth_of_what_it_says_is_left(
    bounds, est, before, gained, elapsed
):
    low, high = bounds
    percent = before + gained
    assume(percent < 100.0)
    left = (100.0 - percent) * elapsed / (percent - before)
    assume(left <= MAX_TRUSTED_ESTIMATE)
    interval = next_poll_interval(
        now=elapsed,
        percent_completed=percent,
        est_remaining_duration=est,
        previous=PollSample(at=0.0, percent_completed=before, interval=low),
        min_interval=low,
        max_interval=high,
    )
    assert interval == pytest.approx(min(high, max(low, left / 8)))


not_a_number_of_seconds = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, True, False, None, [1.0]]),
    st.text(max_size=5),
)


@st.composite
def invalid_bounds(draw) -> tuple[object, object]:
    kind = draw(st.sampled_from(["not a number", "not positive", "wrong order"]))
    if kind == "not a number":
        low, high = draw(not_a_number_of_seconds), draw(st.one_of(seconds, not_a_number_of_seconds))
        return (low, high) if draw(st.booleans()) else (high, low)
    if kind == "not positive":
        return draw(st.floats(max_value=0.0, allow_infinity=False)), draw(seconds)
    low = draw(seconds)
    return low, draw(st.floats(min_value=-1e7, max_value=low, exclude_max=True, allow_infinity=False))


@SETTINGS
@given(invalid_bounds())
def test_invalid_bounds_raise_configuration_error(bounds):
    low, high = bounds
    with pytest.raises(ConfigurationError, match="min_interval|max_interval"):
        check_bounds(low, high)
    with pytest.raises(ConfigurationError):
        next_poll_interval(
            now=0.0,
            percent_completed=0.0,
            est_remaining_duration=1.0,
            previous=None,
            min_interval=low,
            max_interval=high,
        )
