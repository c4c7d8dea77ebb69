#!/usr/bin/env python3
"""Issue 14 part 2: several triggerers on one account. In one run, against one emulator (its own
process; concurrency limit 5, 0.2 s per request):

- 3 triggerer processes at once, each its own event loop and limiter on the connection's
  defaults (``max_in_flight`` 4), each with a third of the jobs;
- 1 process with ``max_in_flight`` 5 and all the jobs (the emulator reset in between, so every
  job's timeline starts again at its first poll).

    .venv/bin/python benchmarks/many_triggerers.py             # 900 jobs of 5-60 s (~5 min)
    .venv/bin/python benchmarks/many_triggerers.py --small     # 150 jobs of 2-10 s (~1 min)

Each process drives the real ``AsyncJobStatusTrigger.run()`` per job (as fan_in.py does), through
the real async client; the jobs poke every 1-2 s (uniform per job), at most every 10 s.

Reported per setting: jobs ending with their expected status / error or timeout events; requests
refused with WS_REQUEST_BLOCKED, as a share of all SOAP requests counted at the emulator; the
processes' windows (limiters sampled every 0.1 s) added up, mean over the run, and the limiters'
decreases; the time from the start to the last event; the longest wait between a refused poll and
the next attempt at that job (client retries and the trigger's own waits alike), and how many were
longer than ``max_poll_interval``. Then, per 10 s of each run: the limits added up, the requests
the limiters held and kept waiting, and the account's requests in flight (``--json`` has the
0.1 s samples).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from support import EmulatorProcess, write_result

HERE = Path(__file__).resolve().parent
TERMINAL_MIX = (("finished", 0.85), ("finishedWithErrors", 0.10), ("failed", 0.05))


def make_jobs(n: int, seed: int, small: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """n emulator jobs (pending 0.5-3 s, processing 5-60 s, or 2-10 s when small) and, per job,
    its expected status and poke interval (1-2 s)."""
    rng = random.Random(seed)
    jobs, plan = [], []
    for i in range(n):
        status = rng.choices([s for s, _ in TERMINAL_MIX], [w for _, w in TERMINAL_MIX])[0]
        job_id = f"ASYNCWEBSERVICES_1234567_SB1_11292026000000{i:013d}_{rng.getrandbits(32):08x}"
        record: dict[str, Any] = {"externalId": f"c{i}", "internalId": str(1000 + i), "type": "customer"}
        if status == "finishedWithErrors":
            record = {"externalId": f"c{i}", "type": "customer", "success": False, "code": "DUP_ENTITY",
                      "message": "This entity already exists."}  # fmt: skip
        job: dict[str, Any] = {
            "job_id": job_id,
            "operation": "asyncUpsertList",
            "pending_seconds": round(rng.uniform(0.5, 3.0), 2),
            "processing_seconds": round(rng.uniform(2, 10) if small else rng.uniform(5, 60), 2),
            "start_on_first_request": True,
            "records": [record],
        }
        if status == "failed":
            job["failure"] = {"code": "UNEXPECTED_ERROR", "message": "An unexpected error occurred."}
        jobs.append(job)
        plan.append({"job_id": job_id, "expected": status, "poke": round(rng.uniform(1.0, 2.0), 3)})
    return {"jobs": jobs}, plan


# -- one triggerer process ---------------------------------------------------------------------------


async def triggerer(plan: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    from airflow_asyncjob.netsuite import async_client
    from airflow_asyncjob.netsuite.channels import open_channels
    from airflow_asyncjob.netsuite.faults import ConcurrencyLimitError
    from airflow_asyncjob.triggers.async_job_status import AsyncJobStatusTrigger

    # Observe every call (the real ``_run``, wrapped, which waits in line for its first slot):
    # which job, when it was asked for (before that wait), when it ended, refused or not. A
    # trigger's poll is one attempt: it asks for a refusal back (``retry_refused=False``).
    attempts: dict[str, list[tuple[float, float, bool]]] = {}
    original = async_client.AsyncNetSuiteClient._run

    async def observed(self: Any, call: Any, **options: Any) -> Any:
        asked = time.monotonic()
        try:
            answer = await original(self, call, **options)
        except ConcurrencyLimitError:
            attempts.setdefault(call.job_id or "", []).append((asked, time.monotonic(), True))
            raise
        attempts.setdefault(call.job_id or "", []).append((asked, time.monotonic(), False))
        return answer

    async_client.AsyncNetSuiteClient._run = observed  # type: ignore[method-assign]

    timeline: list[tuple[float, int, int, int]] = []  # (s from the start, limits, in flight, waiting)
    decreases = [0]
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            channels = list(open_channels().values())
            if channels:
                limiters = [c.limiter for c in channels]
                timeline.append((
                    round(time.monotonic() - started, 2), sum(m.limit for m in limiters),
                    sum(m.in_flight for m in limiters), sum(m.waiting for m in limiters),
                ))  # fmt: skip
                decreases[0] = max(decreases[0], *(m.decreases for m in limiters))
            await asyncio.sleep(0.1)

    async def run_one(trigger: AsyncJobStatusTrigger) -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    delay = args.start_at - time.time()
    if delay > 0:
        await asyncio.sleep(delay)
    started = time.monotonic()
    sampler = asyncio.create_task(sample())
    tasks = []
    ended_at: list[float] = []
    for job in plan:
        _path, kwargs = AsyncJobStatusTrigger(
            job_id=job["job_id"], poke_interval=job["poke"], max_poll_interval=args.max_poll_interval
        ).serialize()
        task = asyncio.create_task(run_one(AsyncJobStatusTrigger(**kwargs)))
        task.add_done_callback(lambda _t: ended_at.append(time.monotonic()))
        tasks.append(task)
        await asyncio.sleep(0)
    _finished, pending = await asyncio.wait(tasks, timeout=args.deadline)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    done.set()
    await sampler

    outcomes: Counter[str] = Counter()
    for task, job in zip(tasks, plan):
        if task.cancelled() or task.exception() is not None:
            outcomes["no event"] += 1
            continue
        events = task.result()
        status = events[0].get("status") if len(events) == 1 else f"{len(events)} events"
        outcomes["ok" if status == job["expected"] else str(status)] += 1
    # The retry wait of a refused poll: from its refusal to when the next attempt asks for a slot.
    waits = [
        later[0] - earlier[1]
        for series in attempts.values()
        for earlier, later in zip(series, series[1:])
        if earlier[2]
    ]
    return {
        "jobs": len(plan),
        "outcomes": dict(outcomes),
        "seconds_to_last_event": (max(ended_at) - started) if ended_at else None,
        "window_mean": sum(row[1] for row in timeline) / len(timeline) if timeline else 0.0,
        "decreases": decreases[0],
        "refused_attempts": sum(refused for series in attempts.values() for *_, refused in series),
        "attempts": sum(len(series) for series in attempts.values()),
        "refused_waits": waits,
        "timeline": timeline,
    }


# -- the parent: emulator, processes, table --------------------------------------------------------


def run_setting(
    emulator: EmulatorProcess, plan: list[dict[str, Any]], processes: int, extra: dict[str, Any],
    args: argparse.Namespace,
) -> dict[str, Any]:  # fmt: skip
    emulator.reset()
    env = {**os.environ, "AIRFLOW_CONN_NETSUITE_DEFAULT": emulator.connection_json(**extra)}
    env.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    start_at = time.time() + 8.0  # every process imported and waiting before the first trigger
    children = []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(processes):
            part = plan[index::processes]
            jobs_file, out = Path(tmp) / f"jobs{index}.json", Path(tmp) / f"out{index}.json"
            jobs_file.write_text(json.dumps(part))
            command = [sys.executable, str(Path(__file__)), "--child", str(jobs_file), "--out", str(out)]
            command += ["--start-at", str(start_at), "--max-poll-interval", str(args.max_poll_interval)]
            log = (Path(tmp) / f"log{index}.txt").open("w")
            children.append(
                (subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT), out, log)
            )
        # The account's use: requests in flight at the emulator, sampled every 0.1 s from the start.
        in_flight: list[int] = []
        stop = threading.Event()

        def watch() -> None:
            time.sleep(max(0.0, start_at - time.time()))
            while not stop.wait(0.1):
                in_flight.append(emulator.stats()["in_flight"])

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        results = []
        for child, out, log in children:
            code = child.wait()
            log.close()
            if code:
                raise RuntimeError(f"a triggerer exited with {code}:\n{Path(log.name).read_text()[-3000:]}")
            results.append(json.loads(out.read_text()))
        stop.set()
        watcher.join()
    stats = emulator.stats()
    requests = sum(stats["requests"].values())
    waits = [w for r in results for w in r["refused_waits"]]
    outcomes: Counter[str] = Counter()
    for r in results:
        outcomes.update(r["outcomes"])
    return {
        "processes": processes,
        "jobs": len(plan),
        "ok": outcomes.pop("ok", 0),
        "other_outcomes": dict(outcomes),
        "requests": requests,
        "refused": stats["faults"].get("WS_REQUEST_BLOCKED", 0),
        "refused_pct": 100.0 * stats["faults"].get("WS_REQUEST_BLOCKED", 0) / max(requests, 1),
        "emulator_max_in_flight": stats["max_in_flight"],
        "emulator_in_flight_mean": sum(in_flight) / max(len(in_flight), 1),
        "windows_sum": sum(r["window_mean"] for r in results),
        "decreases": [r["decreases"] for r in results],
        "seconds_to_last_event": max(r["seconds_to_last_event"] or 0.0 for r in results),
        "refused_wait_max": max(waits, default=0.0),
        "refused_waits_over_max": sum(w > args.max_poll_interval for w in waits),
        "emulator_in_flight": in_flight,  # every 0.1 s from the start
        "timelines": [r["timeline"] for r in results],  # per process, see triggerer()
    }


def print_table(rows: list[tuple[str, dict[str, Any]]], max_poll_interval: float) -> None:
    lines = [
        ("jobs ending correctly / error or timeout events",
         lambda r: f"{r['ok']} of {r['jobs']} / {sum(r['other_outcomes'].values())}"),
        ("requests refused (WS_REQUEST_BLOCKED)",
         lambda r: f"{r['refused_pct']:.1f} % ({r['refused']} of {r['requests']})"),
        ("the processes' windows added up (mean); decreases",
         lambda r: f"{r['windows_sum']:.2f}; {'+'.join(map(str, r['decreases']))}"),
        ("requests in flight at the emulator (mean, sampled)", lambda r: f"{r['emulator_in_flight_mean']:.2f}"),
        ("time to the last event", lambda r: f"{r['seconds_to_last_event']:.1f} s"),
        (f"longest wait after a refused poll (> {max_poll_interval:g} s)",
         lambda r: f"{r['refused_wait_max']:.1f} s ({r['refused_waits_over_max']})"),
    ]  # fmt: skip
    print("| | " + " | ".join(label for label, _ in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for title, cell in lines:
        print(f"| {title} | " + " | ".join(cell(r) for _, r in rows) + " |")
    if len(rows) == 2:
        ratio = rows[0][1]["seconds_to_last_event"] / rows[1][1]["seconds_to_last_event"]
        print(f"\ntime to the last event, 3 triggerers / 1 process: {ratio:.2f}x (target <= 1.2x)")


SERIES = ("emulator_in_flight", "timelines")


def brief(result: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in result.items() if k not in SERIES})


def print_timeline(title: str, result: dict[str, Any], bucket: float = 10.0) -> None:
    """Per ``bucket`` seconds from the start: the limiters' limits and what they held, added up
    over the processes, and the account's requests in flight (means of the 0.1 s samples)."""
    print(f"\n{title}: per {bucket:g} s, means of 0.1 s samples\n")
    print("| from s | limits added up | in flight (clients) | waiting for a slot | in flight (account) |")
    print("|---|---|---|---|---|")
    processes = len(result["timelines"])
    account = result["emulator_in_flight"]
    buckets: dict[int, list[tuple[float, int, int, int]]] = {}
    for timeline in result["timelines"]:
        for row in timeline:
            buckets.setdefault(int(row[0] // bucket), []).append(row)
    for index, rows in sorted(buckets.items()):
        per = len(rows) / processes  # samples per process in the bucket
        limits, flying, waiting = (sum(row[i] for row in rows) / per for i in (1, 2, 3))
        start = index * bucket
        here = account[int(start * 10) : int((start + bucket) * 10)]
        busy = sum(here) / len(here) if here else 0.0
        print(f"| {start:g} | {limits:.2f} | {flying:.2f} | {waiting:.0f} | {busy:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=None, help="jobs (900; 150 with --small)")
    parser.add_argument("--small", action="store_true", help="150 jobs of 2-10 s: a quick run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.2, help="emulator seconds per request (0.2)")
    parser.add_argument("--concurrency-limit", type=int, default=5, help="the emulator's (5)")
    parser.add_argument("--max-poll-interval", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--deadline", type=float, default=1800.0, help="seconds before giving up")
    parser.add_argument("--json", help="write both settings' numbers here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        plan = json.loads(Path(args.child).read_text())
        import airflow_asyncjob.triggers.async_job_status  # noqa: F401  (imports before the start)

        write_result(args.out, asyncio.run(triggerer(plan, args)))
        return 0
    n = args.jobs or (150 if args.small else 900)
    scenario, plan = make_jobs(n, args.seed, args.small)
    emulator = EmulatorProcess(
        scenario=scenario, concurrency_limit=args.concurrency_limit, latency=args.latency
    )
    with emulator:
        many = run_setting(emulator, plan, args.processes, {}, args)
        print(f"{args.processes} triggerers: {brief(many)}", flush=True)
        one = run_setting(emulator, plan, 1, {"max_in_flight": args.concurrency_limit}, args)
        print(f"1 process: {brief(one)}", flush=True)
    print(
        f"\n{n} jobs, emulator limit {args.concurrency_limit}, {args.latency:g} s per request, "
        f"poke 1-2 s, max_poll_interval {args.max_poll_interval:g} s\n"
    )
    print_table(
        [
            (f"{args.processes} triggerers, default max_in_flight", many),
            (f"1 process, max_in_flight {args.concurrency_limit}", one),
        ],
        args.max_poll_interval,
    )
    print_timeline(f"{args.processes} triggerers", many)
    print_timeline("1 process", one)
    if args.json:
        Path(args.json).write_text(json.dumps({"many": many, "one": one}))
    wrong = {
        label: r["other_outcomes"] for label, r in (("many", many), ("one", one)) if r["ok"] != r["jobs"]
    }
    if wrong:  # figures of a run whose jobs did not end as planned measure nothing
        print(f"\nINVALID RUN: jobs that did not end as planned: {wrong}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
