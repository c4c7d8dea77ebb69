"""Issue 14 part 1: checkAsyncStatus calls per job against detection delay (numbers, not a test).

    .venv/bin/python benchmarks/polling_budget.py                 # 10,000 jobs per mix, plot, table
    .venv/bin/python benchmarks/polling_budget.py --jobs 1000     # faster
    .venv/bin/python benchmarks/polling_budget.py --emulator-jobs 6 --latency 0.05  # part (b) only

The measure that matters is NetSuite's budget: an account serves at most (concurrency limit) /
(latency) requests per second for every integration it has, so what a wait costs is its
checkAsyncStatus calls per job, at a given detection delay (seconds from the job's real end to
the poll that sees it). The physical limit is one call and no delay.

(a) Simulation in simulated time (no sleeping). Each seeded job is waited for the way the
deferrable sensor waits: one poke at the job's submission (a call), then
``AsyncJobStatusTrigger.wait``, the real polling loop with the real ``next_poll_interval``, run
with a fake async client that answers from the job's timeline, and with the trigger module's
clock and ``asyncio.sleep`` replaced by a virtual clock (the coroutine never suspends, so no
event loop runs). The policies:

- ours (the trigger) at several ``(poke_interval, max_poll_interval)``, the first trigger poll
  after the wait the poke's status calls for (``first_poll_after``; "ours, double first poll"
  is the old behaviour: the trigger polls again at once);
- fixed 30 / 60 / 300 s: the same trigger with ``poke_interval == max_poll_interval`` (also what
  poke and reschedule modes do);
- Airflow's ``exponential_backoff``: BaseSensorOperator's formula (task SDK 1.3.2,
  ``airflow/sdk/bases/sensor.py``, ``BaseSensorOperator._get_next_poke_interval``): after poke n
  (1-based) it waits ``m + hash % m`` with ``m = max(int(poke_interval * 2 ** (n - 2)), 1)``, at
  most ``max_wait``; the SHA-1 hash of dag/task/start/try is replaced by a seeded uniform draw.

Jobs: a queue wait (pending, lognormal, median 20 s; NetSuite's documented pending answer is
``percentCompleted 0.0, estRemainingDuration 0.0``), then processing of lognormal length, median
180 s (short mix) or 3,600 s (long mix), sigma 0.5. Processing runs through 10 segments of
lognormal relative length (so the percentage does not rise at a constant rate); percent rises
linearly within a segment. The three estimate regimes, and what supports each:

- informative: estRemainingDuration = true seconds left x lognormal(sigma 0.25), segments
  sigma 0.25. Supported by the Help Center ("Checking the Status of an Asynchronous Job",
  section_3771741984: checkAsyncStatus "returns details about the percentage of the job that is
  complete, and the estimated time remaining ... measured in seconds") and the schema
  (AsyncStatusResult: percentCompleted, estRemainingDuration, doubles, both required). How
  accurate NetSuite's estimate is, is UNVERIFIED: no Oracle text or user report found says.
- noisy: estimate x lognormal(sigma 0.8), segments sigma 0.8: an estimate that is often off by
  a factor of two. UNVERIFIED as well; it stands for an estimate extrapolated from few records.
- useless: estRemainingDuration always 0.0 (as in the Help Center's every example response,
  pending and submit answers alike), percent only, segments sigma 0.8. UNVERIFIED whether
  processing jobs ever answer so; it is the worst case the rule must survive.

Reported per policy: calls per job (mean, p95), detection delay (p50, p95) in seconds and in
percent of the job's length (submission to end).

(b) Against the emulator (``airflow_asyncjob.testing.emulator.Emulator``, with ``--latency``):
a few jobs with time scaled down (``--time-scale``, default 1/60: a 3 min job takes 3 s and the
intervals shrink alike), waited for by the real sensor path's trigger (poke, then the trigger
with ``first_poll_after``) through the real async client; the emulator counts the requests.
Its estimates are exact (the informative regime without noise).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import random
import statistics
import sys
import time
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from support import machine, percentile  # noqa: E402

from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncStatus  # noqa: E402
from airflow_asyncjob.netsuite.polling import next_poll_interval  # noqa: E402
from airflow_asyncjob.triggers import async_job_status as trigger_module  # noqa: E402
from airflow_asyncjob.triggers.async_job_status import AsyncJobStatusTrigger  # noqa: E402

MIXES = {"short": 180.0, "long": 3600.0}  # median processing seconds
REGIMES = {"informative": 0.25, "noisy": 0.8, "useless": 0.8}  # sigma of the lognormal noise
PENDING_MEDIAN = 20.0
SEGMENTS = 10

# (label, poke_interval, max_poll_interval) of the trigger; fixed N is poke == max == N.
OURS = [(10, 3600), (20, 3600), (30, 3600), (60, 3600), (120, 3600), (300, 3600)]
FIXED = [30, 60, 300]
BACKOFF = [(30, 600), (60, 3600)]  # Airflow's exponential_backoff: (poke_interval, max_wait)


# -- jobs --------------------------------------------------------------------------------------


@dataclass
class Job:
    """One seeded job: seconds pending, seconds processing, the progress curve, the regime."""

    pending: float
    processing: float
    breaks: list[float]  # cumulative seconds into processing at the end of each segment
    regime: str
    rng: random.Random

    @property
    def length(self) -> float:
        return self.pending + self.processing

    def percent(self, into: float) -> float:
        start = 0.0
        for index, end in enumerate(self.breaks):
            if into < end:
                return 100.0 * (index + (into - start) / (end - start)) / SEGMENTS
            start = end
        return 100.0

    def status(self, t: float) -> AsyncJobStatus:
        if t < self.pending:
            return AsyncJobStatus("JOB", AsyncStatus.PENDING, 0.0, 0.0)
        into = t - self.pending
        if into >= self.processing:
            return AsyncJobStatus("JOB", AsyncStatus.FINISHED, 100.0, 0.0)
        percent = round(self.percent(into), 2)
        if self.regime == "useless":
            return AsyncJobStatus("JOB", AsyncStatus.PROCESSING, percent, 0.0)
        left = (self.processing - into) * math.exp(self.rng.gauss(0.0, REGIMES[self.regime]))
        return AsyncJobStatus("JOB", AsyncStatus.PROCESSING, percent, round(left, 3))


def make_jobs(mix: str, regime: str, count: int, seed: int) -> list[Job]:
    """``count`` jobs; the same seed gives the same timelines in every regime (only the
    estimates and the progress curve's spread differ)."""
    rng = random.Random(f"{seed}-{mix}")
    sigma = REGIMES[regime]
    jobs = []
    for index in range(count):
        pending = PENDING_MEDIAN * math.exp(rng.gauss(0.0, 0.5))
        processing = MIXES[mix] * math.exp(rng.gauss(0.0, 0.5))
        shape = random.Random(f"{seed}-{mix}-{index}-shape")
        weights = [math.exp(shape.gauss(0.0, sigma)) for _ in range(SEGMENTS)]
        total, breaks, acc = sum(weights), [], 0.0
        for weight in weights:
            acc += processing * weight / total
            breaks.append(acc)
        breaks[-1] = processing
        noise = random.Random(f"{seed}-{mix}-{index}-{regime}")
        jobs.append(Job(pending, processing, breaks, regime, noise))
    return jobs


# -- the real trigger loop in simulated time ---------------------------------------------------


class VirtualTime:
    """The trigger module's ``asyncio`` for one job: ``get_running_loop().time`` reads the
    virtual clock and ``sleep`` moves it on (and never suspends)."""

    def __init__(self) -> None:
        self.now = 0.0
        loop = types.SimpleNamespace(time=lambda: self.now)
        self.get_running_loop = lambda: loop

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeClient:
    """Answers checkAsyncStatus from a Job's timeline at the virtual time; counts the calls."""

    def __init__(self, job: Job, clock: VirtualTime) -> None:
        self.job, self.clock, self.calls, self.seen_at = job, clock, 0, math.nan

    async def check_async_status(self, job_id: str, **options: Any) -> AsyncJobStatus:
        self.calls += 1
        status = self.job.status(self.clock.now)
        if status.status.is_terminal:
            self.seen_at = self.clock.now
        return status


def run_coroutine(coroutine: Any) -> Any:
    """Run a coroutine that never suspends (every await is a VirtualTime or FakeClient one)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the simulated wait suspended: something awaited real I/O")


def wait_ours(job: Job, poke: float, longest: float, double_first_poll: bool = False) -> tuple[int, float]:
    """The deferrable sensor: a poke at submission, then the trigger. Returns (calls, delay s)."""
    first = job.status(0.0)  # the poke (one call)
    clock = VirtualTime()
    client = FakeClient(job, clock)
    first_poll_after = 0.0
    if not double_first_poll:
        first_poll_after = next_poll_interval(
            now=0.0,
            percent_completed=first.percent_completed,
            est_remaining_duration=first.est_remaining_duration,
            previous=None,
            min_interval=poke,
            max_interval=longest,
        )
    trigger = AsyncJobStatusTrigger(
        job_id="JOB", poke_interval=poke, max_poll_interval=longest, first_poll_after=first_poll_after
    )
    saved = trigger_module.asyncio
    trigger_module.asyncio = clock  # type: ignore[assignment]
    try:
        run_coroutine(trigger.wait(client))  # type: ignore[arg-type]
    finally:
        trigger_module.asyncio = saved
    return client.calls + 1, client.seen_at - job.length


def wait_airflow_backoff(job: Job, poke: float, max_wait: float, seed: int) -> tuple[int, float]:
    """BaseSensorOperator with exponential_backoff=True (poke or reschedule mode)."""
    jitter = random.Random(seed)
    t, calls = 0.0, 0
    while True:
        calls += 1
        if job.status(t).status.is_terminal:
            return calls, t - job.length
        minimum = max(int(poke * 2 ** (calls - 2)), 1)
        t += min(max_wait, minimum + jitter.randrange(minimum))


# -- the table ---------------------------------------------------------------------------------


def summarize(jobs: list[Job], results: Iterable[tuple[int, float]]) -> dict[str, float]:
    calls, delays, shares = [], [], []
    for job, (count, delay) in zip(jobs, results, strict=True):
        calls.append(count)
        delays.append(delay)
        shares.append(100.0 * delay / job.length)
    return {
        "calls_mean": statistics.fmean(calls),
        "calls_p95": percentile(calls, 0.95),
        "delay_p50": percentile(delays, 0.50),
        "delay_p95": percentile(delays, 0.95),
        "delay_pct_p50": percentile(shares, 0.50),
        "delay_pct_p95": percentile(shares, 0.95),
    }


def policies(regime: str) -> list[tuple[str, str, Callable[[Job, int], tuple[int, float]]]]:
    """(kind, label, wait) for every policy; fixed and Airflow's backoff ignore estimates."""
    rows: list[tuple[str, str, Callable[[Job, int], tuple[int, float]]]] = []
    for poke, longest in OURS:
        rows.append(("ours", f"ours, poke {poke}, max {longest}", _ours(poke, longest)))
    rows.append(("ours-old-defaults", "ours, poke 60, max 300", _ours(60, 300)))
    rows.append(("double", "ours, poke 60, max 3600, double first poll", _ours(60, 3600, True)))
    for seconds in FIXED:
        rows.append(("fixed", f"fixed {seconds} s", _ours(seconds, seconds)))
    for poke, max_wait in BACKOFF:
        rows.append(
            (
                "backoff",
                f"Airflow exponential_backoff, poke {poke}, max_wait {max_wait}",
                _backoff(poke, max_wait),
            )
        )
    return rows


def _ours(poke: float, longest: float, double: bool = False) -> Callable[[Job, int], tuple[int, float]]:
    return lambda job, index: wait_ours(job, poke, longest, double)


def _backoff(poke: float, max_wait: float) -> Callable[[Job, int], tuple[int, float]]:
    return lambda job, index: wait_airflow_backoff(job, poke, max_wait, index)


def simulate(count: int, seed: int, extra_fixed: list[float]) -> list[dict[str, Any]]:
    rows = []
    for mix in MIXES:
        for regime in REGIMES:
            jobs = make_jobs(mix, regime, count, seed)
            cell = policies(regime) + [("frontier", f"fixed {s:g} s", _ours(s, s)) for s in extra_fixed]
            for kind, label, wait in cell:
                for index, job in enumerate(jobs):  # each policy draws the same noise
                    job.rng.seed(f"{seed}-{mix}-{regime}-{index}")
                started = time.process_time()
                stats = summarize(jobs, (wait(job, index) for index, job in enumerate(jobs)))
                rows.append(
                    {
                        "mix": mix,
                        "regime": regime,
                        "kind": kind,
                        "policy": label,
                        **stats,
                        "cpu_s": time.process_time() - started,
                    }
                )
                print(
                    f"{mix:5} {regime:11} {label:58} calls {stats['calls_mean']:7.2f} "
                    f"p95 delay {stats['delay_p95']:7.1f} s",
                    flush=True,
                )
    return rows


def fixed_calls_at(rows: list[dict[str, Any]], mix: str, regime: str, delay_p95: float) -> float:
    """Fixed polling's calls per job at a p95 delay, interpolated on its curve (log-log)."""
    curve = sorted(
        (r["delay_p95"], r["calls_mean"])
        for r in rows
        if r["mix"] == mix and r["regime"] == regime and r["kind"] in ("fixed", "frontier")
    )
    for (d0, c0), (d1, c1) in zip(curve, curve[1:], strict=False):
        if d0 <= delay_p95 <= d1:
            w = (math.log(delay_p95) - math.log(d0)) / (math.log(d1) - math.log(d0))
            return math.exp(math.log(c0) + w * (math.log(c1) - math.log(c0)))
    return math.nan


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(MIXES), len(REGIMES), figsize=(15, 9), squeeze=False)
    styles = {
        "ours": dict(marker="o", color="tab:blue", label="ours (poke_interval 10..300, max 3600)"),
        "fixed": dict(marker="s", color="tab:gray", linestyle="none", label="fixed 30 / 60 / 300 s"),
        "frontier": dict(marker=".", color="tab:gray", linestyle=":", label="fixed, other intervals"),
        "backoff": dict(marker="^", color="tab:red", linestyle="none", label="Airflow exponential_backoff"),
        "ours-old-defaults": dict(
            marker="x", color="tab:green", linestyle="none", label="ours, poke 60, max 300"
        ),
        "double": dict(
            marker="+", color="tab:purple", linestyle="none", label="ours, poke 60, double first poll"
        ),
    }
    for i, mix in enumerate(MIXES):
        for j, regime in enumerate(REGIMES):
            ax = axes[i][j]
            cell = [r for r in rows if r["mix"] == mix and r["regime"] == regime]
            fixed = sorted(
                (r for r in cell if r["kind"] in ("fixed", "frontier")), key=lambda r: r["delay_p95"]
            )
            ax.plot([r["delay_p95"] for r in fixed], [r["calls_mean"] for r in fixed], **styles["frontier"])
            share = 1 / 3 if mix == "long" else 2 / 3
            ax.plot(
                [r["delay_p95"] for r in fixed],
                [share * r["calls_mean"] for r in fixed],
                color="tab:gray",
                linestyle="--",
                linewidth=0.8,
                label="goal: 2/3 x fixed (short row), 1/3 x fixed (long row)" if mix == "short" else None,
            )
            for kind in ("ours", "fixed", "backoff", "ours-old-defaults", "double"):
                points = sorted((r for r in cell if r["kind"] == kind), key=lambda r: r["delay_p95"])
                style = dict(styles[kind])
                if kind == "frontier":
                    continue
                ax.plot([r["delay_p95"] for r in points], [r["calls_mean"] for r in points], **style)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{mix} jobs (processing ~{MIXES[mix]:.0f} s), {regime} estimates")
            ax.set_xlabel("p95 detection delay, s")
            ax.set_ylabel("checkAsyncStatus calls per job (mean)")
            ax.grid(True, which="both", linewidth=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| mix | regime | policy | calls/job mean | p95 | delay p50 s | p95 s | p50 % of job | p95 % "
        "| fixed's calls at that p95 delay | ours / fixed |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["kind"] == "frontier":
            continue
        fixed = (
            fixed_calls_at(rows, r["mix"], r["regime"], r["delay_p95"]) if r["kind"] != "fixed" else math.nan
        )
        ratio = r["calls_mean"] / fixed if fixed == fixed else math.nan
        lines.append(
            f"| {r['mix']} | {r['regime']} | {r['policy']} | {r['calls_mean']:.1f} | {r['calls_p95']:.0f} | "
            f"{r['delay_p50']:.0f} | {r['delay_p95']:.0f} | {r['delay_pct_p50']:.1f} | "
            f"{r['delay_pct_p95']:.1f} | " + (f"{fixed:.1f} | {ratio:.2f} |" if fixed == fixed else "| |")
        )
    return "\n".join(lines)


# -- (b) against the emulator ------------------------------------------------------------------


def emulator_run(jobs: int, latency: float, scale: float, seed: int) -> list[dict[str, Any]]:
    """Waits for ``jobs`` jobs per mix through the real client against the emulator, time
    scaled by ``scale``; the emulator's request count against the simulation's for the same
    timelines (exact estimates)."""
    from airflow_asyncjob.testing.emulator import Emulator, Scenario
    from airflow_asyncjob.waiting import status_trigger

    out = []
    with Emulator(port=0, scenario=Scenario.example(), latency=latency) as emulator:
        os.environ["AIRFLOW_CONN_NETSUITE_DEFAULT"] = emulator.airflow_connection_json()
        from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook

        for mix in MIXES:
            for poke, longest in ((60.0, 3600.0), (60.0, 60.0)):
                emulator.reset()
                specs = [j for j in make_jobs(mix, "informative", jobs, seed)]
                hook = SoapAsyncJobHook()

                # Each closure runs within its own iteration (asyncio.run below), so the loop
                # variables it reads are this iteration's.
                async def one(
                    job: Job, hook: Any = hook, poke: float = poke, longest: float = longest
                ) -> float:
                    job_id = emulator.create_job(
                        {
                            "operation": "asyncUpsertList",
                            "pending_seconds": job.pending * scale,
                            "processing_seconds": job.processing * scale,
                            "start_on_first_request": True,
                            "records": [{"externalId": "c1", "internalId": "1", "type": "customer"}],
                        }
                    )
                    started = time.monotonic()
                    first = await asyncio.to_thread(hook.check_async_status, job_id)  # the poke
                    trigger = status_trigger(
                        job_id=job_id,
                        netsuite_conn_id="netsuite_default",
                        poke_interval=poke * scale,
                        max_poll_interval=longest * scale,
                        end_time=time.time() + 3600,
                        timeout=30.0,
                        retry=None,
                        last=first,
                    )
                    async with hook.get_async_conn() as client:
                        await trigger.wait(client)
                    return (time.monotonic() - started - job.length * scale) / scale

                async def all_jobs(specs: list[Job] = specs) -> list[float]:
                    return list(await asyncio.gather(*(one(j) for j in specs)))

                delays = asyncio.run(all_jobs())
                requests = emulator.stats()["requests"]["checkAsyncStatus"]
                exact = [
                    Job(
                        j.pending,
                        j.processing,
                        [j.processing * (k + 1) / SEGMENTS for k in range(SEGMENTS)],
                        "informative",
                        random.Random(0),
                    )
                    for j in specs
                ]
                saved = REGIMES["informative"]
                REGIMES["informative"] = 0.0
                try:
                    simulated = [wait_ours(j, poke, longest)[0] for j in exact]
                finally:
                    REGIMES["informative"] = saved
                row = {
                    "mix": mix,
                    "policy": f"poke {poke:g}, max {longest:g}" if poke != longest else f"fixed {poke:g} s",
                    "jobs": jobs,
                    "emulator_calls_per_job": requests / jobs,
                    "simulated_calls_per_job": statistics.fmean(simulated),
                    "delay_p95_s": percentile(delays, 0.95),
                }
                out.append(row)
                print(json.dumps(row), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="seeded jobs per mix (default 10,000)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--plot", default=str(ROOT / "docs" / "img" / "polling-budget.png"))
    parser.add_argument("--json", help="write every row here")
    parser.add_argument(
        "--emulator-jobs", type=int, default=6, help="jobs per mix against the emulator; 0: none"
    )
    parser.add_argument("--latency", type=float, default=0.05, help="the emulator's seconds per request")
    parser.add_argument(
        "--time-scale", type=float, default=1 / 60, help="emulator run: seconds per simulated second"
    )
    parser.add_argument("--no-simulation", action="store_true")
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)  # the trigger's one line per poll (Airflow logs through structlog)
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    result: dict[str, Any] = {"machine": machine(), "jobs": args.jobs, "seed": args.seed}
    if not args.no_simulation:
        rows = simulate(args.jobs, args.seed, extra_fixed=[10, 15, 20, 45, 90, 120, 180, 240, 450, 600, 900, 1200])
        result["simulation"] = rows
        plot(rows, Path(args.plot))
        print(markdown(rows))
        print(f"plot: {args.plot}")
    if args.emulator_jobs:
        result["emulator"] = emulator_run(args.emulator_jobs, args.latency, args.time_scale, args.seed)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
