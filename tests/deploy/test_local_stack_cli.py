"""`make run`'s helpers as a user meets them: `make airflow ARGS='...'` runs the Airflow CLI against the stack's
own Airflow home, and a busy port ends start-up with a sentence, not a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_metadata

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parents[1]


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``make <args>`` in the repository, with this interpreter's venv taken as installed already."""
    installed = str(VENV / ".installed")
    return subprocess.run(["make", "--no-print-directory", "-o", installed, f"VENV={VENV}", *args], cwd=REPO,
                          env=env or clean_env(), capture_output=True, text=True, timeout=300)


def clean_env() -> dict[str, str]:
    """The user's shell: none of the test session's Airflow settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CAMPAIGN_SYNC_"))}


def migrated_data_dir(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An Airflow home in ``data_dir`` migrated the way `make run` does it (same environment, WAL mode)."""
    from local_stack import airflow_environment

    for name in set(os.environ) - set(clean_env()):
        monkeypatch.delenv(name)
    env = airflow_environment(data_dir, ui_port=8080)
    sqlite_metadata.use_write_ahead_log(data_dir / "airflow" / "airflow.db")
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True,
                   timeout=300)


def test_make_airflow_runs_the_cli_against_the_stacks_own_airflow_home(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    migrated_data_dir(data_dir, monkeypatch)

    stored = make("airflow", f"DATA_DIR={data_dir}", "ARGS=dags reserialize")
    assert stored.returncode == 0, stored.stdout + stored.stderr
    listed = make("airflow", f"DATA_DIR={data_dir}", "ARGS=dags list --columns dag_id,dag_display_name")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    for name in ("campaign_sync__pricing_page_intent", "Pricing page intent", "campaign_member_follow_ups"):
        assert name in listed.stdout
    assert "Database migration required" not in listed.stdout + listed.stderr


def test_make_airflow_before_make_run_says_what_to_do(tmp_path):
    result = make("airflow", f"DATA_DIR={tmp_path / 'nothing'}", "ARGS=dags list")
    assert result.returncode != 0
    assert f"No Airflow set up in {tmp_path / 'nothing' / 'airflow'} yet: start it once with `make run`." \
        in result.stderr


def test_a_busy_port_is_named_with_its_holder_and_the_setting_that_moves_it(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = make("run", f"DATA_DIR={tmp_path}", f"AIRFLOW_PORT={port}")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert (f"Port {port} (airflow) is already in use by {Path(sys.executable).name} (pid {os.getpid()}). "
            f"Stop that process, or choose another port: make run AIRFLOW_PORT={port + 1}") in result.stderr


GLOB_RULE = """
import airflow.configuration
from pathlib import Path
from airflow._shared.module_loading.file_discovery import _GlobIgnoreRule
_GlobIgnoreRule.compile("*.pyc", Path("."), Path(".airflowignore"))
"""


def test_the_stack_environment_silences_pathspecs_deprecation_in_airflow_processes(tmp_path, monkeypatch):
    from local_stack import airflow_environment

    monkeypatch.delenv("PYTHONWARNINGS", raising=False)
    noisy = subprocess.run([sys.executable, "-c", GLOB_RULE], env=clean_env(), capture_output=True, text=True)
    assert "GitWildMatchPattern" in noisy.stdout + noisy.stderr  # what every task log showed
    quiet = subprocess.run([sys.executable, "-c", GLOB_RULE], env=airflow_environment(tmp_path, ui_port=8080),
                           capture_output=True, text=True)
    assert quiet.returncode == 0 and "GitWildMatchPattern" not in quiet.stdout + quiet.stderr, quiet.stdout
