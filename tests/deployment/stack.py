"""A real Airflow deployment on loopback, for the deployment tests and nothing else.

``AirflowStack`` starts the NetSuite emulator and Airflow's four long-running components (API
server, scheduler with LocalExecutor, DAG processor, triggerer) as subprocesses sharing one
temporary AIRFLOW_HOME with SQLite, then talks to them only through Airflow's REST API (v2).
Every process is started in its own session (process group); ``stop`` sends SIGTERM to each,
then to whatever is left of its group and descendants (those that left the group included),
then SIGKILL. Every wait is
bounded in seconds and, when it runs out, says which component's log to read (its tail is
quoted).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil

T = TypeVar("T")

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
"""Airflow 3's long-running components, in start order (the API server first: the others call it)."""

HEALTHY_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
"""What GET /api/v2/monitor/health reports on; each must say ``healthy`` before a DAG is triggered."""


class StackError(AssertionError):
    """The deployment did not do what was expected in time; the message quotes the relevant logs."""


class ServerError(StackError):
    """The API answered 5xx (e.g. SQLite busy): a wait tries again, a single call fails."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 free at the time of asking."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, or a note that it is missing."""
    if not path.exists():
        return f"({path} does not exist)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.5) -> T:
    """Call ``probe`` until it returns something other than None, for at most ``timeout`` seconds.

    Raises:
        StackError: the time ran out; the message names ``what`` and the probe's last error.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
        except (httpx.HTTPError, OSError, ValueError, KeyError, ServerError) as error:
            value, last_error = None, error
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise StackError(f"{what}: not within {timeout:.0f} s (last error: {last_error!r})")
        time.sleep(interval)


@dataclass
class Started:
    """One process this stack started: its name, Popen object and log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path


