"""The deferrable sensor and its trigger: what goes to the trigger, and what comes back from it.

The trigger runs against the emulator; its event goes through JSON, as it does between the
triggerer and the worker, before the sensor's execute_complete reads it.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_asyncjob.netsuite.faults import ConfigurationError, NetSuiteTransportError, PermissionDeniedError
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.sensors.async_job_status import AsyncJobStatusSensor
from airflow_asyncjob.triggers.async_job_status import AsyncJobStatusTrigger

TWO_QUICK_ATTEMPTS = RetryPolicy(max_attempts=2, max_delay=5.0, initial_wait=0.01, max_wait=0.01)


def job(emulator, processing_seconds: float) -> str:
    return emulator.create_job(
        {
            "operation": "asyncUpsertList",
            "pending_seconds": 0.0,
            "processing_seconds": processing_seconds,
            "records": [{"externalId": "c1", "internalId": "1", "type": "customer"}],
        }
    )


def sensor(**kwargs) -> AsyncJobStatusSensor:
    return AsyncJobStatusSensor(
        task_id="wait", job_id="J", poke_interval=0.05, max_poll_interval=0.2, **kwargs
    )


async def trigger_event(emulator, job_id: str) -> dict:
    trigger = AsyncJobStatusTrigger(
        job_id=job_id,
        poke_interval=0.05,
        max_poll_interval=0.2,
        retry=dataclasses.asdict(TWO_QUICK_ATTEMPTS),
    )
    (payload,) = [event.payload async for event in trigger.run()]
    return json.loads(json.dumps(payload))


async def test_a_permanent_error_event_fails_the_task_with_the_typed_error_as_cause(emulator):
    job_id = job(emulator, processing_seconds=5)
    emulator.inject(
        "soap_fault",
        code="INSUFFICIENT_PERMISSION",
        fault_type="InsufficientPermissionFault",
        message="Permission Violation",
        operation="checkAsyncStatus",
    )
    event = await trigger_event(emulator, job_id)
    with pytest.raises(AirflowFailException, match="INSUFFICIENT_PERMISSION") as caught:
        sensor().execute_complete(context={}, event=event)
    cause = caught.value.__cause__
    assert isinstance(cause, PermissionDeniedError)
    assert cause.code == "INSUFFICIENT_PERMISSION" and cause.job_id == job_id
    assert cause.hint and "SOAP Web Services" in cause.hint


async def test_a_transient_error_event_raises_the_typed_error_so_the_tasks_retries_apply(emulator):
    job_id = job(emulator, processing_seconds=5)
    emulator.inject("http_error", status=503, operation="checkAsyncStatus", times=None)
    event = await trigger_event(emulator, job_id)
    with pytest.raises(NetSuiteTransportError) as caught:
        sensor().execute_complete(context={}, event=event)
    assert caught.value.transient and caught.value.http_status == 503
    assert str(caught.value) == event["message"]


def test_an_event_the_sensor_does_not_read_fails_the_task_quoting_it():
    with pytest.raises(AirflowFailException, match="not one this sensor reads.*'done'"):
        sensor().execute_complete(context={}, event={"status": "done", "job_id": "J"})


def test_the_deferrable_sensor_hands_its_retry_policy_to_the_trigger_as_plain_values(emulator):
    job_id = job(emulator, processing_seconds=600)
    wait = AsyncJobStatusSensor(
        task_id="wait", job_id=job_id, deferrable=True, poke_interval=1, retry=TWO_QUICK_ATTEMPTS
    )
    with pytest.raises(TaskDeferred) as deferred:
        wait.execute(context={})
    _, kwargs = deferred.value.trigger.serialize()
    assert kwargs["retry"] == dataclasses.asdict(TWO_QUICK_ATTEMPTS)
    json.dumps(kwargs)  # plain values


def test_the_trigger_refuses_an_unknown_retry_field():
    with pytest.raises(ConfigurationError, match="unknown field.*max_tries"):
        AsyncJobStatusTrigger(job_id="J", retry={"max_tries": 2})


def test_the_deferred_trigger_waits_before_its_first_poll_as_the_pokes_status_says(emulator):
    job_id = job(emulator, processing_seconds=600)  # processing: about 600 s left
    wait = AsyncJobStatusSensor(
        task_id="wait", job_id=job_id, deferrable=True, poke_interval=1, max_poll_interval=100
    )
    with pytest.raises(TaskDeferred) as deferred:
        wait.execute(context={})
    _, kwargs = deferred.value.trigger.serialize()
    # A quarter of the ~600 s left, at most max_poll_interval: not a second poll at once.
    assert kwargs["first_poll_after"] == 100.0
    assert emulator.stats()["requests"]["checkAsyncStatus"] == 1  # the poke only
