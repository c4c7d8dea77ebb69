"""The fault soak's marker and its harness, which lives in benchmarks/soak.py (the 1,000-job script)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "soak: the fault soak, 100 jobs by default (SOAK_JOBS, SOAK_SEED to change)"
    )


def load_harness():
    """benchmarks/soak.py as a module (benchmarks/ is not a package)."""
    name = "asyncjob_soak_harness"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "soak.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]
