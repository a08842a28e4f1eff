"""PostgreSQL tables reflected with one catalog query instead of SQLAlchemy's ~8 per table.

SQLAlchemy's reflection asks for columns, constraints, indexes, comments, enums and domains in separate
queries (~35 ms per table here, a fixed cost of every evaluation). The compiler needs only the column
names, their types and the primary key (which tells a snapshot from a history table): one query gives
them. Columns of the plain types are mapped to the types SQLAlchemy's reflection gives; a table with any
other column (an enum, a domain, an array, a column collation of its own) returns None, and the caller
reflects it the full way, so the compiler sees the same table either way.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

_COLUMNS = sa.text("""SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       coalesce(a.attnum = ANY(i.indkey), false), t.typtype = 'b' AND a.attcollation = t.typcollation
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary
 WHERE c.relname = :name AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
   AND (n.nspname = :schema OR (CAST(:schema AS text) IS NULL AND pg_catalog.pg_table_is_visible(c.oid)))
 ORDER BY a.attnum""")

_PLAIN: dict[str, type[sa.types.TypeEngine]] = {
    "text": postgresql.TEXT, "integer": postgresql.INTEGER, "bigint": postgresql.BIGINT,
    "smallint": postgresql.SMALLINT, "real": postgresql.REAL, "boolean": postgresql.BOOLEAN,
    "date": postgresql.DATE, "json": postgresql.JSON, "jsonb": postgresql.JSONB, "uuid": postgresql.UUID,
}
_SIZED: dict[str, type[sa.types.TypeEngine]] = {
    "character varying": postgresql.VARCHAR, "character": postgresql.CHAR,
}
_FORMAT = re.compile(r"^(?P<base>[a-z ]+?)(?:\((?P<args>[0-9, ]+)\))?(?P<zone> with(?:out)? time zone)?$")


def _type(format_type: str) -> sa.types.TypeEngine | None:
    """The type SQLAlchemy's reflection gives for ``format_type()``'s text (None: not a plain type)."""
    found = _FORMAT.match(format_type)
    if found is None:
        return None
    base, zone = found["base"], found["zone"]
    args = [int(arg) for arg in found["args"].split(",")] if found["args"] else []
    if base == "timestamp" and zone:
        precision = {"precision": args[0]} if args else {}
        return postgresql.TIMESTAMP(timezone=zone == " with time zone", **precision)
    if zone:
        return None
    if base in _PLAIN and not args:
        return _PLAIN[base]()
    if base in _SIZED and len(args) <= 1:
        return _SIZED[base](*args)
    if base == "numeric" and not args:
        return postgresql.NUMERIC()
    if base == "numeric" and len(args) == 2:
        return postgresql.NUMERIC(args[0], args[1])
    if base == "double precision" and not args:
        return postgresql.DOUBLE_PRECISION(53)
    return None


def reflect_postgres_table(engine: sa.Engine, name: str, schema: str | None) -> sa.Table | None:
    """The table ``name`` (None when there is none or it has a column this does not map)."""
    with engine.connect() as connection:
        rows = connection.execute(_COLUMNS, {"name": name, "schema": schema}).all()
    columns = []
    for column, format_type, not_null, primary, plain in rows:
        kind = _type(format_type) if plain else None
        if kind is None:
            return None
        columns.append(sa.Column(column, kind, primary_key=bool(primary), nullable=not not_null))
    if not columns:
        return None
    return sa.Table(name, sa.MetaData(), *columns, schema=schema)


_SECOND_INDEX_COLUMNS = sa.text("""SELECT second.attname
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_catalog.pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
  JOIN pg_catalog.pg_attribute first ON first.attrelid = c.oid AND first.attnum = i.indkey[0]
  JOIN pg_catalog.pg_attribute second ON second.attrelid = c.oid AND second.attnum = i.indkey[1]
  JOIN pg_catalog.pg_type t ON t.oid = second.atttypid
 WHERE c.relname = :name AND first.attname = :leading AND second.attcollation = t.typcollation
   AND (n.nspname = :schema OR (CAST(:schema AS text) IS NULL AND pg_catalog.pg_table_is_visible(c.oid)))""")


def postgres_second_index_columns(engine: sa.Engine, name: str, schema: str | None, leading: str) -> frozenset[str]:
    """The columns that follow ``leading`` at the head of a b-tree index of the table ``name``: one catalog
    query, where SQLAlchemy's ``get_indexes`` takes several (18 ms, a fixed cost of every evaluation). Not a
    column with a collation of its own: a nondeterministic one holds texts equal that differ, so the distinct
    values its index lists would stand for others (see ``value_lists``)."""
    with engine.connect() as connection:
        return frozenset(connection.execute(_SECOND_INDEX_COLUMNS,
                                            {"name": name, "schema": schema, "leading": leading}).scalars())
