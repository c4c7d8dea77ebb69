"""Issue 3's benchmarks: run them and print a table of medians (not timed tests; see README.md).

    .venv/bin/python benchmarks/run.py                       # all three, N = 1,000 and 10,000
    .venv/bin/python benchmarks/run.py --bench poll --profile
    .venv/bin/python benchmarks/run.py --smoke               # every code path, tiny N (~1 min)

(a) ready:  what our first status poll builds vs zeep.Client on the full 2023_2 WSDL; a fresh process each.
(b) poll:   client CPU per warm checkAsyncStatus; the emulator in its own process.
(c) fanin:  N AsyncJobStatusTriggers in one event loop against the emulator (its own process).
Each measurement runs ``--repeat`` times (``--ready-repeat`` for (a)); the table shows the median
and every run.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from support import EmulatorProcess, machine, median, run_child

POLL_JOB_ID = "ASYNCWEBSERVICES_1234567_SB1_112920260000000000000000000_b3nch000"
TERMINAL_MIX = (("finished", 0.85), ("finishedWithErrors", 0.10), ("failed", 0.05))


# -- rows ------------------------------------------------------------------------------------------


def row(label: str, values: list[float], target: str = "", check: Any = None, agg: Any = None) -> list[Any]:
    """A table row: label, aggregate of the runs (median unless ``agg``), the runs, target, met."""
    value = (agg or median)(values)
    return [label, value, values, target, "" if check is None else bool(check(value))]


# -- (a) client ready ------------------------------------------------------------------------------


def bench_ready(args: argparse.Namespace) -> list[list[Any]]:
    samples: dict[str, list[dict]] = {"ours": [], "zeep": []}
    for _ in range(args.ready_repeat):
        for kind, runs in samples.items():  # interleaved: a burst of load on the machine hits both
            runs.append(run_child("client_ready.py", kind))
    rows = []
    labels = (("ours", "ours, first poll (no record types)"), ("zeep", "zeep.Client, full 2023_2 WSDL"))
    for kind, label in labels:
        runs = samples[kind]
        rows.append(row(f"{label}: ready s", [s["ready_s"] for s in runs]))
        rows.append(row(f"{label}: imports before it s (not in ready)", [s["import_s"] for s in runs]))
        rows.append(row(f"{label}: max RSS MiB", [s["max_rss_mib"] for s in runs]))
        rows.append(row(f"{label}: RSS after imports MiB", [s["rss_after_import_mib"] for s in runs]))
    ratios = [z["ready_s"] / o["ready_s"] for o, z in zip(samples["ours"], samples["zeep"])]
    rows.append(row("ready-time ratio zeep/ours", ratios, ">= 20", lambda r: r >= 20))
    return rows


# -- (b) warm poll ---------------------------------------------------------------------------------


def bench_poll(args: argparse.Namespace) -> list[list[Any]]:
    scenario = {
        "jobs": [
            {  # stays "processing" for a day: every poll reads the same kind of answer
                "job_id": POLL_JOB_ID,
                "operation": "asyncUpsertList",
                "pending_seconds": 0,
                "processing_seconds": 86400,
                "records": [{"externalId": "c1", "internalId": "1", "type": "customer"}],
            }
        ]
    }
    kinds = {
        "hook": "ours: SoapAsyncJobHook.check_async_status (sync)",
        "async": "ours: AsyncNetSuiteClient.check_async_status",
        "zeep": "plain zeep.Client, full 2023_2 WSDL (sync)",
    }
    samples: dict[str, list[dict]] = {kind: [] for kind in kinds}
    breakdown: list[dict] = []
    poll_args = ["--job-id", POLL_JOB_ID, "--polls", str(args.polls)]
    with EmulatorProcess(scenario=scenario, concurrency_limit=15, latency=0.0) as emulator:
        env = {**os.environ, "AIRFLOW_CONN_NETSUITE_DEFAULT": emulator.connection_json()}
        for _ in range(args.repeat):
            for kind, runs in samples.items():
                runs.append(run_child("warm_poll.py", kind, *poll_args, env=env))
            breakdown.append(run_child("poll_breakdown.py", *poll_args[:2], env=env))
        if args.profile:
            for kind in ("hook", "async"):
                path = Path(tempfile.gettempdir()) / f"asyncjob-bench-{kind}.prof"
                run_child("warm_poll.py", kind, *poll_args, "--profile", str(path), env=env)
                print_profile(f"{args.polls} '{kind}' polls", path, args.profile_top)
    rows = []
    for kind, label in kinds.items():
        target, check = ("<= 0.25", lambda ms: ms <= 0.25) if kind == "hook" else ("", None)
        rows.append(
            row(f"{label}: CPU ms/poll", [s["cpu_ms_per_poll"] for s in samples[kind]], target, check)
        )
        rows.append(row(f"{label}: wall ms/poll", [s["wall_ms_per_poll"] for s in samples[kind]]))
    for piece in breakdown[0]["pieces_ms"]:
        rows.append(row(f"  piece, {piece}: CPU ms", [b["pieces_ms"][piece] for b in breakdown]))
    return rows


def print_profile(what: str, path: Path, top: int) -> None:
    print(f"\ncProfile (CPU clock; it inflates many-small-call code) of {what}: {path}")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


# -- (c) fan-in ------------------------------------------------------------------------------------


def fan_in_jobs(n: int, seed: int, smoke: bool) -> tuple[dict[str, Any], list[list[str]]]:
    """n jobs of varied lengths (pending 0.5-3 s, processing 5-60 s, or 1-5 s for a smoke run)
    and outcomes (TERMINAL_MIX), each starting its timeline at its first poll."""
    rng = random.Random(seed)
    jobs, expected = [], []
    for i in range(n):
        status = rng.choices([s for s, _ in TERMINAL_MIX], [w for _, w in TERMINAL_MIX])[0]
        job_id = f"ASYNCWEBSERVICES_1234567_SB1_11292026000000{i:013d}_{rng.getrandbits(32):08x}"
        record: dict[str, Any] = {"externalId": f"c{i}", "internalId": str(1000 + i), "type": "customer"}
        if status == "finishedWithErrors":
            record = {
                "externalId": f"c{i}",
                "type": "customer",
                "success": False,
                "code": "DUP_ENTITY",
                "message": "This entity already exists.",
            }
        job: dict[str, Any] = {
            "job_id": job_id,
            "operation": "asyncUpsertList",
            "pending_seconds": round(rng.uniform(0.5, 3.0), 2),
            "processing_seconds": round(rng.uniform(1, 5) if smoke else rng.uniform(5, 60), 2),
            "start_on_first_request": True,
            "records": [record],
        }
        if status == "failed":
            job["failure"] = {"code": "UNEXPECTED_ERROR", "message": "An unexpected error occurred."}
        jobs.append(job)
        expected.append([job_id, status])
    return {"jobs": jobs}, expected


def fan_in_samples(n: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """``--repeat`` runs of fan_in.py against one emulator preloaded with n jobs."""
    scenario, expected = fan_in_jobs(n, args.seed, args.smoke)
    samples = []
    emulator = EmulatorProcess(
        scenario=scenario, concurrency_limit=args.concurrency_limit, latency=args.latency
    )
    with tempfile.TemporaryDirectory() as tmp, emulator:
        jobs_file = Path(tmp) / "jobs.json"
        jobs_file.write_text(json.dumps(expected))
        extra = {} if args.max_in_flight is None else {"max_in_flight": args.max_in_flight}
        env = {**os.environ, "AIRFLOW_CONN_NETSUITE_DEFAULT": emulator.connection_json(**extra)}
        for repeat in range(args.repeat):
            emulator.reset()  # counters and nonces; the jobs' timelines start at their first poll
            emulator_cpu = emulator.cpu_seconds()
            log = Path(tempfile.gettempdir()) / f"asyncjob-bench-fanin-{n}-{repeat}.log"
            command = ["--jobs", str(jobs_file), "--poke-interval", str(args.poke_interval)]
            command += ["--max-poll-interval", str(args.max_poll_interval)]
            if args.profile:
                command += ["--profile", str(log.with_suffix(".prof"))]
            result = run_child("fan_in.py", *command, env=env, log=log)
            stats = emulator.stats()
            polls = stats["requests"].get("checkAsyncStatus", 0)
            result.update(
                polls=polls,
                polls_per_trigger=polls / n,
                cpu_ms_per_poll=1000 * result["cpu_s"] / max(polls, 1),
                emulator_max_in_flight=stats["max_in_flight"],
                concurrency_faults=sum(stats["faults"].values()),
                emulator_cpu_s=emulator.cpu_seconds() - emulator_cpu,
                log=str(log),
            )
            samples.append(result)
            shown = {k: v for k, v in result.items() if k != "failure_examples"}
            print(f"  fan-in N={n} run {repeat + 1}/{args.repeat}: {json.dumps(shown)}", flush=True)
            for example in result["failure_examples"]:
                print(f"    failure: {example}", flush=True)
            if args.profile:
                print_profile(f"fan-in N={n}", log.with_suffix(".prof"), args.profile_top)
    return samples


def bench_fanin(args: argparse.Namespace) -> list[list[Any]]:
    rows = []
    for n in args.n:
        samples = fan_in_samples(n, args)
        runs = {
            key: [s[key] for s in samples] for key in samples[0] if isinstance(samples[0][key], (int, float))
        }
        big, limit = n >= 10_000, args.concurrency_limit
        rss_target, rss_check = ("<= 500", lambda mib: mib <= 500) if big else ("", None)
        lag_target, lag_check = ("<= 250", lambda ms: ms <= 250) if big else ("", None)
        rows += [
            row(f"N={n}: peak RSS MiB", runs["max_rss_mib"], rss_target, rss_check),
            row(f"N={n}: RSS after imports MiB", runs["rss_after_import_mib"]),
            row(f"N={n}: CPU ms/poll", runs["cpu_ms_per_poll"]),
            row(f"N={n}: checkAsyncStatus requests", runs["polls"]),
            row(f"N={n}: polls per trigger", runs["polls_per_trigger"]),
            row(f"N={n}: event-loop lag p50 ms", runs["lag_p50_ms"]),
            row(f"N={n}: event-loop lag p99 ms", runs["lag_p99_ms"], lag_target, lag_check),
            row(f"N={n}: event-loop lag max ms", runs["lag_max_ms"]),
            row(f"N={n}: longest GC pause ms", runs["gc_max_pause_ms"]),
            row(f"N={n}: lags > 250 ms", runs["long_lags"]),
            row(f"N={n}: ... of them during a full GC", runs["long_lags_during_full_gc"]),
            row(f"N={n}: GC time, share of client CPU", [s["gc_total_s"] / s["cpu_s"] for s in samples]),
            row(
                f"N={n}: emulator max in-flight (limit {limit})",
                runs["emulator_max_in_flight"],
                f"<= {limit}",
                lambda m, limit=limit: m <= limit,
                max,
            ),
            row(f"N={n}: concurrency faults", runs["concurrency_faults"], "0", lambda f: f == 0, max),
            row(f"N={n}: failures", runs["failures"], "0", lambda f: f == 0, max),
            row(f"N={n}: wall s, first trigger to last event", runs["wall_s"]),
            row(f"N={n}: client CPU s", runs["cpu_s"]),
            row(f"N={n}: emulator CPU s", runs["emulator_cpu_s"]),
        ]
    return rows


# -- table -----------------------------------------------------------------------------------------


def fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return " ".join(fmt(v) for v in value)
    return str(value)


def print_table(title: str, rows: list[list[Any]]) -> None:
    header = ["metric", "median", "runs", "target", "met"]
    cells = [header] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bench", default="ready,poll,fanin", help="comma-separated: ready, poll, fanin")
    parser.add_argument("--repeat", type=int, default=3, help="samples per measurement (median shown)")
    parser.add_argument("--ready-repeat", type=int, default=9, help="samples per kind for (a), ~3 s each")
    parser.add_argument("--n", default="1000,10000", help="fan-in sizes, comma-separated")
    parser.add_argument("--polls", type=int, default=2000, help="counted polls per warm-poll sample")
    parser.add_argument("--profile", action="store_true", help="also cProfile ours (warm polls; fan-in runs)")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--latency", type=float, default=0.03, help="emulator seconds per request (fan-in)")
    parser.add_argument("--concurrency-limit", type=int, default=15, help="emulator's limit (fan-in)")
    parser.add_argument(
        "--max-in-flight", type=int, help="connection extra max_in_flight (default: unset = 4)"
    )
    parser.add_argument("--poke-interval", type=float, default=10.0)
    parser.add_argument("--max-poll-interval", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes: checks every path in about a minute"
    )
    parser.add_argument("--json", help="also write every sample here")
    args = parser.parse_args()
    args.n = [int(n) for n in args.n.split(",") if n]
    if args.smoke:
        args.repeat, args.ready_repeat, args.polls, args.n = 1, 1, 100, [50]
        args.poke_interval, args.max_poll_interval = 0.5, 2.0
    chosen = [b.strip() for b in args.bench.split(",") if b.strip()]
    unknown = set(chosen) - {"ready", "poll", "fanin"}
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; choose from ready, poll, fanin")

    info = machine()
    print(
        f"machine: {info['cores']} cores ({info['cpu_model']}), {info['memory_gib']} GiB, "
        f"Python {info['python']}, load average {info['load_average'][0]:.2f} at start"
    )
    print(f"settings: {vars(args)}", flush=True)
    started = time.time()
    tables = {}
    fanin_title = (
        f"(c) fan-in: emulator limit {args.concurrency_limit}, latency {args.latency * 1000:.0f} ms; "
        f"poke_interval {args.poke_interval:g} s, max_poll_interval {args.max_poll_interval:g} s; "
        f"max_in_flight {args.max_in_flight or 'default (4)'}"
    )
    for name, bench, title in (
        ("ready", bench_ready, "(a) client ready"),
        ("poll", bench_poll, "(b) warm poll, CPU per checkAsyncStatus (emulator on loopback, latency 0)"),
        ("fanin", bench_fanin, fanin_title),
    ):
        if name in chosen:
            tables[title] = bench(args)
    for title, rows in tables.items():
        print_table(title, rows)
    print(
        f"\n{args.repeat} run(s) per measurement ({args.ready_repeat} for (a)); took "
        f"{time.time() - started:.0f} s; load average now {os.getloadavg()[0]:.2f}"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"machine": info, "settings": vars(args), "tables": tables}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
