"""AsyncJobStatusSensor refuses wrong arguments with errors that say what to change."""

from __future__ import annotations

import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowFailException

from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor


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
