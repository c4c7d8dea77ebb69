#!/usr/bin/env python3
"""Set up this repository and run its main job or its tests, on any machine with Python 3.10+.

    python3 dev.py example   # the example DAGs with `airflow dags test` against the emulator
    python3 dev.py test      # the whole test suite (extra arguments go to pytest)

    python3 dev.py lint      # ruff check, ruff format --check, mypy
    python3 dev.py docs      # build the docs site (mkdocs --strict) into site/
    python3 dev.py package   # build sdist + wheel, install the wheel into a clean venv, check it
                             # there and run some of the sdist's tests against it
    python3 dev.py test-oldest [pytest args]   # the tests on the oldest Airflow pyproject allows

The first run creates ``.venv`` and installs the package with its ``dev`` dependency group
(tests, lint, docs, build; pyproject.toml's ``[dependency-groups]``); later runs reuse it until
pyproject.toml changes. Airflow's state lives in ``.airflow/`` (SQLite).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
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
    "example_netsuite_customers_changed",  # scheduled on the asset the upsert example writes
    "example_netsuite_async_job",
    "example_netsuite_async_job_deferrable",
    "example_netsuite_submit_and_wait",
    "example_netsuite_rest_async_job",  # the REST twin of the upsert example (netsuite_rest connection)
)


def bootstrap() -> None:
    """Create .venv and install the package (editable, with the dev dependency group) when needed."""
    if sys.version_info < (3, 10):  # noqa: UP036 -- this file runs under whatever python3 is first
        sys.exit(f"Python 3.10 or newer is needed; this is {sys.version.split()[0]}.")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    print(
        "Installing airflow-provider-asyncjob with its dev group (a few minutes the first time) ...",
        flush=True,
    )
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    # The dev tools are a PEP 735 dependency group (pip >= 25.1, upgraded above), not an extra.
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", str(ROOT), "--group", group("dev")])
    STAMP.write_text(wanted)


def group(name: str, root: Path = ROOT) -> str:
    """pip's ``--group`` argument for dependency group ``name`` of ``root``'s pyproject.toml."""
    return f"{root / 'pyproject.toml'}:{name}"


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
    """Start the emulator, run each example DAG with `airflow dags test`, stop the emulator; show
    the provider's log lines and Airflow's warnings and errors, then one verdict per DAG run.

    Each run's whole Airflow log goes to ``.airflow/example-logs/<dag_id>.log``. Returns 1 when a
    run did not succeed or a log holds an error line (a good run has none)."""
    env = airflow_env()
    logs = ROOT / ".airflow" / "example-logs"
    logs.mkdir(parents=True, exist_ok=True)
    emulator = subprocess.Popen(
        [str(PYTHON), "-m", "airflow_asyncjob.testing.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        connections = read_emulator_connections(emulator)
        if "AIRFLOW_CONN_NETSUITE_DEFAULT" not in connections:
            print("The emulator did not start; see its output above.", file=sys.stderr)
            return 1
        if "AIRFLOW_CONN_NETSUITE_REST_DEFAULT" not in connections:
            print("The emulator printed no REST connection; its REST side is missing.", file=sys.stderr)
            return 1
        env.update(connections)
        # Keep echoing the emulator's output so that a full pipe never blocks it.
        threading.Thread(target=echo_lines, args=(emulator.stdout,), daemon=True).start()
        run([str(BIN / "airflow"), "db", "migrate"], env=env, stdout=subprocess.DEVNULL)
        errors: list[str] = []
        for dag_id in EXAMPLE_DAG_IDS:
            log = logs / f"{dag_id}.log"
            print(f"\n=== airflow dags test {dag_id} (whole log: {log.relative_to(ROOT)})", flush=True)
            with log.open("w") as out:
                airflow = subprocess.Popen(
                    [str(BIN / "airflow"), "dags", "test", dag_id, *args],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                for line in airflow.stdout or ():
                    out.write(line)
                    shown = shown_log_line(line)
                    if shown:
                        print(shown, flush=True)
                    if ERROR_LINE.search(line):
                        errors.append(f"{log.relative_to(ROOT)}: {line.strip()}")
                code = airflow.wait()
            if code:
                print(f"`airflow dags test {dag_id}` ended with exit code {code}; see {log}", file=sys.stderr)
                return code
        verdicts = json.loads(_output([str(PYTHON), "-c", VERDICT_SCRIPT, *EXAMPLE_DAG_IDS], env))
        ledger_left = check_no_ledger_variables(env)
    finally:
        QUIET.set()  # uvicorn's shutdown lines are not news
        emulator.terminate()
        try:
            emulator.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emulator.kill()
    print("\n=== Verdict", flush=True)
    for verdict in verdicts:
        print(describe_verdict(verdict), flush=True)
    if errors:
        print(f"{len(errors)} error line(s) in the Airflow logs, a good run has none:", *errors, sep="\n  ")
    failed = [v["dag_id"] for v in verdicts if v["state"] != "success"]
    return 1 if errors or failed or ledger_left else 0


ERROR_LINE = re.compile(r"^\S+ \[(error|critical)\s*\]|^Traceback ")
"""An error-level line of Airflow's log (structlog's console format) or a traceback."""
LOG_LINE = re.compile(r"^\S*T(\d\d:\d\d:\d\d)\.\d+Z \[(\w+)\s*\] (.*?) \[([\w.]+)\](?: .*)?$")
"""``<timestamp> [<level>] <message> [<logger>] <key=value...>``: Airflow's console log line."""
OUR_LOGGERS = ("airflow.task", "airflow_asyncjob")


