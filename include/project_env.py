"""The environment of this project's child processes: Airflow's settings for our DAGs and plugins, and the paths
that let a child find Airflow, our package and ``include/``. One place for ``make run``, ``make airflow``, the
benchmarks and the tests' Airflow processes; each adds what is its own (metadata DB, ports, executor, connections).

Our package is reached one way: installed (``pip install -e .``, as ``make install`` and the Docker image do), so
every process of the environment imports ``dynamics_campaign_sync`` from ``plugins/``. ``include/`` (the emulator,
sample data, these helpers) is not installed: children get it on ``PYTHONPATH``, ahead of the caller's own
``PYTHONPATH``, which is kept (a developer may point the same environment at another checkout with it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]


def python_path(*extra: Path, base: Mapping[str, str] | None = None) -> str:
    """``include/`` and ``extra`` folders, then the ``PYTHONPATH`` of ``base`` (this process's environment)."""
    inherited = (os.environ if base is None else base).get("PYTHONPATH")
    return os.pathsep.join([str(REPO / "include"), *map(str, extra), *filter(None, [inherited])])


def airflow_settings(home: Path) -> dict[str, str]:
    """An Airflow home with this repository's DAGs and plugins, and no example DAGs."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }


def airflow_process_environment(home: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (this process's environment) with :func:`airflow_settings`, :func:`python_path` and this Python's
    ``bin`` first on ``PATH``: ``airflow standalone`` starts its components as ``airflow ...`` found there."""
    base = os.environ if base is None else base
    return {
        **base,
        **airflow_settings(home),
        "PYTHONPATH": python_path(base=base),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), base.get("PATH", "")]),
    }


def api_health_problem(base: str, process: subprocess.Popen, timeout: float, poll: float = 2) -> str | None:
    """Wait until the Airflow API at ``base`` answers its health check: None then, else why not (the process
    that serves it exited, or ``timeout`` seconds passed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited with code {process.returncode}"
        try:
            if requests.get(f"{base}/api/v2/monitor/health", timeout=5).ok:
                return None
        except requests.RequestException:
            pass
        time.sleep(poll)
    return f"did not answer on {base} within {timeout:.0f}s"
