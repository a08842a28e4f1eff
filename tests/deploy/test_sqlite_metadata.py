"""The SQLite metadata set-up of ``make run`` and the scheduler tests: several Airflow processes share one file.

What matters is that Airflow itself picks the settings up — a writer waits for another writer longer than
SQLite's 5 s default instead of failing with "database is locked" — so that is checked through a real
Airflow process holding Airflow's own engine.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import sqlite_metadata

REPO = Path(__file__).resolve().parents[2]
#: Longer than SQLite's default busy timeout (5 s), well inside ours.
LOCK_HELD_SECONDS = 7

WRITER = """
import time
from sqlalchemy import text
from airflow import settings
print("ready", flush=True)
started = time.monotonic()
with settings.engine.begin() as connection:
    connection.execute(text("INSERT INTO probe VALUES (1)"))
print(f"waited {time.monotonic() - started:.1f}", flush=True)
"""


def test_write_ahead_log_is_stored_in_the_database_file(tmp_path: Path) -> None:
    db_path = tmp_path / "nested" / "airflow.db"
    sqlite_metadata.use_write_ahead_log(db_path)
    with closing(sqlite3.connect(db_path)) as fresh:
        assert fresh.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_airflow_writer_waits_for_another_writer_instead_of_failing(tmp_path: Path) -> None:
    db_path = tmp_path / "airflow.db"
    sqlite_metadata.use_write_ahead_log(db_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(tmp_path), PYTHONPATH=str(REPO / "include"),
               **sqlite_metadata.airflow_environment(db_path))
    with closing(sqlite3.connect(db_path, isolation_level=None)) as holder:
        holder.execute("CREATE TABLE probe (x INTEGER)")
        holder.execute("BEGIN IMMEDIATE")  # the write lock, as a scheduler's long transaction holds it
        writer = subprocess.Popen([sys.executable, "-c", WRITER], env=env, cwd=tmp_path, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
            time.sleep(LOCK_HELD_SECONDS)
            assert writer.poll() is None, f"the writer gave up while the lock was held:\n{writer.stderr.read()}"
        finally:
            holder.execute("COMMIT")
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert float(out.split()[-1]) >= LOCK_HELD_SECONDS - 1
    with closing(sqlite3.connect(db_path)) as check:
        assert check.execute("SELECT count(*) FROM probe").fetchone()[0] == 1
