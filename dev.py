#!/usr/bin/env python3
"""Set up this repository and run its main job or its tests, on any machine with Python 3.10+.

    python3 dev.py example   # the example DAGs with `airflow dags test` against the emulator
    python3 dev.py test      # the whole test suite (extra arguments go to pytest)

The first run creates ``.venv`` and installs the package with its test extras; later runs
reuse it until pyproject.toml changes. Airflow's state lives in ``.airflow/`` (SQLite).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".installed-from"
EXAMPLE_DAG_IDS = (
    "example_netsuite_upsert_customers",
    "example_netsuite_async_job",
    "example_netsuite_async_job_deferrable",
)


def bootstrap() -> None:
    """Create .venv and install the package (editable, with test extras) when needed."""
    if sys.version_info < (3, 10):
        sys.exit(f"Python 3.10 or newer is needed; this is {sys.version.split()[0]}.")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    print(
        "Installing airflow-provider-asyncjob with its test extras (a few minutes the first time) ...",
        flush=True,
    )
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test]"])
    STAMP.write_text(wanted)


def run(cmd: list[str], **kwargs) -> None:
    result = subprocess.run(cmd, **kwargs)
    if result.returncode:
        sys.exit(result.returncode)


def airflow_env() -> dict[str, str]:
    home = ROOT / ".airflow"
    home.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "example_dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def example(args: list[str]) -> int:
    """Start the emulator, run each example DAG with `airflow dags test`, stop the emulator."""
    env = airflow_env()
    emulator = subprocess.Popen(
        [str(PYTHON), "-m", "airflow_asyncjob.testing.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        connection = read_emulator_connection(emulator)
        if connection is None:
            print("The emulator did not start; see its output above.", file=sys.stderr)
            return 1
        env["AIRFLOW_CONN_NETSUITE_DEFAULT"] = connection
        # Keep echoing the emulator's output so that a full pipe never blocks it.
        threading.Thread(target=echo_lines, args=(emulator.stdout,), daemon=True).start()
        run([str(BIN / "airflow"), "db", "migrate"], env=env, stdout=subprocess.DEVNULL)
        for dag_id in EXAMPLE_DAG_IDS:
            print(f"\n=== airflow dags test {dag_id}", flush=True)
            code = subprocess.run([str(BIN / "airflow"), "dags", "test", dag_id, *args], env=env).returncode
            if code:
                return code
        return 0
    finally:
        emulator.terminate()
        try:
            emulator.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emulator.kill()


def echo_lines(stream) -> None:
    for line in stream:
        print(line, end="", flush=True)


def read_emulator_connection(emulator: subprocess.Popen) -> str | None:
    """Echo the emulator's banner and return the connection JSON it prints for Airflow."""
    prefix = "export AIRFLOW_CONN_NETSUITE_DEFAULT="
    for line in emulator.stdout or ():
        print(line, end="", flush=True)
        if line.strip().startswith(prefix):
            return line.strip()[len(prefix) :].strip("'")
    return None


def test(args: list[str]) -> int:
    """Run pytest over tests/ with the venv's interpreter (tests/conftest.py sets up Airflow)."""
    return subprocess.run([str(PYTHON), "-m", "pytest", *args], cwd=ROOT).returncode


def main() -> int:
    commands = {"example": example, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    bootstrap()
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
