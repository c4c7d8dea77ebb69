"""The fault soak's marker; its harness is harness.py beside this file (benchmarks/soak.py runs it too)."""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "soak: the fault soak, 100 jobs by default (SOAK_JOBS, SOAK_SEED to change)"
    )
