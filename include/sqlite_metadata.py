"""One SQLite metadata database shared by several Airflow processes (``make run``, local test stacks).

With Airflow's SQLite defaults — rollback journal, SQLite's 5 s busy timeout — the scheduler,
dag-processor, api-server and a CLI command such as ``airflow backfill create`` block one another: a
reader holds writers off, and a writer that waits longer than 5 s on a busy machine fails with "database
is locked". The write-ahead log lets readers and a writer work side by side, and a longer busy timeout
makes writers queue rather than fail. Production uses PostgreSQL (docker-compose.yaml), where none of
this applies.

Airflow components import :data:`CONNECT_ARGS` by name (``[database] sql_alchemy_connect_args``), so
this module must be importable from their ``PYTHONPATH`` (``include/`` is on it).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

#: Seconds a connection waits for another writer to finish before "database is locked".
BUSY_TIMEOUT_SECONDS = 60
CONNECT_ARGS = {"timeout": BUSY_TIMEOUT_SECONDS}


def airflow_environment(db_path: Path) -> dict[str, str]:
    """Environment variables that point Airflow at ``db_path`` with the longer busy timeout."""
    return {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db_path}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": "sqlite_metadata.CONNECT_ARGS",
    }


def use_write_ahead_log(db_path: Path) -> None:
    """Switch the database file (created if missing) to WAL; the mode is stored in the file and persists."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_SECONDS)) as db:
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode.lower() != "wal":
        raise RuntimeError(f"{db_path}: SQLite kept journal mode {mode!r}; the write-ahead log is needed "
                           "for several Airflow processes (is the file on a network file system?)")
