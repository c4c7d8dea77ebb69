"""A distributed Airflow deployment on loopback: PostgreSQL, Redis, CeleryExecutor, two triggerers.

``DistributedStack`` is ``AirflowStack`` with the pieces a scaled-out deployment has instead of
SQLite and LocalExecutor: a throwaway PostgreSQL cluster (Debian's ``postgresql`` server binaries,
``initdb`` in a temporary directory, run as the ``postgres`` user when the tests run as root, since
PostgreSQL refuses root) as the metadata database and Celery's result backend, a Redis server
(Debian's ``redis-server``, no persistence) as Celery's broker, two ``airflow triggerer`` processes
and one ``airflow celery worker``. Every server listens on a free port of 127.0.0.1 and is stopped
(and the cluster's directory removed) by ``stop``, after the Airflow processes.

The timings that decide how fast a dead process is noticed are shortened so that the kill tests
take seconds, not minutes: a triggerer heartbeats every 2 s and counts as dead after 10 s without
one (its triggers go to a live triggerer); a task instance without a heartbeat for 20 s is failed
by the scheduler (checked every 2 s), so that its retry runs.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from .stack import AirflowStack, StackError, Started, free_port, tail, wait_for

POSTGRES_USER = "postgres"
"""The system user the PostgreSQL server runs as when the tests run as root (created if missing)."""

TRIGGERERS = ("triggerer-1", "triggerer-2")
"""The triggerers' names: their process names here and the hostnames they register in the job table."""

HOSTNAME_MODULE = '''"""Airflow's [core] hostname_callable here: DEPLOYMENT_HOSTNAME, else the FQDN."""
import os
import socket


def hostname() -> str:
    return os.environ.get("DEPLOYMENT_HOSTNAME") or socket.getfqdn()
'''
"""Written into the deployment's working directory (on ``python -m airflow``'s path): two
triggerers on one machine would otherwise register the same hostname, and a test could not tell
from the job table which process holds a trigger."""


