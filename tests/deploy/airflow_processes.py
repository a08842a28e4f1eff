"""Airflow components as real processes, for tests that need the scheduler rather than ``dag.test()``.

An :class:`AirflowStack` owns one AIRFLOW_HOME and one environment (:func:`airflow_environment`). Each
component runs in its own process group, so whatever it spawns (Celery pool, task processes, API
workers, log servers) is stopped with it, and writes one log file. Readiness probes fail at once when a
component dies. Leaving the ``with`` block stops everything; when the block raised, each log's path and
tail are printed first (pytest shows them with the failure).
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
import sqlite_metadata
from project_env import airflow_process_environment

from deploy.airflow_rest import AirflowApi

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = (sys.executable, "-m", "airflow")
ADMIN = "admin"
T = TypeVar("T")

#: Variables of the test process that must not leak into a stack: its own Airflow home, DB and connections.
_PRIVATE_PREFIXES = ("AIRFLOW", "CAMPAIGN_SYNC_")
_PR_SET_PDEATHSIG = 1
# Looked up here, not in the forked child, where only the simplest calls are safe.
_PRCTL = getattr(ctypes.CDLL(None), "prctl", None) if sys.platform.startswith("linux") else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def airflow_environment(
    home: Path, *, executor: str, sql_alchemy_conn: str | None, api_port: int,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment every component of one stack shares.

    ``sql_alchemy_conn`` None means SQLite in ``home``, set up as ``make run`` sets it up (busy timeout here,
    the write-ahead log by :func:`deploy.sync_helpers.prepare_metadata`).
    """
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(_PRIVATE_PREFIXES)}
    metadata = ({"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn} if sql_alchemy_conn
                else sqlite_metadata.airflow_environment(home / "airflow.db"))
    return {
        **airflow_process_environment(home, inherited),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__EXECUTOR": executor,
        # A sync runs one or two tasks at a time; the default of 32 would start 32 LocalExecutor workers.
        "AIRFLOW__CORE__PARALLELISM": "4",
        **metadata,
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        # Runs come only from the test (trigger, backfill): a scheduled run of "now" would be a newer
        # interval than anything the test sets up, and would supersede it.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        # Every component must sign and check task tokens with the same secret.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        # Parallel stacks on one machine must not fight over the default log-server ports.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "CAMPAIGN_SYNC_DATA_DIR": str(home / "data"),
        "PYTHONUNBUFFERED": "1",
        **(extra or {}),
    }


class ComponentExited(RuntimeError):
    """A component stopped while the test still needed it."""


@dataclass
class Component:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def running(self) -> bool:
        return self.process.poll() is None


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the test process dies (e.g. killed by CI)."""
    if _PRCTL is not None:  # elsewhere than Linux, stop() is the only guard
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _tail(path: Path, lines: int) -> str:
    if not path.exists():
        return "(no output)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class AirflowStack:
    """One Airflow installation made of separately started components."""

    def __init__(self, home: Path, env: Mapping[str, str]) -> None:
        self.home = home
        self.env = dict(env)
        self.log_dir = home / "component-logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.components: list[Component] = []
        self.password = secrets.token_urlsafe(16)
        # Written before the API server starts, so the login is known without parsing its output.
        Path(self.env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).write_text(
            json.dumps({ADMIN: self.password}))
        self.api_url = f"http://127.0.0.1:{self.env['AIRFLOW__API__PORT']}"
        self.api = AirflowApi(self.api_url, ADMIN, self.password)

    # -- lifecycle ----------------------------------------------------------------------------------------

    def __enter__(self) -> AirflowStack:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        try:
            if exc_type is not None:
                print(self.report(), flush=True)
        finally:
            self.stop()

    def cli(self, *args: str, timeout: float = 180) -> str:
        """Run ``airflow <args>`` to completion; its output goes to cli.log and is returned."""
        log = self.log_dir / "cli.log"
        with log.open("a") as handle:
            handle.write(f"\n$ airflow {' '.join(args)}\n")
            handle.flush()
            result = subprocess.run([*AIRFLOW, *args], env=self.env, cwd=self.home, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, timeout=timeout)
            handle.write(result.stdout)
        if result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} exited with {result.returncode} (log: {log}):\n"
                               + "\n".join(result.stdout.splitlines()[-40:]))
        return result.stdout

    def start(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> Component:
        """Start ``airflow <args>`` in its own process group, logging to ``<name>.log``."""
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [*AIRFLOW, *args], env={**self.env, **(env or {})}, cwd=self.home, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
            )
        component = Component(name, process, log_path)
        self.components.append(component)
        return component

    def stop_component(self, name: str, grace: float = 20) -> None:
        """Stop one component (SIGTERM, then SIGKILL after ``grace``) and forget it, so it may be started again."""
        for component in [c for c in self.components if c.name == name]:
            _signal_group(component.process.pid, signal.SIGTERM)
            try:
                component.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(component.process.pid, signal.SIGKILL)
                component.process.wait(timeout=10)
            self.components.remove(component)

    def stop(self, grace: float = 20) -> None:
        """SIGTERM every process group (newest first), wait, then SIGKILL whatever is left of each group."""
        for component in reversed(self.components):
            _signal_group(component.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for component in self.components:
            try:
                component.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for component in self.components:
            _signal_group(component.process.pid, signal.SIGKILL)  # stragglers whose leader already exited
            try:
                component.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    # -- readiness ----------------------------------------------------------------------------------------

    def check_running(self) -> None:
        for component in self.components:
            if not component.running:
                raise ComponentExited(
                    f"{component.name} exited with code {component.process.returncode} "
                    f"(log: {component.log_path}):\n{_tail(component.log_path, 40)}")

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float, interval: float = 1.0) -> T:
        """Poll ``probe`` until it returns something other than None/False; fail early if a component dies."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_running()
            try:
                value = probe()
            except requests.RequestException:
                value = None
            if value not in (None, False):
                return value  # type: ignore[return-value]
            if time.monotonic() > deadline:
                raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}")
            time.sleep(interval)

    def wait_for_log(self, name: str, text: str, timeout: float) -> None:
        path = self.log_dir / f"{name}.log"
        self.wait_for(f"{text!r} in {path}", lambda: path.exists() and text in path.read_text(errors="replace"),
                      timeout)

    def wait_healthy(self, *jobs: str, timeout: float = 120) -> dict[str, Any]:
        """Wait until the API server answers and reports each of ``jobs`` (e.g. "scheduler") healthy."""
        def probe() -> dict[str, Any] | None:
            health = requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).json()
            healthy = all((health.get(job) or {}).get("status") == "healthy" for job in jobs)
            return health if healthy else None

        return self.wait_for(f"the API server to report {', '.join(jobs) or 'itself'} healthy", probe, timeout)

    # -- diagnostics --------------------------------------------------------------------------------------

    def report(self, lines: int = 30) -> str:
        parts = [f"Airflow stack in {self.home}; component logs in {self.log_dir}:"]
        for component in self.components:
            state = "running" if component.running else f"exited with {component.process.returncode}"
            parts.append(f"  {component.name:<14} {state:<16} {component.log_path}")
        for path in sorted(self.log_dir.glob("*.log")):
            parts.append(f"\n----- last {lines} lines of {path} -----\n{_tail(path, lines)}")
        return "\n".join(parts)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
