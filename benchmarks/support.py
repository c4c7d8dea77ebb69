"""What the benchmark scripts share: the emulator in its own process, child processes that
report JSON, peak RSS, medians. Standard library and httpx only (both in the project's venv)."""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# NetSuite's published 2023_2 WSDL: ../shared/netsuite-wsdl/2023_2, or $NETSUITE_WSDL_DIR as for the tests.
REAL_WSDL = (
    Path(os.environ.get("NETSUITE_WSDL_DIR", ROOT.parent / "shared" / "netsuite-wsdl" / "2023_2"))
    / "netsuite.wsdl"
)
ENDPOINT_VERSION = "2023_2"  # the real WSDL's version; both clients of a comparison use it
REAL_BINDING = "{urn:platform_2023_2.webservices.netsuite.com}NetSuiteBinding"
ACCOUNT_ID = "1234567_SB1"  # the emulator's default account


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_result(path: str, result: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(result))


def run_child(script: str, *args: str, env: dict[str, str] | None = None, log: Path | None = None) -> dict:
    """Run ``benchmarks/<script> ... --out FILE`` in a fresh interpreter; return the JSON it wrote.

    Its stdout and stderr go to ``log`` (the trigger logs of a fan-in run) or are kept for the
    error message; a non-zero exit raises RuntimeError with the output's tail.
    """
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    try:
        command = [sys.executable, str(HERE / script), *args, "--out", str(out)]
        if log is not None:
            with log.open("w") as sink:
                code = subprocess.call(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
            tail = log.read_text(errors="replace")[-3000:] if code else ""
        else:
            done = subprocess.run(command, check=False, capture_output=True, text=True, env=env)
            code, tail = done.returncode, (done.stdout + done.stderr)[-3000:]
        if code:
            raise RuntimeError(f"{script} {' '.join(args)} exited with {code}:\n{tail}")
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


class EmulatorProcess:
    """``python -m airflow_asyncjob.testing.emulator`` in its own process (so that its CPU is not
    the client's), with a scenario written to a temporary file.

    Attributes after start: ``base_url``, ``connection`` (the Airflow connection as a dict).
    """

    def __init__(self, *, scenario: dict[str, Any], concurrency_limit: int, latency: float) -> None:
        self.scenario = scenario
        self.concurrency_limit = concurrency_limit
        self.latency = latency
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.connection: dict[str, Any] = {}

    def __enter__(self) -> EmulatorProcess:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(self.scenario, handle)
            self._scenario_file = Path(handle.name)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airflow_asyncjob.testing.emulator",
                "--port",
                "0",
                "--scenario",
                str(self._scenario_file),
                "--concurrency-limit",
                str(self.concurrency_limit),
                "--latency",
                str(self.latency),
                "--log-level",
                "warning",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        export = "export AIRFLOW_CONN_NETSUITE_DEFAULT="
        for line in self.process.stdout:
            line = line.strip()
            if not self.base_url:
                self.base_url = line
            if line.startswith(export):
                self.connection = json.loads(line[len(export) :].strip("'"))
                break
        if not self.connection:
            self.__exit__()
            raise RuntimeError("the emulator did not start (see its output above)")
        # Keep draining its stdout so that it never blocks on a full pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        self._http = httpx.Client(base_url=self.base_url, timeout=30)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_http", None) is not None:
            self._http.close()
        self._scenario_file.unlink(missing_ok=True)

    def connection_json(self, endpoint_version: str = ENDPOINT_VERSION, **extra: Any) -> str:
        connection = json.loads(json.dumps(self.connection))
        connection["extra"].update(endpoint_version=endpoint_version, **extra)
        return json.dumps(connection)

    def service_url(self, endpoint_version: str = ENDPOINT_VERSION) -> str:
        return f"{self.base_url}/services/NetSuitePort_{endpoint_version}"

    def stats(self) -> dict[str, Any]:
        return self._http.get("/_emulator/stats").json()

    def reset(self) -> None:
        """Forget counters, nonces and call counts; preset jobs restart their timelines."""
        self._http.post("/_emulator/reset").raise_for_status()

    def cpu_seconds(self) -> float:
        """The emulator process's CPU time so far (Linux /proc), to show the load beside the client."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction in 0..1) of a non-empty list."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def machine() -> dict[str, Any]:
    """Cores, memory, Python and the load average when asked (the machine is shared)."""
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "load_average": os.getloadavg(),
        "cpu_model": _cpu_model(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"
