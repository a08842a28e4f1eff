"""PostgreSQL's one-query reflection gives the tables SQLAlchemy's full reflection gives (or leaves the table to
it), and a compiled query's session setup creates only the functions the query calls, undone with its transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from ledger_databases import POSTGRES_URL, postgres_unavailable

from dynamics_campaign_sync.qualification.compiler.dialects import prepare_connection
from dynamics_campaign_sync.qualification.postgres_tables import (
    postgres_second_index_columns,
    reflect_postgres_table,
)
from dynamics_campaign_sync.qualification.sources import SourceError
from dynamics_campaign_sync.qualification.sql_source import SqlSource

pytestmark = pytest.mark.postgres

PLAIN = """CREATE TABLE plain (a text, b varchar, c varchar(20), d char(3), e integer, f bigint, g smallint,
    h real, i double precision, j numeric, k numeric(10, 2), l boolean, m date, n timestamp, o timestamptz,
    p timestamp(3), q timestamptz(2), r json, s jsonb, u uuid, v text NOT NULL, PRIMARY KEY (e, v))"""
OTHERS = ["CREATE TYPE mood AS ENUM ('a', 'b')", "CREATE TABLE enumerated (x mood)",
          "CREATE TABLE arrays (x text[])", 'CREATE TABLE collated (x text COLLATE "C")',
          "CREATE DOMAIN positive AS integer CHECK (VALUE > 0)", "CREATE TABLE domained (x positive)"]


@pytest.fixture(scope="module")
def engine() -> Iterator[sa.Engine]:
    """An engine whose search path is a schema of its own, holding the tables above."""
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"reflect_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = sa.create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    with engine.begin() as connection:
        for statement in [PLAIN, *OTHERS]:
            connection.exec_driver_sql(statement)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _described(table: sa.Table) -> list[tuple[str, str, bool, bool]]:
    return [(column.name, repr(column.type), column.primary_key, column.nullable) for column in table.columns]


def test_plain_columns_are_typed_as_full_reflection_types_them(engine):
    full = sa.Table("plain", sa.MetaData(), autoload_with=engine)
    fast = reflect_postgres_table(engine, "plain", None)
    assert fast is not None
    assert _described(fast) == _described(full)
    assert {column.name for column in fast.primary_key.columns} == {"e", "v"}
    with engine.connect() as connection:
        schema = connection.exec_driver_sql("SELECT current_schema()").scalar()
    assert _described(reflect_postgres_table(engine, "plain", schema)) == _described(full)


@pytest.mark.parametrize("name", ["enumerated", "arrays", "collated", "domained", "missing"])
def test_other_columns_and_missing_tables_are_left_to_full_reflection(engine, name):
    assert reflect_postgres_table(engine, name, None) is None


def test_the_source_reflects_other_columns_the_full_way_and_names_a_missing_table(engine):
    people, activities = SqlSource(engine, people_table="enumerated", activities_table="domained").tables
    assert repr(people.c.x.type).startswith("ENUM") and repr(activities.c.x.type).startswith("DOMAIN")
    with pytest.raises(SourceError, match="'missing' not found"):
        _ = SqlSource(engine, people_table="missing").tables


def _functions(connection: sa.Connection) -> list[bool]:
    found = connection.exec_driver_sql("SELECT to_regprocedure('pg_temp.campaign_sync_jsonb(text)') IS NOT NULL, "
                                       "to_regprocedure('pg_temp.campaign_sync_instant(text)') IS NOT NULL")
    return list(found.one())


def test_the_session_gets_only_the_functions_the_query_calls_for_its_transaction(engine):
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        jit = connection.exec_driver_sql("SHOW jit").scalar()
        prepare_connection(driver, "postgresql", "SELECT person_id FROM people")
        assert _functions(connection) == [False, False]
        assert connection.exec_driver_sql("SHOW TIME ZONE").scalar() == "UTC"
        assert connection.exec_driver_sql("SHOW jit").scalar() == "off"  # see prepare_connection
        prepare_connection(driver, "postgresql", "SELECT pg_temp.campaign_sync_instant(x) FROM t")
        assert _functions(connection) == [False, True]
        prepare_connection(driver, "postgresql", "SELECT pg_temp.campaign_sync_jsonb(x) FROM t")
        assert _functions(connection) == [True, True]
        connection.rollback()
        assert _functions(connection) == [False, False]
        assert connection.exec_driver_sql("SHOW jit").scalar() == jit  # nothing outlives the transaction


@pytest.mark.parametrize(("work_mem", "multiplier"), [("4MB", "8"), ("64kB", "512"), ("1MB", "32"), ("64MB", "2")])
def test_each_hash_table_may_take_32_mb_for_the_transaction_unless_the_server_gives_more(engine, work_mem, multiplier):
    with engine.connect() as connection:
        before = connection.exec_driver_sql("SHOW hash_mem_multiplier").scalar()
        connection.exec_driver_sql(f"SET hash_mem_multiplier = 2; SET work_mem = '{work_mem}'")
        prepare_connection(connection.connection.driver_connection, "postgresql", "SELECT 1")
        assert connection.exec_driver_sql("SHOW hash_mem_multiplier").scalar() == multiplier
        assert connection.exec_driver_sql("SHOW work_mem").scalar() == work_mem  # sorts keep theirs
        connection.rollback()
        assert connection.exec_driver_sql("SHOW hash_mem_multiplier").scalar() == before


def test_the_columns_after_the_type_in_an_index_are_those_sqlalchemy_finds_but_a_collated_one(engine):
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE indexed (kind text, a text, b text, c text COLLATE \"C\", d text)")
        for columns in ("kind, a, d", "kind, b", "kind, c", "a, kind", "kind"):
            connection.exec_driver_sql(f"CREATE INDEX ON indexed ({columns})")
        connection.exec_driver_sql("CREATE INDEX ON indexed USING hash (d)")
    indexes = sa.inspect(engine).get_indexes("indexed")
    found = {index["column_names"][1] for index in indexes
             if len(index["column_names"]) > 1 and index["column_names"][0] == "kind"}
    assert found == {"a", "b", "c"}
    assert postgres_second_index_columns(engine, "indexed", None, "kind") == {"a", "b"}  # c: a collation of its own