def postgres_bindir() -> Path | None:
    """The directory of PostgreSQL's ``postgres`` and ``initdb``: Debian's newest, else the PATH's."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("postgres")
    return Path(on_path).resolve().parent if on_path else None


def missing_servers() -> list[str]:
    """What the distributed stack needs and this machine lacks, as apt package names."""
    missing = []
    if postgres_bindir() is None or not (postgres_bindir() / "initdb").exists():  # type: ignore[operator]
        missing.append("postgresql")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    return missing


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path))


@dataclass
class RunAs:
    """The user a server runs as: the prefix that switches to it (empty when not root), uid, gid."""

    prefix: list[str]
    uid: int
    gid: int

    @classmethod
    def for_postgres(cls) -> RunAs:
        """Root: ``setpriv`` to POSTGRES_USER (``useradd`` first if it is missing); else this user."""
        if os.geteuid() != 0:
            return cls([], os.getuid(), os.getgid())
        try:
            entry = pwd.getpwnam(POSTGRES_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", POSTGRES_USER],
                check=True,
                capture_output=True,
            )
            entry = pwd.getpwnam(POSTGRES_USER)
        prefix = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--"]
        return cls(prefix, entry.pw_uid, entry.pw_gid)


class DistributedStack(AirflowStack):
    """PostgreSQL + Redis + the emulator + API server, scheduler (CeleryExecutor), DAG processor,
    two triggerers and a Celery worker, on loopback.

    Args: as ``AirflowStack``'s.

    Raises (``start``):
        StackError: a server or component did not come up in time (its log's tail is quoted).
    """

    def __init__(self, workdir: Path, dags_folder: Path, python: str = sys.executable) -> None:
        super().__init__(workdir, dags_folder, python)
        self.pg_port = free_port()
        self.redis_port = free_port()
        self.pg_dir: Path | None = None
        self.services: list[Started] = []
        self.workers: list[str] = []
        self._env: dict[str, str] | None = None
        self._began = time.monotonic()
        self.db_url = f"postgresql+psycopg2://airflow@127.0.0.1:{self.pg_port}/airflow"

    # -- servers --------------------------------------------------------------------------------

    def start_services(self) -> None:
        """Start PostgreSQL (a new cluster with an ``airflow`` database) and Redis; wait for both."""
        began = self._began = time.monotonic()
        (self.workdir / "deployment_hostname.py").write_text(HOSTNAME_MODULE)
        self._start_postgres()
        self._start_redis()
        self.timings["postgres + redis"] = time.monotonic() - began

    def _start_postgres(self) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            raise StackError("PostgreSQL's server binaries are missing: apt-get install postgresql")
        run_as = RunAs.for_postgres()
        # Not under pytest's tmp_path: that is private to root (0700), and the server runs as postgres.
        self.pg_dir = Path(tempfile.mkdtemp(prefix="asyncjob-postgres-"))
        os.chown(self.pg_dir, run_as.uid, run_as.gid)
        data = self.pg_dir / "data"
        init_log = self.logs / "initdb.log"
        with init_log.open("wb") as out:
            result = subprocess.run(
                [*run_as.prefix, str(bindir / "initdb"), "-D", str(data), "-U", "airflow", "--auth=trust"]
                + ["-E", "UTF8", "--locale=C", "--no-sync"],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.pg_dir,
                timeout=120,
            )
        if result.returncode:
            raise StackError(f"initdb exited {result.returncode}:\n{tail(init_log)}")
        settings = {
            "listen_addresses": "127.0.0.1",
            "max_connections": "300",  # every Airflow process keeps a pool, every Celery child too
            # A throwaway cluster: durability buys nothing here and costs seconds of the migration.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        command = [*run_as.prefix, str(bindir / "postgres"), "-D", str(data), "-p", str(self.pg_port)]
        command += ["-k", str(self.pg_dir)]  # its Unix socket beside the cluster, not /var/run
        for key, value in settings.items():
            command += ["-c", f"{key}={value}"]
        server = self._spawn("postgres", command, dict(os.environ), cwd=self.pg_dir)
        self.started.remove(server)
        self.services.append(server)
        import psycopg2  # type: ignore[import-untyped]  # no stubs installed

        def accepting() -> bool | None:
            self._check_services()
            try:
                connect = psycopg2.connect(
                    host="127.0.0.1", port=self.pg_port, user="airflow", dbname="postgres"
                )
            except psycopg2.OperationalError as error:  # not listening yet, or still starting up
                raise OSError(str(error).strip()) from None
            with contextlib.closing(connect) as connection:
                connection.autocommit = True
                with connection.cursor() as cursor:
                    cursor.execute("CREATE DATABASE airflow")
            return True

        wait_for("PostgreSQL accepting connections", accepting, timeout=60, interval=0.3)

    def _start_redis(self) -> None:
        command = ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        server = self._spawn("redis", command, dict(os.environ))
        self.started.remove(server)
        self.services.append(server)
        import redis

        def pong() -> bool | None:
            self._check_services()
            return bool(redis.Redis(host="127.0.0.1", port=self.redis_port, socket_timeout=2).ping()) or None

        wait_for("Redis answering PING", pong, timeout=30, interval=0.3)

    def _check_services(self) -> None:
        for item in self.services:
            if item.process.poll() is not None:
                raise StackError(f"{item.name} exited {item.process.returncode}:\n{tail(item.log)}")

    # -- Airflow --------------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        """``AirflowStack``'s, with PostgreSQL, CeleryExecutor on Redis and the short dead-process timings."""
        if self._env is not None:  # one JWT secret and one set of ports for every process, late ones too
            return dict(self._env)
        env = super().environment()
        env.update(
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=self.db_url,
            AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            AIRFLOW__CELERY__RESULT_BACKEND=f"db+postgresql+psycopg2://airflow@127.0.0.1:{self.pg_port}/airflow",
            AIRFLOW__CELERY__WORKER_CONCURRENCY="4",
            AIRFLOW__CELERY__OPERATION_TIMEOUT="10",  # 1 s by default: too short on 2 busy cores
            AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC="2",
            AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD="10",
            # The runner's watchdog (3.2.2+) stops a triggerer's heartbeat while its event loop is
            # silent for 30 s; a trigger's first poll can be that silent here (see docs/deployment.md),
            # and a live triggerer would lose its triggers. Liveness is the process's heartbeat alone.
            AIRFLOW__TRIGGERER__RUNNER_HEALTH_CHECK_THRESHOLD="0",
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="20",
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="2",
            # Logs are read from the shared AIRFLOW_HOME; no log server (their fixed ports would clash
            # between the two triggerers, and with any other deployment on this machine).
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
        )
        self._env = env
        return dict(env)

    def components(self) -> list[tuple[str, list[str], dict[str, str]]]:
        """API server, scheduler, DAG processor, two triggerers (own hostnames) and worker-1."""
        started = [item for item in super().components() if item[0] != "triggerer"]
        for name in TRIGGERERS:
            command = [self.python, "-m", "airflow", "triggerer", "--skip-serve-logs"]
            overrides = {
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "deployment_hostname.hostname",
                "DEPLOYMENT_HOSTNAME": name,
            }
            started.append((name, command, overrides))
        started.append(self._worker_component("worker-1"))
        return started

    def _worker_component(self, name: str) -> tuple[str, list[str], dict[str, str]]:
        command = [self.python, "-m", "airflow", "celery", "worker", "--skip-serve-logs", "-H", f"{name}@%h"]
        command += ["--pid", str(self.workdir / f"{name}.pid"), "--without-mingle", "--without-gossip"]
        return name, command, {}

    def start(self) -> None:
        """Start everything; wait until every component is healthy and worker-1 is ready."""
        super().start()
        self.wait_worker_ready("worker-1", timeout=120)
        self.timings["start"] = time.monotonic() - self._began

    def start_worker(self, name: str) -> Started:
        """Start another Celery worker (``-H name@host``) and wait until it is ready."""
        name, command, overrides = self._worker_component(name)
        item = self._spawn(name, command, {**self.environment(), **overrides})
        self.wait_worker_ready(name, timeout=120)
        return item

    def wait_worker_ready(self, name: str, timeout: float) -> None:
        """Wait for Celery's ``<name>@<host> ready.`` line in the worker's log."""
        (item,) = [started for started in self.started if started.name == name]
        ready = re.compile(rf"{re.escape(name)}@\S+ ready\.")

        def is_ready() -> bool | None:
            self._check_alive()
            return True if ready.search(item.log.read_text(errors="replace")) else None

        try:
            wait_for(f"Celery worker {name} ready", is_ready, timeout=timeout, interval=0.5)
        except StackError as error:
            raise StackError(f"{error}\n{self.log_tails()}") from None
        self.workers.append(name)

    def kill(self, name: str) -> list[int]:
        """``kill -9`` a started process and every descendant at once (a machine lost); return the pids."""
        (item,) = [started for started in self.started if started.name == name]
        self.killed_on_purpose.add(name)
        top = psutil.Process(item.process.pid)
        processes = [top, *top.children(recursive=True)]
        for proc in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(processes, timeout=10)
        item.process.wait(timeout=10)
        return [proc.pid for proc in processes]

    # -- the metadata database, read directly ---------------------------------------------------

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of one read-only SQL statement on the metadata database."""
        import psycopg2

        with contextlib.closing(
            psycopg2.connect(host="127.0.0.1", port=self.pg_port, user="airflow", dbname="airflow")
        ) as connection:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall())

    def trigger_holder(
        self, dag_id: str, run_id: str, task_id: str
    ) -> tuple[str | None, int | None, str | None]:
        """A deferred task instance's wait: (its state, the triggerer job id holding its trigger, that
        triggerer's hostname, i.e. one of TRIGGERERS); job id and hostname None while unassigned."""
        rows = self.query(
            "SELECT ti.state, t.triggerer_id, j.hostname FROM task_instance ti"
            " LEFT JOIN trigger t ON t.id = ti.trigger_id LEFT JOIN job j ON j.id = t.triggerer_id"
            " WHERE ti.dag_id = %s AND ti.run_id = %s AND ti.task_id = %s AND ti.map_index = -1",
            dag_id,
            run_id,
            task_id,
        )
        if not rows:
            return None, None, None
        state, triggerer_id, hostname = rows[0]
        return state, triggerer_id, hostname

    def triggerer_jobs(self) -> dict[str, tuple[int, str]]:
        """The triggerers registered in the job table: hostname -> (latest job id, its state)."""
        rows = self.query("SELECT hostname, id, state FROM job WHERE job_type = 'TriggererJob' ORDER BY id")
        return {hostname: (job_id, state) for hostname, job_id, state in rows}

    # -- the emulator's admin API ---------------------------------------------------------------

    @property
    def emulator_url(self) -> str:
        """The emulator's base URL, from the connection it printed."""
        import json

        return str(json.loads(self.connection_uri or "{}")["host"]).rstrip("/")

    def emulator(self, method: str, path: str, **kwargs: Any) -> Any:
        """One call on the emulator's admin API (``/_emulator/...``); returns the decoded JSON."""
        response = httpx.request(method, f"{self.emulator_url}/_emulator/{path}", timeout=30, **kwargs)
        if response.status_code >= 300:
            raise StackError(f"{method} /_emulator/{path} -> HTTP {response.status_code}: {response.text}")
        return response.json()

    def status_requests(self, job_id: str) -> int:
        """How many checkAsyncStatus requests about ``job_id`` the emulator has received."""
        log = self.emulator("GET", "requests")
        return sum(1 for entry in log if entry["operation"] == "checkAsyncStatus" and job_id in entry["body"])

    # -- lifecycle ------------------------------------------------------------------------------

    def _check_alive(self) -> None:
        self._check_services()
        super()._check_alive()

    def log_tails(self, lines: int = 25) -> str:
        """The last lines of every Airflow component's and server's log."""
        services = "\n".join(
            f"--- {item.name} ({item.log}) ---\n{tail(item.log, lines)}" for item in self.services
        )
        return f"{super().log_tails(lines)}\n{services}"

    def stop(self, timeout: float = 20) -> list[str]:
        """Stop the Airflow processes and the emulator (``AirflowStack.stop``), then Redis and
        PostgreSQL (SIGINT: its fast shutdown), and remove the cluster's directory.

        Returns:
            Descriptions of processes still alive even after SIGKILL (empty when all are gone).
        """
        survivors = super().stop(timeout)
        for item in self.services:
            with contextlib.suppress(ProcessLookupError):
                item.process.send_signal(signal.SIGINT if item.name == "postgres" else signal.SIGTERM)
        for item in self.services:
            try:
                item.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.killed.append(f"{item.process.pid} ({item.name})")
                with contextlib.suppress(psutil.NoSuchProcess):
                    for proc in [
                        psutil.Process(item.process.pid),
                        *psutil.Process(item.process.pid).children(True),
                    ]:
                        proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    item.process.wait(timeout=10)
            if item.process.poll() is None:
                survivors.append(f"{item.process.pid} ({item.name})")
        if self.pg_dir is not None:
            shutil.rmtree(self.pg_dir, ignore_errors=True)
        return survivors
