#!/usr/bin/env python3
"""Fault soak: 1,000 NetSuite async jobs through the deferrable path against the emulator, with
a fraction of the answers replaced by transient faults (issue 5). What one job goes through and
which faults: tests/soak/harness.py, which tests/soak runs with 100 jobs.

    .venv/bin/python benchmarks/soak.py                  # 1,000 jobs, 10 % faults, seed 1
    .venv/bin/python benchmarks/soak.py --jobs 100 --fault-rate 0.2 --seed 7

(``python3 dev.py test`` creates .venv.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

if "AIRFLOW_HOME" not in os.environ:  # run as a script: keep Airflow's state out of ~/airflow
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="asyncjob-soak-")
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    # One info line per poll of 1,000 triggers would drown the report; warnings still show.
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")

# The harness is the tests' (tests/soak/harness.py); a benchmark may use the tests' code, never the
# other way round. Found the way this folder's scripts find support.py: by its folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "soak"))

from harness import run_soak  # noqa: E402

from airflow_asyncjob.testing.emulator import Emulator  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--fault-rate", type=float, default=0.1, help="fraction of answers replaced (0.1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--client-timeout", type=float, default=1.0, help="seconds per HTTP request (1.0)")
    parser.add_argument("--concurrency-limit", type=int, default=5, help="the emulator's (5)")
    parser.add_argument("--json", action="store_true", help="also print the report as JSON")
    args = parser.parse_args(argv)
    # The client's retry warnings are counted in the report rather than printed one by one.
    client_log = logging.getLogger("airflow_asyncjob.netsuite.retry")
    client_log.setLevel(logging.WARNING)
    client_log.propagate = False
    with Emulator(concurrency_limit=args.concurrency_limit) as emulator:
        report = asyncio.run(
            run_soak(
                emulator,
                jobs=args.jobs,
                fault_rate=args.fault_rate,
                seed=args.seed,
                client_timeout=args.client_timeout,
            )
        )
    print("\n".join(report.lines()), flush=True)
    if args.json:
        print(
            json.dumps(
                {
                    "jobs": report.jobs,
                    "seconds": round(report.seconds, 2),
                    "outcomes": {f"{s} -> {t}": n for (s, t), n in report.counts().items()},
                    "unexpected": len(report.unexpected),
                    "unfinished": len(report.unfinished),
                    "emulator": report.emulator,
                    "retries": report.retries,
                }
            )
        )
    return 1 if report.unexpected or report.unfinished else 0


if __name__ == "__main__":
    sys.exit(main())
