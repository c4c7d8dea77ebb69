"""AsyncJobStatusSensor refuses wrong arguments with errors that say what to change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowFailException

from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor, SensorTimingWarning


def sensor(**kwargs):
    return AsyncJobStatusSensor(task_id="wait", job_id="J", **kwargs)


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="on_finished_with_errors='retry'.*'fail', 'succeed', 'branch'"):
        sensor(on_finished_with_errors="retry")


def test_branch_needs_both_follow_lists():
    with pytest.raises(ValueError, match="give both follow_task_ids_if_finished"):
        sensor(on_finished_with_errors="branch", follow_task_ids_if_finished="load")


def test_follow_ids_without_branch_are_refused():
    with pytest.raises(ValueError, match="only used with on_finished_with_errors='branch'"):
        sensor(on_finished_with_errors="succeed", follow_task_ids_if_finished="load")


def test_follow_ids_of_the_wrong_type_are_named():
    with pytest.raises(TypeError, match="follow_task_ids_if_finished must be a task id or a list"):
        sensor(
            on_finished_with_errors="branch",
            follow_task_ids_if_finished=5,
            follow_task_ids_if_finished_with_errors="report",
        )


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        (
            {"poke_interval": 5, "max_poll_interval": 1.0},
            r"max_poll_interval=1.0 must be >= poke_interval \(5.0\)",
        ),
        ({"poke_interval": 0}, "poke_interval=0.0 must be > 0 seconds"),
        ({"poke_interval": 5, "max_poll_interval": float("inf")}, "max_poll_interval=inf must be a finite"),
    ],
)
def test_deferrable_poll_bounds_name_the_argument_that_is_wrong(bounds, message):
    with pytest.raises(ValueError, match=rf"^AsyncJobStatusSensor\(task_id='wait'\): {message}"):
        sensor(deferrable=True, **bounds)


def test_branch_to_a_task_that_is_not_downstream_fails_before_polling():
    with DAG("d", schedule=None):
        wait = sensor(
            on_finished_with_errors="branch",
            follow_task_ids_if_finished="load",
            follow_task_ids_if_finished_with_errors="reprt",
        )
        wait >> EmptyOperator(task_id="load")
    with pytest.raises(AirflowFailException, match=r"\['reprt'\], which are not its direct downstream"):
        wait.execute(context={})


OVER_A_YEAR = r"s is more than 365 days \(31536000 s\), the longest wait accepted: NetSuite purges"


@pytest.mark.parametrize("deferrable", [True, False])
@pytest.mark.parametrize("timeout", [10**12, timedelta(days=366)])
def test_a_timeout_airflow_cannot_store_is_refused_when_the_dag_is_parsed(deferrable, timeout):
    # 10**12 s from now is past datetime.max: deferring failed inside Airflow's API server
    with pytest.raises(
        ValueError, match=rf"^AsyncJobStatusSensor\(task_id='wait'\): timeout=.*{OVER_A_YEAR}"
    ):
        sensor(deferrable=deferrable, timeout=timeout)


@pytest.mark.parametrize(
    ("times", "message"),
    [
        ({"timeout": float("inf")}, "timeout=inf must be a finite number of seconds"),
        ({"timeout": float("nan")}, "timeout=nan must be a finite number of seconds"),
        ({"poke_interval": float("inf")}, "poke_interval=inf must be a finite number of seconds"),
        ({"poke_interval": 10**15}, f"poke_interval=1000000000000000 {OVER_A_YEAR}"),
        ({"max_poll_interval": 10**12}, f"max_poll_interval=1000000000000 {OVER_A_YEAR}"),
    ],
)
def test_times_that_are_not_a_storable_wait_are_named(times, message):
    with pytest.raises(ValueError, match=rf"^AsyncJobStatusSensor\(task_id='wait'\): {message}"):
        sensor(**times)


def test_a_poke_interval_longer_than_the_timeout_is_lowered_to_it_with_a_warning():
    with pytest.warns(
        SensorTimingWarning,
        match=r"^AsyncJobStatusSensor\(task_id='wait'\): poke_interval=604800 s is longer than "
        r"timeout=60 s, so the sensor would sleep past its timeout; poking every 60 s instead\.$",
    ):
        wait = sensor(poke_interval=7 * 24 * 3600, timeout=60)
    assert wait.poke_interval == 60.0
    assert wait.max_poll_interval == 60.0  # the default (300 s) is lowered silently


def test_a_max_poll_interval_longer_than_the_timeout_is_lowered_to_it_with_a_warning():
    with pytest.warns(SensorTimingWarning, match=r"max_poll_interval=900 s is longer than timeout=600 s"):
        wait = sensor(deferrable=True, poke_interval=5, max_poll_interval=900, timeout=600)
    assert (wait.poke_interval, wait.max_poll_interval) == (5.0, 600.0)


def test_intervals_within_the_timeout_are_kept_without_a_warning(recwarn):
    wait = sensor(deferrable=True, poke_interval=5, max_poll_interval=60, timeout=600)
    assert (wait.poke_interval, wait.max_poll_interval) == (5.0, 60.0)
    assert sensor(poke_interval=5, timeout=3600).max_poll_interval == 300.0
    assert not [w for w in recwarn if issubclass(w.category, SensorTimingWarning)]
