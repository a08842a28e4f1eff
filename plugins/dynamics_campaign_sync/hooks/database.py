"""Hooks for our two SQL databases: the membership ledger and the qualification source.

Both take an Airflow connection and hand out a SQLAlchemy URL. A connection may give the URL whole
(extra ``url``, or ``sqlite`` connections whose host is the file path) or in parts (postgres).
When the connection does not exist, the local default — a SQLite file in the data folder — is used,
which is what ``make run`` and the tests rely on.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

if TYPE_CHECKING:
    from dynamics_campaign_sync.ledger import Ledger

#: Where local state lives when nothing else is configured (``make run`` sets it to ``.data``).
DATA_DIR_ENV = "CAMPAIGN_SYNC_DATA_DIR"


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or Path.cwd() / ".data").resolve()


def url_from_connection(conn: Any) -> str:
    """SQLAlchemy URL of an Airflow connection (``extra.url`` wins; else built from its parts)."""
    from sqlalchemy.engine import URL  # here, not at import: operators importing this hook parse light

    extra = conn.extra_dejson or {}
    if extra.get("url"):
        return str(extra["url"])
    conn_type = (conn.conn_type or "").lower()
    if conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    if conn_type == "duckdb":
        from dynamics_campaign_sync.qualification.contract import duckdb_url

        return duckdb_url(conn.host)
    if conn_type in {"postgres", "postgresql"}:
        return URL.create(
            "postgresql", username=conn.login or None, password=conn.password or None,
            host=conn.host or None, port=conn.port or None, database=conn.schema or None,
        ).render_as_string(hide_password=False)
    raise ValueError(
        f"connection {conn.conn_id!r} (type {conn_type!r}) gives no database: set extra "
        "'url' to a SQLAlchemy URL, or use a duckdb, sqlite or postgres connection"
    )


class SqlDatabaseHook(BaseHook):
    """Resolves a connection id to a SQLAlchemy URL, falling back to a SQLite file in the data folder."""

    default_file: str = "database.db"

    def __init__(self, conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    @cached_property
    def url(self) -> str:
        try:
            conn = self.get_connection(self.conn_id)
        except AirflowNotFoundException:
            path = data_dir() / self.default_file
            path.parent.mkdir(parents=True, exist_ok=True)
            self.log.info("No connection %r: using the local file %s", self.conn_id, path)
            if path.suffix == ".db":
                return f"sqlite:///{path}"
            from dynamics_campaign_sync.qualification.contract import source_file_url

            return source_file_url(path)
        return url_from_connection(conn)


class LedgerHook(SqlDatabaseHook):
    """The membership ledger (connection ``campaign_sync_ledger``), migrated on first use."""

    default_conn_name = "campaign_sync_ledger"
    default_file = "ledger.db"

    def __init__(self, conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id, **kwargs)

    @cached_property
    def ledger(self) -> Ledger:
        from dynamics_campaign_sync.ledger import Ledger

        ledger = Ledger.from_url(self.url)
        ledger.migrate()
        return ledger


class SourceHook(SqlDatabaseHook):
    """The qualification source: people and activities (connection ``campaign_sync_source``)."""

    default_conn_name = "campaign_sync_source"
    default_file = "source.duckdb"

    def __init__(self, conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id, **kwargs)
