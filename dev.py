#!/usr/bin/env python3
"""Set up this repository and run its main job or its tests, on any machine with Python 3.10+.

    python3 dev.py example   # the example DAGs with `airflow dags test` against the emulator
    python3 dev.py test      # the whole test suite (extra arguments go to pytest)

    python3 dev.py lint      # ruff check, ruff format --check, mypy
    python3 dev.py docs      # build the docs site (mkdocs --strict) into site/
    python3 dev.py package   # build sdist + wheel, install the wheel into a clean venv, check it there
    python3 dev.py test-oldest [pytest args]   # the tests on the oldest Airflow pyproject allows

The first run creates ``.venv`` and installs the package with its dev extras (tests, lint,
docs, build); later runs reuse it until pyproject.toml changes. Airflow's state lives in
``.airflow/`` (SQLite).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import venv
import zipfile
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
    "example_netsuite_submit_and_wait",
)


def bootstrap() -> None:
    """Create .venv and install the package (editable, with test extras) when needed."""
    if sys.version_info < (3, 10):  # noqa: UP036 -- this file runs under whatever python3 is first
        sys.exit(f"Python 3.10 or newer is needed; this is {sys.version.split()[0]}.")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    print(
        "Installing airflow-provider-asyncjob with its dev extras (a few minutes the first time) ...",
        flush=True,
    )
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]"])
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
        return check_no_ledger_variables(env)
    finally:
        emulator.terminate()
        try:
            emulator.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emulator.kill()


def check_no_ledger_variables(env: dict[str, str]) -> int:
    """After the examples no submit ledger Variable is left (none is written on Airflow 3.3; on
    3.2 they are deleted when their run ends): print `airflow variables list`, 1 if one is left."""
    listed = subprocess.run(
        [str(BIN / "airflow"), "variables", "list", "-o", "json"], env=env, stdout=subprocess.PIPE, text=True
    )
    keys = [v.get("key") for v in json.loads(listed.stdout or "[]")] if listed.returncode == 0 else None
    print(f"\n=== airflow variables list: {keys}", flush=True)
    left = [k for k in keys or () if str(k).startswith("netsuite_async_submit:")]
    if keys is None or left:
        print(f"Submit ledger Variables left after the examples: {left}", file=sys.stderr)
        return 1
    return 0


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


LINTED = ["airflow_asyncjob", "tests", "example_dags", "dev.py"]
"""What ruff checks and formats (mypy's files are set in pyproject.toml: the package)."""


def lint(args: list[str]) -> int:
    """ruff check, ruff format --check and mypy; every one runs, the first failure's code is returned."""
    codes = [
        subprocess.run([str(BIN / "ruff"), "check", *LINTED], cwd=ROOT).returncode,
        subprocess.run([str(BIN / "ruff"), "format", "--check", *LINTED], cwd=ROOT).returncode,
        subprocess.run([str(BIN / "mypy"), *args], cwd=ROOT).returncode,
    ]
    return next((code for code in codes if code), 0)


def docs(args: list[str]) -> int:
    """Build the docs (mkdocs.yml) with warnings as errors; extra arguments go to mkdocs build."""
    return subprocess.run([str(BIN / "mkdocs"), "build", "--strict", *args], cwd=ROOT).returncode


PACKAGE_DATA = (
    "airflow_asyncjob/py.typed",
    "airflow_asyncjob/netsuite/schema/netsuite.wsdl",
    "airflow_asyncjob/testing/emulator/scenarios/example.json",
)


def package(args: list[str]) -> int:
    """Build sdist and wheel (the wheel from the sdist), install the wheel into a clean venv, and
    check there that Airflow lists the provider and its ``netsuite_soap`` connection type."""
    with tempfile.TemporaryDirectory(prefix="asyncjob-package-") as tmp:
        dist, clean = Path(tmp) / "dist", Path(tmp) / "venv"
        run([str(PYTHON), "-m", "build", "--outdir", str(dist), str(ROOT)], stdout=subprocess.DEVNULL)
        wheel = next(dist.glob("*.whl"))
        sdist = next(dist.glob("*.tar.gz"))
        print(f"Built {sdist.name} and {wheel.name}", flush=True)
        missing = [name for name in PACKAGE_DATA if name not in zipfile.ZipFile(wheel).namelist()]
        if missing:
            print(f"The wheel lacks {missing}: check [tool.setuptools.package-data].", file=sys.stderr)
            return 1
        started = time.monotonic()
        venv.create(clean, with_pip=True)
        clean_bin = clean / ("Scripts" if os.name == "nt" else "bin")
        run([str(clean_bin / "python"), "-m", "pip", "install", "--quiet", str(wheel)])
        print(f"Installed the wheel into a clean venv in {time.monotonic() - started:.0f} s", flush=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(AIRFLOW_HOME=str(Path(tmp) / "airflow-home"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
        airflow = [str(clean_bin / "airflow"), "providers"]
        providers = json.loads(_output([*airflow, "list", "-o", "json"], env))
        hooks = json.loads(_output([*airflow, "hooks", "-o", "json"], env))
    ours = [p for p in providers if p.get("package_name") == "airflow-provider-asyncjob"]
    soap = [h for h in hooks if h.get("connection_type") == "netsuite_soap"]
    if not ours or not soap or soap[0].get("package_name") != "airflow-provider-asyncjob":
        print(
            f"`airflow providers` does not show the provider or netsuite_soap: {ours} {soap}", file=sys.stderr
        )
        return 1
    print(f"airflow providers list: {ours[0]}", flush=True)
    print(f"airflow providers hooks: {soap[0]}", flush=True)
    return 0


def _output(cmd: list[str], env: dict[str, str]) -> str:
    """A command's stdout (its stderr goes to ours); exits with its code when it fails."""
    result = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    if result.returncode:
        sys.exit(result.returncode)
    return result.stdout


OLDEST_VENV = ROOT / ".venv-oldest-airflow"
OLDEST_PINS = [
    # Airflow 3.2.0 predates the fastapi cap Airflow 3.3 declares (<0.137): with a newer fastapi its
    # execution API fails to build its routes (pydantic: "TITerminalStatePayload needs a
    # discriminator field"). Airflow's constraints files would pin it; CI cannot fetch them.
    "fastapi<0.137",
]


def oldest_airflow() -> str:
    """The ``apache-airflow==X`` pin for the floor pyproject.toml declares (``apache-airflow>=X``)."""
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'"apache-airflow>=([0-9][0-9.]*)[",]', text)
    if not match:
        sys.exit('pyproject.toml declares no "apache-airflow>=X" floor to test against.')
    return f"apache-airflow=={match.group(1)}"


def test_oldest(args: list[str]) -> int:
    """Run pytest in a second venv holding the oldest Airflow pyproject.toml allows."""
    python = OLDEST_VENV / ("Scripts" if os.name == "nt" else "bin") / "python"
    stamp = OLDEST_VENV / ".installed-from"
    pins = [oldest_airflow(), *OLDEST_PINS]
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + repr(pins).encode()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == wanted and python.exists()):
        if OLDEST_VENV.exists():
            shutil.rmtree(OLDEST_VENV)
        print(f"Creating {OLDEST_VENV} with {' '.join(pins)} ...", flush=True)
        venv.create(OLDEST_VENV, with_pip=True)
        run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        run([str(python), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test]", *pins])
        stamp.write_text(wanted)
    version = _output([str(python), "-c", "import airflow; print(airflow.__version__)"], dict(os.environ))
    print(f"Testing on Airflow {version.strip()}", flush=True)
    return subprocess.run([str(python), "-m", "pytest", *args], cwd=ROOT).returncode


def main() -> int:
    commands = {
        "example": example,
        "test": test,
        "lint": lint,
        "docs": docs,
        "package": package,
        "test-oldest": test_oldest,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    bootstrap()
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
