"""Issue 14, part 3: client CPU per poll against floors, and 10,000 triggers, in one run.

    .venv/bin/python benchmarks/cpu.py                      # ~5 min on 2 shared cores
    .venv/bin/python benchmarks/cpu.py --smoke              # every path, tiny sizes
    .venv/bin/python benchmarks/cpu.py --profile async-25   # cProfile (CPU clock) of one kind

Every measurement runs in a fresh interpreter (``--child KIND``); the emulator runs in its own
process (10 ms per request, concurrency limit 200), so the CPU counted is the client's alone.
A poll is one checkAsyncStatus of a job that stays ``processing``; its CPU is
``time.process_time`` over ``--polls`` polls after a warm-up, divided by the polls.

Kinds:
  async-K       ours: ``AsyncNetSuiteClient.check_async_status`` from the hook's
                ``get_async_conn()``, K polls in flight (K tasks polling one after another).
  httpx-K       floor: ``httpx.AsyncClient`` POST of an envelope filled in with lxml (fresh
                tokenPassport per poll), the answer parsed with lxml, K in flight.
  aiohttp-K     the same floor with ``aiohttp.ClientSession``.
  sync          ours: ``SoapAsyncJobHook().check_async_status`` (what a poke runs).
  urllib3       floor: ``urllib3.PoolManager`` POST + lxml, one after another.
  census        ``--census`` waiting triggers on one leased client: the gc-tracked objects after
                the imports, and what each trigger adds (by type) while queued for an in-flight
                slot and while asleep between polls: what a full collection walks.
  triggers      ``--triggers`` AsyncJobStatusTriggers in one event loop, each rebuilt from its
                serialized kwargs and running ``trigger.wait(client)`` on one leased client (the
                channel every trigger of the account shares), jobs pending 0.5-3 s then
                processing 2-10 s: peak RSS, CPU per poll (over the checkAsyncStatus requests the
                emulator counted), the longest garbage-collector pause (``gc.callbacks``), the
                full collections; ``--gc-freeze`` freezes the start-up heap first (what a
                triggerer that called ``gc.freeze()`` after start-up would see).

The ratios printed are those issue 14 sets targets for.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import cProfile
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from support import ENDPOINT_VERSION, EmulatorProcess, machine, peak_rss_mib, run_child, write_result

POLL_JOB_ID = "ASYNCWEBSERVICES_1234567_SB1_112920260000000000000000000_c9u00000"
IN_FLIGHT = (4, 25)


# -- the child: one measurement ----------------------------------------------------------------


def _credentials() -> Any:
    from airflow_asyncjob.netsuite.auth import TokenCredentials
    from airflow_asyncjob.netsuite.endpoints import normalize_account_id

    extra = json.loads(os.environ["AIRFLOW_CONN_NETSUITE_DEFAULT"])["extra"]
    return TokenCredentials(
        account=normalize_account_id(extra["account_id"]),
        consumer_key=extra["consumer_key"],
        consumer_secret=extra["consumer_secret"],
        token_id=extra["token_id"],
        token_secret=extra["token_secret"],
    )


def _service_url() -> str:
    host = json.loads(os.environ["AIRFLOW_CONN_NETSUITE_DEFAULT"])["host"]
    return f"{host}/services/NetSuitePort_{ENDPOINT_VERSION}"


class FloorEnvelope:
    """checkAsyncStatus envelopes filled in with lxml (a fresh tokenPassport each), and the
    answer's status read with lxml: what any client must at least do per poll."""

    HEADERS = {"SOAPAction": '"checkAsyncStatus"', "Content-Type": "text/xml; charset=utf-8"}

    def __init__(self, job_id: str) -> None:
        from lxml import etree

        from airflow_asyncjob.netsuite.auth import token_passport
        from airflow_asyncjob.netsuite.process_state import zeep_service

        self.etree, self.token_passport = etree, token_passport
        self.credentials = _credentials()
        service = zeep_service(ENDPOINT_VERSION, _service_url(), 60.0, records=False)
        kwargs = {"jobId": job_id, "_soapheaders": {"tokenPassport": token_passport(self.credentials)}}
        message = service._binding._create(
            "checkAsyncStatus", (), kwargs, client=service._client, options={"address": _service_url()}
        )
        self.template = message[0]

    def build(self) -> bytes:
        passport = self.token_passport(self.credentials)
        root = copy.deepcopy(self.template)
        for element in root.iter("{*}nonce", "{*}timestamp", "{*}signature"):
            name = self.etree.QName(element).localname
            value = passport[name]
            element.text = str(value["_value_1"] if isinstance(value, dict) else value)
        return self.etree.tostring(root)

    def status(self, answer: bytes) -> str:
        root = self.etree.fromstring(answer)
        return next(root.iter("{*}status")).text or ""


