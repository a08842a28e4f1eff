"""Reading a DuckDB table's columns and primary key from DuckDB's catalog functions.

SQLAlchemy's reflection through duckdb_engine asks PostgreSQL catalog tables DuckDB does not have
(``pg_collation``), so the SQL source reflects DuckDB tables itself: column names, their types mapped
to SQLAlchemy's, and the primary key (which tells a snapshot from a history table).
"""

from __future__ import annotations

import sqlalchemy as sa

_TYPES: dict[str, type[sa.types.TypeEngine]] = {
    "VARCHAR": sa.Text, "BIGINT": sa.BigInteger, "INTEGER": sa.Integer, "SMALLINT": sa.SmallInteger,
    "TINYINT": sa.SmallInteger, "HUGEINT": sa.BigInteger, "UBIGINT": sa.BigInteger, "UINTEGER": sa.BigInteger,
    "DOUBLE": sa.Float, "FLOAT": sa.Float, "BOOLEAN": sa.Boolean, "DATE": sa.Date, "JSON": sa.Text,
}


def _type(name: str) -> sa.types.TypeEngine:
    upper = name.upper()
    if upper.startswith("DECIMAL"):
        return sa.Numeric()
    if upper.startswith("TIMESTAMP"):
        return sa.DateTime(timezone="TIME ZONE" in upper)
    return _TYPES.get(upper, sa.Text)()


def reflect_duckdb_table(engine: sa.Engine, name: str, schema: str | None) -> sa.Table | None:
    """The table ``name`` (None when there is none)."""
    where = "table_name = :name AND schema_name = coalesce(:schema, current_schema())"
    with engine.connect() as connection:  # the catalog functions answer in a millisecond, information_schema not
        columns = connection.execute(sa.text(
            f"SELECT column_name, data_type FROM duckdb_columns() WHERE {where} ORDER BY column_index"
        ), {"name": name, "schema": schema}).all()
        keys = connection.execute(sa.text(
            f"SELECT constraint_column_names FROM duckdb_constraints() WHERE {where} "
            "AND constraint_type = 'PRIMARY KEY'"
        ), {"name": name, "schema": schema}).all()
    if not columns:
        return None
    primary = set(keys[0][0]) if keys else set()
    return sa.Table(name, sa.MetaData(), *(sa.Column(column, _type(kind), primary_key=column in primary)
                                           for column, kind in columns), schema=schema)