class AirflowStack:
    """The emulator and Airflow's API server, scheduler, DAG processor and triggerer on loopback.

    Args:
        workdir: an empty directory for AIRFLOW_HOME, the SQLite database and every log.
        dags_folder: the DAG files Airflow serves.
        python: the interpreter to run Airflow and the emulator with (this one by default).
        emulator_args: more command-line arguments for the emulator (e.g. ``--scenario FILE``).
    """

    def __init__(
        self,
        workdir: Path,
        dags_folder: Path,
        python: str = sys.executable,
        extra_env: dict[str, str] | None = None,
        emulator_args: list[str] | None = None,
    ) -> None:
        self.extra_env = dict(extra_env or {})  # e.g. the UI test's [netsuite_ui] settings
        self.emulator_args = list(emulator_args or [])
        self.workdir = workdir
        self.dags_folder = dags_folder
        self.python = python
        self.home = workdir / "airflow-home"
        self.logs = workdir / "logs"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        # Long, random secrets so that the tests can look for them in task logs.
        self.consumer_secret = "cs-" + secrets.token_hex(16)
        self.token_secret = "ts-" + secrets.token_hex(16)
        self.started: list[Started] = []
        self.connection_uri: str | None = None
        self.rest_connection_uri: str | None = None
        """The emulator's ``netsuite_rest`` connection (OAuth 2.0) for the REST example."""
        self._client: httpx.Client | None = None
        self.timings: dict[str, float] = {}
        self.killed: list[str] = []
        """Processes that ignored ``stop``'s SIGTERM: started ones past its timeout, descendants past 5 s."""
        self.killed_on_purpose: set[str] = set()
        """Started processes a test killed (their exit is no failure of the deployment)."""

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start everything and wait until the API reports every component healthy.

        Raises:
            StackError: a component did not come up in time (its log's tail is in the message).
        """
        self.home.mkdir(parents=True)
        self.logs.mkdir(parents=True)
        began = time.monotonic()
        self.start_services()
        self.connection_uri = self._start_emulator()
        env = self.environment()
        migrate_log = self.logs / "db-migrate.log"
        with migrate_log.open("wb") as out:
            result = subprocess.run(
                [self.python, "-m", "airflow", "db", "migrate"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=300,
            )
        if result.returncode:
            raise StackError(f"airflow db migrate exited {result.returncode}:\n{tail(migrate_log)}")
        self.timings["db migrate"] = time.monotonic() - began
        for name, command, overrides in self.components():
            self._spawn(name, command, {**env, **overrides})
        self.wait_healthy(timeout=180)
        self.timings["start"] = time.monotonic() - began

    def start_services(self) -> None:
        """Start what Airflow needs before ``db migrate`` (nothing here: SQLite is a file)."""

    def components(self) -> list[tuple[str, list[str], dict[str, str]]]:
        """The long-running Airflow processes to start: (name, command, environment overrides)."""
        started: list[tuple[str, list[str], dict[str, str]]] = []
        for name in COMPONENTS:
            command = [self.python, "-m", "airflow", name]
            if name == "api-server":
                command += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
            started.append((name, command, {}))
        return started

    def stop(self, timeout: float = 20) -> list[str]:
        """Stop every process started and all their descendants.

        SIGTERM goes first to each started process alone, so that it shuts down in order (the
        scheduler stops its LocalExecutor workers itself; signalling them at the same time can
        hang its shutdown); after ``timeout`` seconds, or once they are gone, whatever is left of
        their process groups and descendants gets SIGTERM, then SIGKILL five seconds later.

        Returns:
            Descriptions of processes still alive even after SIGKILL (empty when all are gone).
        """
        if self._client is not None:
            self._client.close()
        tops: list[psutil.Process] = []
        processes: list[psutil.Process] = []
        for item in reversed(self.started):
            with contextlib.suppress(psutil.NoSuchProcess):
                top = psutil.Process(item.process.pid)
                tops.append(top)
                processes += [top, *top.children(recursive=True)]
        names = {proc.pid: _cmdline(proc) for proc in processes}
        for top in tops:
            with contextlib.suppress(psutil.NoSuchProcess):
                top.terminate()
        _, slow = psutil.wait_procs(tops, timeout=timeout)
        left = [proc for proc in processes if proc.is_running()]
        for item in self.started:
            _signal_group(item.process.pid, signal.SIGTERM)
        for proc in left:  # descendants that left their group (a new session) get it too
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.terminate()
        _, alive = psutil.wait_procs(left, timeout=5)
        self.killed = [f"{proc.pid} ({names[proc.pid]})" for proc in [*slow, *alive]]
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        _, alive = psutil.wait_procs(alive, timeout=10)
        for item in self.started:  # reap, so that no zombie is left behind either
            with contextlib.suppress(subprocess.TimeoutExpired):
                item.process.wait(timeout=1)
        return [f"{proc.pid} ({names[proc.pid]})" for proc in alive]

    def environment(self) -> dict[str, str]:
        """The environment every Airflow component gets (nothing inherited from AIRFLOW_* outside)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            AIRFLOW_HOME=str(self.home),
            AIRFLOW__CORE__DAGS_FOLDER=str(self.dags_folder),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__CORE__PARALLELISM="8",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__CORE__TEST_CONNECTION="Enabled",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{self.base_url}/execution/",
            AIRFLOW__API__BASE_URL=self.base_url,
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{self.home}/airflow.db",
            AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(self.home / "task-logs"),
            AIRFLOW_CONN_NETSUITE_DEFAULT=self.connection_uri or "",
            AIRFLOW_CONN_NETSUITE_REST_DEFAULT=self.rest_connection_uri or "",
        )
        env.update(self.extra_env)
        return env

    def _spawn(self, name: str, command: list[str], env: dict[str, str], cwd: Path | None = None) -> Started:
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:  # a process started again under the same name appends
            process = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so that stop() reaches its children
                cwd=cwd or self.workdir,
            )
        item = Started(name, process, log)
        self.started.append(item)
        return item

    def _start_emulator(self) -> str:
        """Start ``python -m airflow_asyncjob.testing.emulator --port 0``; return its connection JSON."""
        started = self._spawn(
            "emulator",
            [
                self.python,
                "-m",
                "airflow_asyncjob.testing.emulator",
                "--port",
                "0",
                "--consumer-secret",
                self.consumer_secret,
                "--token-secret",
                self.token_secret,
                *self.emulator_args,
            ],
            {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        )
        prefix = "export AIRFLOW_CONN_NETSUITE_DEFAULT="
        rest_prefix = "export AIRFLOW_CONN_NETSUITE_REST_DEFAULT="  # printed with it, just after

        def connection() -> str | None:
            if started.process.poll() is not None:
                raise StackError(f"the emulator exited {started.process.returncode}:\n{tail(started.log)}")
            found = None
            for line in started.log.read_text(errors="replace").splitlines():
                if line.strip().startswith(prefix):
                    found = line.strip()[len(prefix) :].strip("'")
                elif line.strip().startswith(rest_prefix):
                    self.rest_connection_uri = line.strip()[len(rest_prefix) :].strip("'")
            return found if self.rest_connection_uri else None

        return wait_for(f"the emulator's banner in {started.log}", connection, timeout=60, interval=0.2)

    # -- REST API -------------------------------------------------------------------------------

    @property
    def client(self) -> httpx.Client:
        """An httpx client for the API server, with a JWT from GET /auth/token (all admins)."""
        if self._client is None:
            response = httpx.get(f"{self.base_url}/auth/token", timeout=30)
            response.raise_for_status()
            token = response.json()["access_token"]
            self._client = httpx.Client(
                base_url=f"{self.base_url}/api/v2",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
        return self._client

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """One REST call; returns the decoded JSON.

        Raises:
            StackError: the answer was not 2xx (status and body quoted).
        """
        response = self.client.request(method, path, **kwargs)
        if response.status_code >= 300:
            error = ServerError if response.status_code >= 500 else StackError
            raise error(f"{method} {path} -> HTTP {response.status_code}: {response.text[:1000]}")
        return response.json()

    def wait_healthy(self, timeout: float) -> dict[str, Any]:
        """Wait until /api/v2/monitor/health reports every component healthy."""

        def healthy() -> dict[str, Any] | None:
            self._check_alive()
            health = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=10).json()
            states = {name: (health.get(name) or {}).get("status") for name in HEALTHY_COMPONENTS}
            return health if all(state == "healthy" for state in states.values()) else None

        try:
            return wait_for("every Airflow component healthy", healthy, timeout=timeout, interval=1)
        except StackError as error:
            raise StackError(f"{error}\n{self.log_tails()}") from None

    def wait_dags(self, dag_ids: set[str], timeout: float) -> dict[str, Any]:
        """Wait until the DAG processor has serialized every DAG in ``dag_ids``; return them by id."""

        def parsed() -> dict[str, Any] | None:
            self._check_alive()
            dags = {d["dag_id"]: d for d in self.api("GET", "/dags", params={"limit": 1000})["dags"]}
            return dags if dag_ids <= set(dags) else None

        try:
            return wait_for(f"DAGs {sorted(dag_ids)} parsed", parsed, timeout=timeout, interval=1)
        except StackError as error:
            errors = self.api("GET", "/importErrors")
            raise StackError(f"{error}\nimport errors: {errors}\n{self.log_tails()}") from None

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        """POST a manual DAG run with ``conf``; return its run id."""
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
        return str(run["dag_run_id"])

    def wait_run(self, dag_id: str, run_id: str, timeout: float) -> dict[str, Any]:
        """Wait until a DAG run is ``success`` or ``failed``; return it."""

        def done() -> dict[str, Any] | None:
            self._check_alive()
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            return run if run["state"] in ("success", "failed") else None

        try:
            return wait_for(f"DAG run {dag_id}/{run_id} finished", done, timeout=timeout, interval=1)
        except StackError as error:
            states = self.task_states(dag_id, run_id)
            raise StackError(f"{error}\ntask states: {states}\n{self.log_tails()}") from None

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """Every task instance's state in a run, by task id."""
        answer = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
        return {ti["task_id"]: ti["state"] for ti in answer["task_instances"]}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """An XCom value as the API gives it, decoded from JSON when it comes as a string; None if absent."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        response = self.client.get(path)
        if response.status_code == 404:
            return None
        if response.status_code >= 300:
            raise StackError(f"GET {path} -> HTTP {response.status_code}: {response.text[:1000]}")
        value = response.json()["value"]
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def extra_links(self, dag_id: str, run_id: str, task_id: str) -> dict[str, str | None]:
        """The extra links the API reports for a task instance: link name -> URL (None when unset)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/links"
        return dict(self.api("GET", path)["extra_links"])

    def task_log_all_tries(self, dag_id: str, run_id: str, task_id: str) -> str:
        """Every try's log of a task instance, oldest first (a spurious failure may add a try).

        A try the API cannot serve is read from the log folder instead: on Airflow 3.2.0 a deferred
        try failed by a stale executor event (apache/airflow#66374) keeps its files but gets no
        history row, so ``GET .../logs/1`` answers 404 although the try ran and deferred.
        """
        ti = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        logs = []
        for number in range(1, max(1, int(ti["try_number"])) + 1):
            try:
                logs.append(self.task_log(dag_id, run_id, task_id, number))
            except StackError as error:
                logs.append(f"(no log for try {number} through the API: {error})")
                logs.append(self.task_log_files(dag_id, run_id, task_id, number))
        return "\n".join(logs)

    def task_log_files(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """One try's log files as the worker and the triggerer wrote them; a note when there are none."""
        folder = self.home / "task-logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        files = sorted(folder.glob(f"attempt={try_number}.log*"))
        if not files:  # a try failed by the scheduler before it ran
            return f"(no log file for try {try_number} under {folder})"
        return "\n".join(path.read_text(errors="replace") for path in files)

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """A task instance's log (one try) as text, read through the API server."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        answer = self.api("GET", path, params={"full_content": True}, headers={"Accept": "application/json"})
        content = answer.get("content")
        if isinstance(content, list):
            return "\n".join(json.dumps(line) if not isinstance(line, str) else line for line in content)
        return str(content)

    # -- diagnostics ----------------------------------------------------------------------------

    def failed_task_logs(self, dag_id: str, run_id: str, lines: int = 30) -> str:
        """The last log events of every failed task instance in a run, for a failure message."""
        answer = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
        parts = []
        for ti in answer["task_instances"]:
            if ti["state"] != "failed":
                continue
            path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{ti['try_number']}"
            content = self.api("GET", path, params={"full_content": True}).get("content") or []
            events = [
                f"{line.get('timestamp', '')} {line.get('level', '')} {line.get('event', '')}"
                if isinstance(line, dict)
                else str(line)
                for line in content
            ]
            parts.append(f"--- {ti['task_id']} try {ti['try_number']} ---\n" + "\n".join(events[-lines:]))
        return "\n".join(parts)

    def _check_alive(self) -> None:
        for item in self.started:
            if item.name not in self.killed_on_purpose and item.process.poll() is not None:
                raise StackError(
                    f"{item.name} exited with {item.process.returncode}; its log ({item.log}):\n"
                    f"{tail(item.log)}"
                )

    def log_tails(self, lines: int = 25) -> str:
        """The last lines of every component's log, for a failure message."""
        return "\n".join(
            f"--- {item.name} ({item.log}) ---\n{tail(item.log, lines)}" for item in self.started
        )


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())[:100]
    except psutil.Error:
        return "?"


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # start_new_session=True made the process its group's leader
    except ProcessLookupError:
        pass
