"""Source databases of every dialect the compiler serves: SQLite and DuckDB always, PostgreSQL and MariaDB
when reachable (skipped with the reason otherwise). Each PostgreSQL engine works in a schema of its own."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from ledger_databases import POSTGRES_URL, postgres_unavailable
from qualification_helpers import write_sqlite

from dynamics_campaign_sync.qualification.contract import activities_table, people_table

MARIADB_URL = os.environ.get("SOURCE_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
DIALECTS = ["sqlite", "duckdb", pytest.param("postgresql", marks=pytest.mark.postgres), "mariadb"]


def mariadb_unavailable() -> str | None:
    try:
        import pymysql  # noqa: F401
    except ImportError:
        return "pymysql is not installed (the MariaDB driver)"
    return "MariaDB support is not tested yet"


def source_engine(dialect: str) -> Iterator[sa.Engine]:
    """An empty database of ``dialect`` (a generator: the caller's fixture yields from it)."""
    if dialect == "sqlite":
        yield sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
    elif dialect == "duckdb":
        yield sa.create_engine("duckdb:///:memory:", poolclass=sa.pool.StaticPool)
    elif dialect == "postgresql":
        reason = postgres_unavailable()
        if reason:
            pytest.skip(reason)
        schema = f"source_test_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine = sa.create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
        try:
            yield engine
        finally:
            engine.dispose()
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    else:
        pytest.skip(mariadb_unavailable() or "")


def _value(value: Any, dialect: str) -> Any:
    if value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, dt.datetime) and dialect == "duckdb":
        return value.astimezone(dt.UTC)
    return value


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
    if engine.dialect.name == "duckdb":  # columnar: no indexes (and no partial ones at all)
        for table in (people_rows, activity_rows):
            table.indexes.clear()
    metadata.create_all(engine)
    dialect = engine.dialect.name
    with engine.begin() as connection:
        for table, frame in ((people_rows, people), (activity_rows, activities)):
            records = [{k: _value(v, dialect) for k, v in row.items()} for row in frame.to_dict("records")]
            if records:
                connection.execute(table.insert(), records)