async def _concurrently(
    poll: Callable[[], Awaitable[str]], polls: int, warmup: int, k: int
) -> dict[str, float]:
    async def worker(count: int) -> None:
        for _ in range(count):
            status = await poll()
            assert status == "processing", status

    await asyncio.gather(*(worker(max(1, warmup // k)) for _ in range(k)))
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(polls // k) for _ in range(k)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    counted = (polls // k) * k
    return {"cpu_ms_per_poll": 1000 * cpu / counted, "wall_ms_per_poll": 1000 * wall / counted}


def child_async(kind: str, k: int, args: argparse.Namespace) -> dict[str, float]:
    async def ours() -> dict[str, float]:
        from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook

        async with SoapAsyncJobHook().get_async_conn() as client:

            async def poll() -> str:
                return (await client.check_async_status(args.job_id)).status.value

            return await _concurrently(poll, args.polls, args.warmup, k)

    async def httpx_floor() -> dict[str, float]:
        import httpx

        envelope, url = FloorEnvelope(args.job_id), _service_url()
        limits = httpx.Limits(max_connections=k, max_keepalive_connections=k)
        async with httpx.AsyncClient(limits=limits, timeout=60.0) as http:

            async def poll() -> str:
                response = await http.post(url, content=envelope.build(), headers=envelope.HEADERS)
                return envelope.status(response.content)

            return await _concurrently(poll, args.polls, args.warmup, k)

    async def aiohttp_floor() -> dict[str, float]:
        import aiohttp

        envelope, url = FloorEnvelope(args.job_id), _service_url()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=k)) as http:

            async def poll() -> str:
                async with http.post(url, data=envelope.build(), headers=envelope.HEADERS) as response:
                    return envelope.status(await response.read())

            return await _concurrently(poll, args.polls, args.warmup, k)

    run = {"async": ours, "httpx": httpx_floor, "aiohttp": aiohttp_floor}[kind]
    return asyncio.run(run())


def child_sync(kind: str, args: argparse.Namespace) -> dict[str, float]:
    if kind == "sync":
        from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook

        hook = SoapAsyncJobHook()

        def poll() -> str:
            return hook.check_async_status(args.job_id).status.value
    else:
        import urllib3

        envelope, url = FloorEnvelope(args.job_id), _service_url()
        pool = urllib3.PoolManager(maxsize=1)

        def poll() -> str:
            response = pool.request("POST", url, body=envelope.build(), headers=envelope.HEADERS)
            return envelope.status(response.data)

    for _ in range(args.warmup):
        poll()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(args.polls):
        status = poll()
        assert status == "processing", status
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_ms_per_poll": 1000 * cpu / args.polls, "wall_ms_per_poll": 1000 * wall / args.polls}


def child_triggers(args: argparse.Namespace) -> dict[str, Any]:
    from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
    from airflow_asyncjob.triggers.async_job_status import AsyncJobStatusTrigger

    jobs = json.loads(Path(args.jobs).read_text())
    imported_rss = peak_rss_mib()
    pauses: list[tuple[float, float]] = []  # (wall s, CPU s) of each collection
    full: list[tuple[float, int]] = []  # (CPU s, objects left in generation 2) of each full one
    started = [0.0, 0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[:] = time.perf_counter(), time.process_time()
        else:
            pauses.append((time.perf_counter() - started[0], time.process_time() - started[1]))
            if info["generation"] == 2:  # what the next full collection walks, at least
                full.append((pauses[-1][1], len(gc.get_objects(generation=2))))

    async def main() -> dict[str, Any]:
        async with SoapAsyncJobHook().get_async_conn() as client:
            await client.get_server_time()  # the channel's pool and schema, before counting
            if args.gc_freeze:  # what a triggerer that froze its start-up heap would see
                gc.collect()
                gc.freeze()
            frozen = gc.get_freeze_count()
            gc.callbacks.append(on_gc)
            cpu, wall = time.process_time(), time.perf_counter()
            tasks = []
            for job_id, _expected in jobs:
                _classpath, kwargs = AsyncJobStatusTrigger(
                    job_id=job_id, poke_interval=1.0, max_poll_interval=5.0, timeout=60.0
                ).serialize()
                trigger = AsyncJobStatusTrigger(**kwargs)
                tasks.append(asyncio.create_task(trigger.wait(client)))
                await asyncio.sleep(0)
            events = await asyncio.gather(*tasks, return_exceptions=True)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            gc.callbacks.remove(on_gc)
        wrong = [
            f"{job_id}: {event!r}"[:300]
            for (job_id, expected), event in zip(jobs, events, strict=True)
            if isinstance(event, BaseException) or event.to_payload().get("status") != expected
        ]
        return {
            "n": len(jobs),
            "cpu_s": cpu,
            "wall_s": wall,
            "failures": len(wrong),
            "failure_examples": wrong[:5],
            "gc_max_pause_ms": 1000 * max((wall for wall, _ in pauses), default=0.0),
            "gc_max_pause_cpu_ms": 1000 * max((cpu for _, cpu in pauses), default=0.0),
            "gc_total_cpu_s": sum(cpu for _, cpu in pauses),
            "gc_collections": len(pauses),
            "gc_full_collections": len(full),
            "gc_full_cpu_s": sum(cpu for cpu, _ in full),
            "gc_full_max_objects": max((objects for _, objects in full), default=0),
            "gc_frozen_objects": frozen,
        }

    result = asyncio.run(main())
    return {**result, "rss_after_import_mib": imported_rss}


def _full_collection_cpu_ms(times: int = 5) -> float:
    """The median CPU milliseconds of ``times`` full collections in a row (no garbage left but
    what each finds): what walking the tracked objects alone costs."""
    samples = []
    for _ in range(times):
        started = time.process_time()
        gc.collect()
        samples.append(1000 * (time.process_time() - started))
    return statistics.median(samples)


def _census() -> dict[str, int]:
    gc.collect()
    counts: dict[str, int] = {}
    for obj in gc.get_objects():
        name = type(obj).__qualname__
        counts[name] = counts.get(name, 0) + 1
    return counts


def child_census(args: argparse.Namespace) -> dict[str, Any]:
    """What a full collection walks: tracked objects after the imports and the leased client,
    and what each waiting trigger adds (``gc.get_objects()`` by type, after every trigger has
    polled once and sleeps); and the CPU of one full collection with the heap alone, with n bare
    asyncio tasks asleep (the floor for any trigger) and with the n triggers asleep."""
    from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
    from airflow_asyncjob.triggers.async_job_status import AsyncJobStatusTrigger

    n = args.census

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        async with SoapAsyncJobHook().get_async_conn() as client:
            await client.get_server_time()
            await client.check_async_status(args.job_id)
            before = _census()
            # The floor: the heap alone, then as many bare asyncio tasks asleep as there will be
            # triggers (what the triggerer holds for any provider's waiting triggers).
            collect_heap = _full_collection_cpu_ms()
            bare = [asyncio.create_task(asyncio.sleep(3600)) for _ in range(n)]
            await asyncio.sleep(0)
            tracked_bare = len(gc.get_objects())
            collect_bare = _full_collection_cpu_ms()
            for task in bare:
                task.cancel()
            await asyncio.gather(*bare, return_exceptions=True)
            del bare, task
            gc.collect()
            scheduled = len(loop._scheduled)  # type: ignore[attr-defined]
            tasks = []
            for _ in range(n):
                _classpath, kwargs = AsyncJobStatusTrigger(
                    job_id=args.job_id, poke_interval=600.0, max_poll_interval=600.0, timeout=60.0
                ).serialize()
                trigger = AsyncJobStatusTrigger(**kwargs)
                tasks.append(asyncio.create_task(trigger.wait(client)))
            for _ in range(5):  # each starts its first poll: all but max_in_flight queue for a slot
                await asyncio.sleep(0)
            queued = _census()
            limiter = client.channel.limiter
            while limiter.in_flight or len(loop._scheduled) < scheduled + n:  # type: ignore[attr-defined]
                await asyncio.sleep(0.2)  # until every trigger has polled and sleeps
            del trigger, kwargs
            after = _census()
            collect_asleep = _full_collection_cpu_ms()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        def per_trigger(counts: dict[str, int], triggers: int) -> dict[str, float]:
            delta = {
                name: counts.get(name, 0) - before.get(name, 0) for name in counts.keys() | before.keys()
            }
            shown = {name: round(d / triggers, 2) for name, d in delta.items() if abs(d) >= triggers / 2}
            return {
                "all": round(sum(delta.values()) / triggers, 1),
                **dict(sorted(shown.items(), key=lambda kv: -kv[1])),
            }

        return {
            "n": n,
            "tracked_before": sum(before.values()),
            "tracked_asleep": sum(after.values()),
            "tracked_queued": sum(queued.values()),
            "per_trigger_asleep": per_trigger(after, n),
            "per_trigger_queued": per_trigger(queued, n),
            "tracked_bare_tasks": tracked_bare,
            "full_collection_cpu_ms": {
                "heap": round(collect_heap, 1),
                "bare_tasks_asleep": round(collect_bare, 1),
                "triggers_asleep": round(collect_asleep, 1),
            },
            "largest_types_before": dict(sorted(before.items(), key=lambda kv: -kv[1])[:15]),
        }

    return asyncio.run(main())


def child(args: argparse.Namespace) -> None:
    profiler = cProfile.Profile(time.process_time) if args.profile_out else None
    if profiler:
        profiler.enable()
    kind, _, k = args.child.partition("-")
    if kind == "triggers":
        result: dict[str, Any] = child_triggers(args)
    elif kind == "census":
        result = child_census(args)
    elif k:
        result = child_async(kind, int(k), args)
    else:
        result = child_sync(kind, args)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile_out)
    write_result(args.out, {"kind": args.child, **result, "max_rss_mib": peak_rss_mib()})


# -- the parent: the emulator, every child, the ratios -----------------------------------------


def trigger_jobs(n: int) -> tuple[list[dict[str, Any]], list[list[str]]]:
    rng = random.Random(14)
    jobs, expected = [], []
    for i in range(n):
        job_id = f"ASYNCWEBSERVICES_1234567_SB1_11292026000000{i:013d}_{rng.getrandbits(32):08x}"
        jobs.append(
            {
                "job_id": job_id,
                "operation": "asyncUpsertList",
                "pending_seconds": round(rng.uniform(0.5, 3.0), 2),
                "processing_seconds": round(rng.uniform(2, 10), 2),
                "start_on_first_request": True,
                "records": [{"externalId": f"c{i}", "internalId": str(1000 + i), "type": "customer"}],
            }
        )
        expected.append([job_id, "finished"])
    return jobs, expected


def parent(args: argparse.Namespace) -> None:
    polls, triggers = (200, 300) if args.smoke else (args.polls, args.triggers)
    jobs, expected = trigger_jobs(triggers)
    poll_job = {
        "job_id": POLL_JOB_ID,
        "operation": "asyncUpsertList",
        "pending_seconds": 0,
        "processing_seconds": 86400,
        "records": [{"externalId": "c1", "internalId": "1", "type": "customer"}],
    }
    scenario = {"jobs": [poll_job, *jobs]}
    print(f"machine: {json.dumps(machine())}", flush=True)
    results: dict[str, dict[str, Any]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmulatorProcess(scenario=scenario, concurrency_limit=200, latency=args.latency) as emulator,
    ):
        env = {**os.environ, "AIRFLOW_CONN_NETSUITE_DEFAULT": emulator.connection_json(max_in_flight=25)}
        jobs_file = Path(tmp) / "jobs.json"
        jobs_file.write_text(json.dumps(expected))
        kinds = [f"{kind}-{k}" for k in IN_FLIGHT for kind in ("async", "httpx", "aiohttp")]
        kinds += ["sync", "urllib3", "census", "triggers"]
        kinds = [kind for kind in kinds if not args.only or kind in args.only.split(",")]
        for kind in kinds:
            command = [
                "--child",
                kind,
                "--job-id",
                POLL_JOB_ID,
                "--polls",
                str(polls),
                "--jobs",
                str(jobs_file),
                "--census",
                str(args.census),
                *(["--gc-freeze"] if args.gc_freeze else []),
            ]
            if args.profile == kind:
                command += ["--profile-out", str(Path(tempfile.gettempdir()) / f"asyncjob-cpu-{kind}.prof")]
            emulator.reset()
            result = run_child("cpu.py", *command, env=env)
            if kind == "triggers":
                stats = emulator.stats()
                result["polls"] = stats["requests"].get("checkAsyncStatus", 0)
                result["cpu_ms_per_poll"] = 1000 * result["cpu_s"] / max(result["polls"], 1)
                result["concurrency_faults"] = sum(stats["faults"].values())
            results[kind] = result
            print(f"  {kind}: {json.dumps(result)}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if not args.only:
        report(results)


def report(r: dict[str, dict[str, Any]]) -> None:
    ms = {kind: result["cpu_ms_per_poll"] for kind, result in r.items() if "cpu_ms_per_poll" in result}
    t = r["triggers"]
    rows = [
        ("async, 4 in flight: ms/poll", ms["async-4"], ""),
        ("async, 25 in flight: ms/poll", ms["async-25"], "<= 1.0"),
        ("async / httpx+lxml floor, 4 in flight", ms["async-4"] / ms["httpx-4"], ""),
        ("async / httpx+lxml floor, 25 in flight", ms["async-25"] / ms["httpx-25"], ""),
        ("async / aiohttp+lxml floor, 4 in flight", ms["async-4"] / ms["aiohttp-4"], ""),
        ("async / aiohttp+lxml floor, 25 in flight", ms["async-25"] / ms["aiohttp-25"], "<= 2"),
        ("floors ms/poll: httpx 4 / 25, aiohttp 4 / 25", None, ""),
        ("sync: ms/poll", ms["sync"], ""),
        ("sync / urllib3+lxml floor", ms["sync"] / ms["urllib3"], "<= 2"),
        (f"{t['n']:,} triggers: peak RSS MiB", t["max_rss_mib"], "<= 300"),
        (
            f"{t['n']:,} triggers: CPU per poll / warm client's (25 in flight)",
            ms["triggers"] / ms["async-25"],
            "<= 1.5",
        ),
        (f"{t['n']:,} triggers: longest GC pause, wall ms", t["gc_max_pause_ms"], "< 250"),
        (f"{t['n']:,} triggers: longest GC pause, CPU ms", t["gc_max_pause_cpu_ms"], "< 250"),
        (f"{t['n']:,} triggers: failures", t["failures"], "0"),
    ]
    print("\n| measure | value | target |\n|---|---|---|")
    for label, value, target in rows:
        if value is None:
            shown = (
                f"{ms['httpx-4']:.3f} / {ms['httpx-25']:.3f}, {ms['aiohttp-4']:.3f} / {ms['aiohttp-25']:.3f}"
            )
        elif isinstance(value, int):
            shown = f"{value:,}"
        else:
            shown = f"{value:.3f}" if value < 10 else f"{value:.1f}"
        print(f"| {label} | {shown} | {target} |")
    print(
        f"\nurllib3 floor {ms['urllib3']:.3f} ms/poll; triggers: {t['polls']:,} polls "
        f"({t['polls'] / t['n']:.1f} per trigger), {ms['triggers']:.3f} ms/poll, wall {t['wall_s']:.0f} s, "
        f"RSS after imports {t['rss_after_import_mib']:.1f} MiB, {t['gc_collections']} collections "
        f"(longest {t['gc_max_pause_cpu_ms']:.0f} ms of CPU, {t['gc_total_cpu_s']:.1f} s in all; "
        f"{t['gc_full_collections']} full ones, {t['gc_full_cpu_s']:.1f} s, at most "
        f"{t['gc_full_max_objects']:,} objects left after one, {t['gc_frozen_objects']:,} frozen), "
        f"{t['concurrency_faults']} concurrency faults"
    )
    for example in t["failure_examples"]:
        print(f"  failure: {example}")
    c = r.get("census")
    if c:
        full = c["full_collection_cpu_ms"]
        print(
            f"one full collection, CPU ms (census of {c['n']:,}): the heap alone {full['heap']:.0f} "
            f"({c['tracked_before']:,} objects), {c['n']:,} bare asyncio tasks asleep "
            f"{full['bare_tasks_asleep']:.0f} ({c['tracked_bare_tasks']:,}), {c['n']:,} triggers asleep "
            f"{full['triggers_asleep']:.0f} ({c['tracked_asleep']:,})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--polls", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--triggers", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.01, help="the emulator's seconds per request")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="triggers: gc.freeze() the start-up heap first"
    )
    parser.add_argument(
        "--census", type=int, default=1000, help="waiting triggers whose tracked objects are counted"
    )
    parser.add_argument("--profile", help="a kind (e.g. async-25) to run under cProfile")
    parser.add_argument("--json", help="write every result here")
    parser.add_argument("--only", help="comma-separated kinds to run (no ratios printed)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--job-id", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    sys.exit(main())
