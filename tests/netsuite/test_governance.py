"""The account's concurrency limit as NetSuite tells it (getIntegrationGovernanceInfo,
getAccountGovernanceInfo) caps each channel's limiter, read once per process and hour."""

from __future__ import annotations

import logging

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook


async def lease_and_poll(job_ids):
    hook = SoapAsyncJobHook()
    async with hook.get_async_conn() as client:
        for job_id in job_ids:
            await client.check_async_status(job_id)
        return client.channel.limiter.ceiling


def governance_calls(emulator):
    requests = emulator.stats()["requests"]
    return requests.get("getIntegrationGovernanceInfo", 0), requests.get("getAccountGovernanceInfo", 0)


async def test_the_integrations_own_allocation_caps_the_ceiling(emulator):
    emulator.set_governance(account_limit=15, integration_limit=2)
    assert await lease_and_poll([]) == 2  # the connection's default max_in_flight is 4


async def test_without_an_allocation_the_unallocated_share_caps_the_ceiling(emulator):
    emulator.set_governance(account_limit=10, unallocated_limit=3)
    assert await lease_and_poll([]) == 3


async def test_a_higher_account_limit_does_not_raise_the_configured_ceiling(emulator):
    emulator.set_governance(account_limit=25)
    assert await lease_and_poll([]) == 4


async def test_read_once_per_process_and_hour_not_per_poll_or_channel(emulator, monkeypatch):
    from airflow_asyncjob.netsuite import async_client
    from airflow_asyncjob.testing.emulator import EXAMPLE_JOB_IDS

    emulator.set_governance(account_limit=3, unallocated_limit=3)
    assert await lease_and_poll([EXAMPLE_JOB_IDS["finished"]] * 5) == 3
    assert governance_calls(emulator) == (1, 1)
    assert emulator.stats()["requests"]["checkAsyncStatus"] == 5
    # The channel closed with its last lease; a new one (a worker's wait, the UI's live fetch)
    # takes the ceiling this process was told, without asking again.
    assert await lease_and_poll([]) == 3
    assert governance_calls(emulator) == (1, 1)
    monkeypatch.setattr(async_client, "GOVERNANCE_MAX_AGE", 0.0)  # an hour later: asked again
    await lease_and_poll([])
    assert governance_calls(emulator) == (2, 2)


async def test_a_role_that_may_not_ask_keeps_the_configured_ceiling_and_logs_once_at_info(emulator, caplog):
    from airflow_asyncjob.testing.emulator import EXAMPLE_JOB_IDS

    emulator.set_governance(permitted=False)
    with caplog.at_level(logging.INFO, logger="airflow_asyncjob.netsuite"):
        assert await lease_and_poll([EXAMPLE_JOB_IDS["finished"]] * 3) == 4
    told = [r for r in caplog.records if "concurrency limit" in r.getMessage()]
    assert len(told) == 1
    assert told[0].levelno == logging.INFO
    assert "keeping max_in_flight=4" in told[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert emulator.stats()["faults"] == {"INSUFFICIENT_PERMISSION": 1}  # tried once, not retried
