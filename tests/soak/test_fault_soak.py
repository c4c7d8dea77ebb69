"""Fault soak (issue 5): jobs through the deferrable path while 10 % of the emulator's answers are
transient faults. Every task must end as its job's final status dictates; none may fail because
of a fault. 100 jobs here (CI); ``benchmarks/soak.py`` runs 1,000. The outcome counts are printed.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

from .harness import run_soak

JOBS = int(os.environ.get("SOAK_JOBS", "100"))
SEED = int(os.environ.get("SOAK_SEED", "1"))
FAULT_RATE = 0.1


@pytest.mark.soak
async def test_no_task_fails_because_of_a_transient_fault(emulator, capsys):
    report = await run_soak(emulator, jobs=JOBS, fault_rate=FAULT_RATE, seed=SEED, deadline=300)
    with capsys.disabled():
        print("\n" + "\n".join(report.lines()))

    assert report.unfinished == []  # nothing hung
    assert [str(o) for o in report.unexpected] == []
    statuses = Counter(o.final_status for o in report.outcomes)
    assert report.counts() == Counter(
        {
            ("finished", "success"): statuses["finished"],
            ("finishedWithErrors", "success"): statuses["finishedWithErrors"],
            ("failed", "failed"): statuses["failed"],
        }
    )
    assert sum(statuses.values()) == JOBS and min(statuses.values()) >= JOBS // 3

    stats = report.emulator
    requests = sum(stats["requests"].values())
    injected = stats["injections_applied"]
    # The faults were really served, about one answer in ten, of every kind.
    assert set(injected) == {"soap_fault", "http_error", "drop", "delay"}
    assert 0.04 <= sum(injected.values()) / requests <= 0.16
    assert {"WS_REQUEST_BLOCKED", "UNEXPECTED_ERROR"} <= set(stats["faults"])
    # No retry storm: a job takes a few polls (and a failed one a getAsyncResult), plus retries.
    assert requests <= 12 * JOBS
    assert stats["requests"]["getAsyncResult"] <= 2 * statuses["failed"]