def shown_log_line(line: str) -> str | None:
    """The short form of a log line worth showing (the provider's and the DAG's own lines, and
    warnings or errors except Python warnings about Airflow's own imports), else None."""
    match = LOG_LINE.match(line.rstrip("\n"))
    if match is None:
        return line.rstrip("\n") if line.startswith("Traceback ") else None
    clock, level, message, logger = match.groups()
    if message.startswith("Done. Returned value was"):
        return None  # Airflow's echo of a return value: long, and it may hold the records
    if logger.startswith(OUR_LOGGERS) or ".airflow_asyncjob." in logger:
        return (
            f"  {clock} {message.rstrip()}" if level == "info" else f"  {clock} {level}: {message.rstrip()}"
        )
    if level in ("warning", "error", "critical") and logger != "py.warnings":
        return f"  {clock} {level}: {message.rstrip()} [{logger}]"
    return None


VERDICT_SCRIPT = r"""
import json, sys
from types import SimpleNamespace
from airflow.models.dagrun import DagRun
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session

verdicts = []
with create_session() as session:
    for dag_id in sys.argv[1:]:
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).first()
        if run is None:
            verdicts.append({"dag_id": dag_id, "state": "not run", "tasks": {}, "xcoms": {}})
            continue
        tasks = {
            ti.task_id: str(getattr(ti.state, "value", ti.state))
            for ti in run.get_task_instances(session=session)
        }
        xcoms = {}
        # The return values, and the final status a submit that waited pushes under "status".
        for key in ("return_value", "status"):
            rows = session.execute(
                XComModel.get_many(key=key, run_id=run.run_id, dag_ids=dag_id).with_only_columns(
                    XComModel.task_id, XComModel.value
                )
            ).all()
            for task_id, value in rows:
                name = task_id if key == "return_value" else f"{task_id} ({key})"
                xcoms[name] = XComModel.deserialize_value(SimpleNamespace(value=value))
        state = str(getattr(run.state, "value", run.state))
        verdicts.append({"dag_id": dag_id, "state": state, "tasks": tasks, "xcoms": xcoms})
print(json.dumps(verdicts, default=str))
"""
"""Run in the venv: each DAG's latest run, its task states and XCom return values (and final
statuses pushed under ``status``), as JSON."""


def describe_verdict(verdict: dict) -> str:
    """A few lines on one DAG run: state, job and final status, failed records by code, results."""
    lines = [f"{verdict['dag_id']}: {verdict['state']}"]
    xcoms = verdict.get("xcoms", {})
    status = next(
        (v for v in xcoms.values() if isinstance(v, dict) and {"job_id", "status"} <= v.keys()), None
    )
    summary = next(
        ((t, v) for t, v in xcoms.items() if isinstance(v, dict) and "failures_by_code" in v), None
    )
    failures = next(
        ((t, v) for t, v in xcoms.items() if isinstance(v, list) and v and all("code" in f for f in v)), None
    )
    if status:
        lines.append(f"  job {status['job_id']}: {status['status']}")
    if summary:
        task_id, value = summary
        by_code = ", ".join(f"{code} {count}" for code, count in value["failures_by_code"].items()) or "none"
        lines.append(f"  records failed: {value['failed']} of {value['records']}, by code: {by_code}")
        lines.append(f"  results: {value['output_path']} (summary in XCom of {task_id})")
    elif failures:
        task_id, value = failures
        counts: dict[str, int] = {}
        for failure in value:
            counts[failure["code"]] = counts.get(failure["code"], 0) + 1
        by_code = ", ".join(f"{code} {count}" for code, count in counts.items())
        lines.append(f"  records failed: {len(value)}, by code: {by_code}")
        lines.append(f"  results: XCom return value of {task_id}")
    elif status and status["status"] == "finished":
        lines.append("  records failed: none (finished), no result page read")
    tasks = verdict.get("tasks", {})
    lines.append("  tasks: " + ", ".join(f"{task} {state}" for task, state in tasks.items()))
    return "\n".join(lines)


