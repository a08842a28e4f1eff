"""Session set-up shared by every test: a throwaway Airflow home with a migrated metadata DB.

Airflow reads its configuration when first imported, so the environment is set here, at import
time of the root conftest, before any test module imports Airflow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from project_env import airflow_settings

#: Suite-wide fixtures: ``ledger_url`` / ``ledger_factory`` on SQLite and PostgreSQL.
pytest_plugins = ["ledger_databases"]

REPO = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="campaign-sync-airflow-"))

os.environ.update(
    {
        **airflow_settings(_AIRFLOW_HOME),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }
)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the throwaway metadata DB once per session (``dag.test()`` needs it)."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True, capture_output=True, env=os.environ.copy(), timeout=300,
    )
    return _AIRFLOW_HOME


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """One local Dataverse emulator (HTTPS, real OAuth) for the whole session, seeded with the demo data."""
    from dataverse_emulator.testing import start_emulator

    with start_emulator(tmp_path_factory.mktemp("emulator")) as running:
        yield running


@pytest.fixture
def fresh_emulator(emulator):
    """The session emulator reset to its demo seed, default limits and no faults, with an empty request log."""
    emulator.reset_config()
    emulator.reset("default")
    yield emulator
    emulator.reset_config()

