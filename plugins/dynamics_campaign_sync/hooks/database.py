"""Hooks for our two SQL databases: the membership ledger and the qualification source.

Both take an Airflow connection and hand out a SQLAlchemy URL. A connection may give the URL whole
(extra ``url``, or ``sqlite`` connections whose host is the file path) or in parts (postgres, mysql).
When the connection does not exist, the local default — a SQLite file in the data folder — is used,
which is what ``make run`` and the tests rely on.

The source reads any database Airflow reaches through ``apache-airflow-providers-common-sql``: when the
connection's type has a hook that is a ``DbApiHook`` (Snowflake, BigQuery, Databricks, Redshift,
PostgreSQL, SQLite … with their providers installed), the engine is the hook's own
``get_sqlalchemy_engine()``, credentials and connect arguments included (:func:`source_engine`).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException, AirflowNotFoundException

if TYPE_CHECKING:
    import sqlalchemy as sa

    from dynamics_campaign_sync.ledger import Ledger

#: Connection types read with our own URL even when a provider hook exists: DuckDB has no DbApiHook here.
OWN_URL_TYPES = frozenset({"duckdb"})

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
    drivers = {"postgres": "postgresql", "postgresql": "postgresql", "mysql": "mysql+pymysql",
               "mariadb": "mysql+pymysql"}
    if conn_type in drivers:
        return URL.create(
            drivers[conn_type], username=conn.login or None, password=conn.password or None,
            host=conn.host or None, port=conn.port or None, database=conn.schema or None,
        ).render_as_string(hide_password=False)
    raise ValueError(
        f"connection {conn.conn_id!r} (type {conn_type!r}) gives no database: install the Airflow provider "
        "of its type (its hook must be a DbApiHook), set extra 'url' to a SQLAlchemy URL, or use a duckdb, "
        "sqlite, postgres or mysql connection"
    )


def _dbapi_hook(conn: Any) -> Any | None:
    """The connection's common-sql ``DbApiHook``; None when no installed provider has a hook for its type."""
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    try:
        hook = conn.get_hook()
    except (AirflowException, ImportError):  # "Unknown hook type", or a provider half installed
        return None
    if not isinstance(hook, DbApiHook):
        raise ValueError(f"connection {conn.conn_id!r} (type {conn.conn_type!r}) has a "
                         f"{type(hook).__name__}, not a SQL hook (DbApiHook): it cannot be a source")
    return hook


def source_engine(conn: Any) -> sa.Engine:
    """The SQLAlchemy engine of a source connection: ``extra.url`` or a DuckDB file as given; else the
    engine of the connection's ``DbApiHook`` (its provider's dialect, driver and credentials); else one
    built from the connection's parts (postgres, mysql / MariaDB through PyMySQL, sqlite).

    Errors name the connection and its type, never its URL: that may carry the password."""
    import sqlalchemy as sa

    extra = conn.extra_dejson or {}
    conn_type = (conn.conn_type or "").lower()
    hook = None if extra.get("url") or conn_type in OWN_URL_TYPES else _dbapi_hook(conn)
    try:
        if hook is not None:
            return hook.get_sqlalchemy_engine()
        return sa.create_engine(url_from_connection(conn))
    except (ImportError, sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as error:
        missing = f": {error}" if isinstance(error, ImportError | sa.exc.NoSuchModuleError) else ""
        raise ValueError(f"connection {conn.conn_id!r} (type {conn_type!r}) gives no SQLAlchemy engine "
                         f"({type(error).__name__}{missing})") from None


class SqlDatabaseHook(BaseHook):
    """Resolves a connection id to a SQLAlchemy URL, falling back to a SQLite file in the data folder."""

    default_file: str = "database.db"
    default_conn_name: str = ""  # each kind of database names its usual connection

    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id or self.default_conn_name

    @cached_property
    def connection(self) -> Any | None:
        """The Airflow connection, None when it does not exist (the local file is used)."""
        try:
            return self.get_connection(self.conn_id)
        except AirflowNotFoundException:
            return None

    @cached_property
    def url(self) -> str:
        conn = self.connection
        if conn is None:
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

    @cached_property
    def engine(self) -> sa.Engine:
        """The source's engine: the connection's (see :func:`source_engine`), else the local file's."""
        import sqlalchemy as sa

        conn = self.connection
        return sa.create_engine(self.url) if conn is None else source_engine(conn)
