"""Source databases of every dialect the compiler serves: SQLite and DuckDB always, PostgreSQL and MariaDB
when reachable (skipped with the reason otherwise). Each PostgreSQL engine works in a schema of its own, each
MariaDB engine in a database of its own.

PostgreSQL and MariaDB are reached as a spec reaches its source: through an Airflow connection (a URI in an
``AIRFLOW_CONN_…`` variable) resolved by :class:`SourceHook` — the ``postgres`` one by the provider's
common-sql hook, the ``mysql`` one by its parts (PyMySQL)."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from ledger_databases import POSTGRES_URL, postgres_unavailable
from qualification_helpers import write_sqlite
from source_tables import fit_tables, fit_value

from dynamics_campaign_sync.qualification.contract import activities_table, people_table

MARIADB_URL = os.environ.get("SOURCE_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
DIALECTS = ["sqlite", "duckdb", pytest.param("postgresql", marks=pytest.mark.postgres), "mariadb"]


def mariadb_unavailable() -> str | None:
    try:
        import pymysql  # noqa: F401
    except ImportError:
        return "pymysql is not installed (the MariaDB driver)"
    engine = sa.create_engine(MARIADB_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        where = sa.make_url(MARIADB_URL).render_as_string(hide_password=True)
        return f"MariaDB not reachable at {where} ({type(error).__name__})"
    finally:
        engine.dispose()
    return None


def connection_uri(url: sa.URL, conn_type: str, **extra: Any) -> str:
    """The ``AIRFLOW_CONN_…`` value of a ``conn_type`` connection with ``url``'s parts."""
    from airflow.sdk import Connection

    return Connection(conn_id="source", conn_type=conn_type, host=url.host, port=url.port, login=url.username,
                      password=url.password, schema=url.database,
                      extra=json.dumps(extra) if extra else None).get_uri()


@contextmanager
def airflow_connection(url: sa.URL, conn_type: str, **extra: Any) -> Iterator[str]:
    """A connection id whose ``AIRFLOW_CONN_…`` variable holds ``url``'s parts as a ``conn_type`` connection."""
    conn_id = f"source_test_{uuid.uuid4().hex[:12]}"
    uri = connection_uri(url, conn_type, **extra)
    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    os.environ[variable] = uri
    try:
        yield conn_id
    finally:
        del os.environ[variable]


def through_connection(url: sa.URL, conn_type: str, **extra: Any) -> Iterator[sa.Engine]:
    """The engine :class:`SourceHook` resolves for a ``conn_type`` connection to ``url``."""
    from dynamics_campaign_sync.hooks.database import SourceHook

    with airflow_connection(url, conn_type, **extra) as conn_id:
        engine = SourceHook(conn_id).engine
        try:
            yield engine
        finally:
            engine.dispose()


def _scratch(admin_url: str, create: str, drop: str, conn_type: str, url: sa.URL, **extra: Any
             ) -> Iterator[sa.Engine]:
    """``create`` a scratch schema or database, yield the engine of a connection to ``url``, ``drop`` it."""
    admin = sa.create_engine(admin_url)
    with admin.begin() as connection:
        connection.execute(sa.text(create))
    try:
        yield from through_connection(url, conn_type, **extra)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(drop))
        admin.dispose()


def source_engine(dialect: str) -> Iterator[sa.Engine]:
    """An empty database of ``dialect`` (a generator: the caller's fixture yields from it)."""
    name = f"source_test_{uuid.uuid4().hex[:12]}"
    if dialect == "sqlite":
        yield sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
    elif dialect == "duckdb":
        yield sa.create_engine("duckdb:///:memory:", poolclass=sa.pool.StaticPool)
    elif dialect == "postgresql":
        reason = postgres_unavailable()
        if reason:
            pytest.skip(reason)
        yield from _scratch(POSTGRES_URL, f'CREATE SCHEMA "{name}"', f'DROP SCHEMA "{name}" CASCADE', "postgres",
                            sa.make_url(POSTGRES_URL), sqlalchemy_query={"options": f"-csearch_path={name}"})
    else:
        reason = mariadb_unavailable()
        if reason:
            pytest.skip(reason)
        yield from _scratch(MARIADB_URL, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4", f"DROP DATABASE `{name}`",
                            "mysql", sa.make_url(MARIADB_URL).set(database=name))


def _value(value: Any, dialect: str) -> Any:
    if value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, dt.datetime) and dialect == "duckdb":
        return value.astimezone(dt.UTC)
    return fit_value(value, dialect)


def write_source(engine: sa.Engine, people: pd.DataFrame, activities: pd.DataFrame) -> None:
    """The contract tables (plus a text ``renewal_date``) replaced by the frames' rows."""
    with engine.begin() as connection:
        for name in ("activities", "people"):
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
    if engine.dialect.name == "sqlite":  # timestamps as the contract's text
        write_sqlite(engine, people, activities)
        return
    metadata = sa.MetaData()
    people_rows = people_table(metadata)
    people_rows.append_column(sa.Column("renewal_date", sa.Text))
    activity_rows = activities_table(metadata)
    dialect = engine.dialect.name
    if dialect == "duckdb":  # columnar: no indexes (and no partial ones at all)
        for table in (people_rows, activity_rows):
            table.indexes.clear()
    fit_tables(metadata, dialect)
    metadata.create_all(engine)
    with engine.begin() as connection:
        for table, frame in ((people_rows, people), (activity_rows, activities)):
            records = [{k: _value(v, dialect) for k, v in row.items()} for row in frame.to_dict("records")]
            if records:
                connection.execute(table.insert(), records)
