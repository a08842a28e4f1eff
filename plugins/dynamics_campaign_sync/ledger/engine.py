"""Engines the ledger can trust with concurrent Airflow tasks.

SQLite: every connection gets a busy timeout (wait for a lock instead of failing with "database is locked"),
WAL journaling (readers never block the writer) and enforced foreign keys. The ``sqlite3`` driver's own
transaction handling is switched off and SQLAlchemy emits ``BEGIN`` itself, as SQLAlchemy's SQLite documentation
recommends, so that a transaction really starts at its first statement. Write transactions start with
``BEGIN IMMEDIATE``: they take the write lock up front, so two writers queue on the busy timeout rather than
dead-locking when both try to upgrade a read lock.

PostgreSQL needs nothing here; writers serialise on advisory locks (see :mod:`.sql`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url

from dynamics_campaign_sync.ledger.errors import LedgerError

SUPPORTED_DIALECTS = frozenset({"sqlite", "postgresql"})

#: PostgreSQL drivers by preference; the name is both the DBAPI module and SQLAlchemy's driver name.
_POSTGRES_DRIVERS = ("psycopg", "psycopg2")

#: How long a SQLite connection waits for another task's write lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 60_000

#: Execution option that marks a connection as a writer (``BEGIN IMMEDIATE`` on SQLite).
WRITE_OPTION = "campaign_sync_ledger_write"


def create_ledger_engine(url: str, **engine_kwargs: Any) -> Engine:
    """Build an engine for ``url``; a SQLite file's folder is created when missing.

    A PostgreSQL URL without a driver (including Airflow's ``postgres://`` spelling) gets the installed one.
    """
    parsed = with_postgres_driver(make_url(url), installed=lambda module: find_spec(module) is not None)
    database = parsed.database
    if (
        parsed.get_backend_name() == "sqlite"
        and database
        and database != ":memory:"
        and not database.startswith("file:")
    ):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return configure_engine(create_engine(parsed, **engine_kwargs))


def with_postgres_driver(url: URL, *, installed: Callable[[str], bool]) -> URL:
    """``url`` with an explicit PostgreSQL driver when it names none.

    SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3, while Airflow images ship psycopg2, and
    Airflow's ``Connection.get_uri()`` writes ``postgres://``, which SQLAlchemy does not know at all. Prefer
    psycopg 3 when present, else psycopg2; other URLs pass unchanged.
    """
    backend, _, driver = url.drivername.partition("+")
    if backend not in {"postgres", "postgresql"}:
        return url
    if not driver:
        driver = next((name for name in _POSTGRES_DRIVERS if installed(name)), _POSTGRES_DRIVERS[0])
    return url.set(drivername=f"postgresql+{driver}")


def configure_engine(engine: Engine) -> Engine:
    """Check that the ledger supports ``engine``'s database and install the SQLite connection hooks (once).

    The hooks apply to connections opened from now on; hand the ledger an engine before using it elsewhere.
    """
    if engine.dialect.name not in SUPPORTED_DIALECTS:
        raise LedgerError(
            f"the ledger supports {sorted(SUPPORTED_DIALECTS)} databases, not {engine.dialect.name!r} "
            f"({engine.url.render_as_string(hide_password=True)})"
        )
    if engine.dialect.name == "sqlite":
        if not event.contains(engine, "connect", _on_sqlite_connect):
            event.listen(engine, "connect", _on_sqlite_connect)
        if not event.contains(engine, "begin", _on_sqlite_begin):
            event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def writer(engine: Engine) -> Engine:
    """A view of ``engine`` (same pool) whose transactions are write transactions."""
    return engine.execution_options(**{WRITE_OPTION: True})


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _on_sqlite_begin)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _enable_wal(cursor: Any) -> None:
    """Switch the database file to WAL (a persistent setting), waiting for other connections if need be.

    SQLite does not apply the busy timeout to this switch: while another connection of a fresh database is
    inside a transaction it fails at once with "database is locked". It only has to succeed once per file.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        mode = str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if mode in {"wal", "memory"}:
            return
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _on_sqlite_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
