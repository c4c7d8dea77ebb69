"""Benchmark (b), one measurement: client CPU time per warm checkAsyncStatus against the emulator
(which runs in another process, so the CPU counted here is the client's alone).

    AIRFLOW_CONN_NETSUITE_DEFAULT='{...}' python benchmarks/warm_poll.py hook|async|zeep \
        --job-id ID --polls 2000 --out RESULT.json [--profile STATS.prof]

hook:  ``SoapAsyncJobHook().check_async_status(job_id)`` (the sync path a sensor's poke takes:
       NetSuiteClient, tenacity, tokenPassport, zeep over our compact schema, strict pre-parse).
async: ``AsyncNetSuiteClient.check_async_status`` leased from ``SoapAsyncJobHook().get_async_conn()``
       (the path each trigger poll takes), polls one after another in one event loop.
zeep:  ``zeep.Client`` on NetSuite's full 2023_2 WSDL, its service bound to the emulator, with a
       tokenPassport header from ``auth.token_passport`` (as ours builds it), default transport.

The first ``--warmup`` polls (connection read, schema parse, TCP connect) are not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import time
from collections.abc import Callable
from typing import Any

from support import ENDPOINT_VERSION, REAL_BINDING, REAL_WSDL, peak_rss_mib, write_result


def measure(poll: Callable[[], Any], polls: int, warmup: int, profile: str | None) -> dict[str, float]:
    for _ in range(warmup):
        poll()
    profiler = cProfile.Profile(time.process_time) if profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for _ in range(polls):
        poll()
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profiler and profile:
        profiler.dump_stats(profile)
    return {"cpu_ms_per_poll": 1000 * cpu / polls, "wall_ms_per_poll": 1000 * wall / polls}


def hook_poller(job_id: str) -> Callable[[], Any]:
    from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook

    hook = SoapAsyncJobHook()

    def poll() -> None:
        status = hook.check_async_status(job_id)
        assert status.status.value == "processing", status

    return poll


def zeep_poller(job_id: str) -> Callable[[], Any]:
    import zeep

    from airflow_asyncjob.netsuite.auth import TokenCredentials, token_passport
    from airflow_asyncjob.netsuite.endpoints import normalize_account_id

    connection = json.loads(os.environ["AIRFLOW_CONN_NETSUITE_DEFAULT"])
    extra = connection["extra"]
    credentials = TokenCredentials(
        account=normalize_account_id(extra["account_id"]),
        consumer_key=extra["consumer_key"],
        consumer_secret=extra["consumer_secret"],
        token_id=extra["token_id"],
        token_secret=extra["token_secret"],
    )
    url = f"{connection['host']}/services/NetSuitePort_{ENDPOINT_VERSION}"
    service = zeep.Client(str(REAL_WSDL)).create_service(REAL_BINDING, url)

    def poll() -> None:
        answer = service.checkAsyncStatus(
            jobId=job_id, _soapheaders={"tokenPassport": token_passport(credentials)}
        )
        assert answer.body.asyncStatusResult.status == "processing", answer

    return poll


def run_async(job_id: str, polls: int, warmup: int, profile: str | None) -> dict[str, float]:
    """The async client, polled one after another in one event loop (CPU counted as in ``measure``)."""
    from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook

    async def main() -> dict[str, float]:
        async with SoapAsyncJobHook().get_async_conn() as client:

            async def poll() -> None:
                status = await client.check_async_status(job_id)
                assert status.status.value == "processing", status

            for _ in range(warmup):
                await poll()
            profiler = cProfile.Profile(time.process_time) if profile else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            for _ in range(polls):
                await poll()
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if profiler and profile:
                profiler.dump_stats(profile)
            return {"cpu_ms_per_poll": 1000 * cpu / polls, "wall_ms_per_poll": 1000 * wall / polls}

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["hook", "async", "zeep"])
    parser.add_argument("--job-id", required=True)
    parser.add_argument("--polls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--profile", help="write cProfile stats of the counted polls here")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.kind == "async":
        result = run_async(args.job_id, args.polls, args.warmup, args.profile)
    else:
        poller = hook_poller if args.kind == "hook" else zeep_poller
        result = measure(poller(args.job_id), args.polls, args.warmup, args.profile)
    write_result(args.out, {"kind": args.kind, "polls": args.polls, **result, "max_rss_mib": peak_rss_mib()})


if __name__ == "__main__":
    main()