QUIET = threading.Event()
"""Set when the example is over: the emulator's output is no longer echoed."""


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
        if not QUIET.is_set() and not line.startswith("INFO:uvicorn."):
            print(line, end="", flush=True)


def read_emulator_connections(emulator: subprocess.Popen) -> dict[str, str]:
    """Echo the emulator's banner and return the Airflow connections it prints:
    ``{"AIRFLOW_CONN_NETSUITE_DEFAULT": <SOAP JSON>, "AIRFLOW_CONN_NETSUITE_REST_DEFAULT": <REST JSON>}``
    (the banner's ``export AIRFLOW_CONN_...='...'`` lines, read up to its "Admin API" line)."""
    found: dict[str, str] = {}
    for line in emulator.stdout or ():
        if not line.startswith("INFO:uvicorn."):
            print(line, end="", flush=True)
        text = line.strip()
        if text.startswith("export AIRFLOW_CONN_"):
            name, _, value = text[len("export ") :].partition("=")
            found[name] = value.strip("'")
        if text.startswith("Admin API"):
            break
    return found


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
    "airflow_provider_asyncjob-*.dist-info/licenses/LICENSE",
)
"""What the wheel must hold besides the modules (fnmatch patterns)."""
SDIST_FILES = (
    "LICENSE",
    "tests/conftest.py",
    "tests/netsuite/test_models.py",
    "tests/dags/async_job_links.py",
    "example_dags/example_netsuite_upsert_customers.py",
    "docs/index.md",
)
"""What the sdist must hold for its tests to run (MANIFEST.in), relative to its top directory."""
SDIST_TESTS = ["tests/netsuite", "tests/test_example_dags.py"]
"""The sdist's tests that ``package`` runs from the unpacked sdist against the installed wheel."""


def package(args: list[str]) -> int:
    """Build sdist and wheel (the wheel from the sdist), install the wheel into a clean venv, and
    check there that Airflow lists the provider and its ``netsuite_soap`` connection type."""
    with tempfile.TemporaryDirectory(prefix="asyncjob-package-") as tmp:
        dist, clean = Path(tmp) / "dist", Path(tmp) / "venv"
        run([str(PYTHON), "-m", "build", "--outdir", str(dist), str(ROOT)], stdout=subprocess.DEVNULL)
        wheel = next(dist.glob("*.whl"))
        sdist = next(dist.glob("*.tar.gz"))
        print(f"Built {sdist.name} and {wheel.name}", flush=True)
        names = zipfile.ZipFile(wheel).namelist()
        missing = [pattern for pattern in PACKAGE_DATA if not fnmatch.filter(names, pattern)]
        if missing:
            print(f"The wheel lacks {missing}: check [tool.setuptools.package-data].", file=sys.stderr)
            return 1
        unpacked = Path(tmp) / "sdist"
        with tarfile.open(sdist) as archive:
            if hasattr(tarfile, "data_filter"):  # Python 3.10.12+: no links or paths out of the tree
                archive.extractall(unpacked, filter="data")
            else:
                archive.extractall(unpacked)  # noqa: S202 -- our own sdist, just built
        top = next(unpacked.iterdir())
        missing = [name for name in SDIST_FILES if not (top / name).is_file()]
        if missing:
            print(f"The sdist lacks {missing}: check MANIFEST.in.", file=sys.stderr)
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
        code = run_sdist_tests(top, clean_bin, env)
        if code:
            print(f"The sdist's tests failed (exit code {code}).", file=sys.stderr)
            return code
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


def run_sdist_tests(top: Path, clean_bin: Path, env: dict[str, str]) -> int:
    """Run SDIST_TESTS in the unpacked sdist ``top`` with the clean venv, whose installed wheel
    they must import (the sdist's own copy of the package is moved away first)."""
    pip = [str(clean_bin / "python"), "-m", "pip", "install", "--quiet"]
    run([*pip, "--upgrade", "pip"])  # --group needs pip >= 25.1
    run([*pip, "--group", group("test", top)])
    shutil.move(str(top / "airflow_asyncjob"), str(top.parent / "airflow_asyncjob.sdist-copy"))
    where = subprocess.run(  # from the tests' own directory, as pytest runs them
        [str(clean_bin / "python"), "-c", "import airflow_asyncjob; print(airflow_asyncjob.__file__)"],
        cwd=top,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    if not where.strip().startswith(str(clean_bin.parent)):
        print(f"The sdist's tests would import {where.strip()}, not the installed wheel.", file=sys.stderr)
        return 1
    print(f"Running {' '.join(SDIST_TESTS)} from the unpacked sdist against the wheel ...", flush=True)
    return subprocess.run(
        [str(clean_bin / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *SDIST_TESTS],
        cwd=top,
        env=env,
    ).returncode


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
        run(
            [str(python), "-m", "pip", "install", "--quiet", "-e", str(ROOT), "--group", group("test"), *pins]
        )
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
