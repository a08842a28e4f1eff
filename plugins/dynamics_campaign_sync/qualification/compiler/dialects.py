"""What each database can do, and the few expressions whose spelling differs between them.

The compiler writes one query per spec in SQLAlchemy Core; this layer supplies the dialect-specific
pieces so that every dialect gives the evaluator's exact answer:

* reading a value as a number, as an instant or as lower-case text, NULL where it is none of these
  (the pandas semantics of ``masks``: text that is no number is NULL, not 0);
* a key of the JSON ``attributes`` column (NULL when absent or when the document is not JSON);
* per-connection setup: UTC as the session time zone (text without an offset is UTC), and on SQLite
  the Python functions that fold Unicode case and parse numbers and ISO dates exactly as the evaluator.

MariaDB / MySQL compare text in the column's collation, by default case- and accent-insensitive and blind
to trailing spaces: there the values a condition compares are binary strings (``CAST(... AS BINARY)``)
after an explicit ``lower()`` in a Unicode collation, so ``'Café'`` neither equals ``'cafe'`` nor
``'café '``, as on the other dialects. Identity columns (``person_id``, ``member_type``,
``activity_type``) are compared as they are stored: the source should give them a binary collation.

A dialect lacking a feature a spec needs is named by :func:`missing_features` (``make lint-specs``
reports it when the source is reachable) instead of failing at run time.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnClause, ColumnElement
from sqlalchemy.sql.functions import Function

from dynamics_campaign_sync.qualification.pushdown import is_number_type
from dynamics_campaign_sync.spec.operators import to_utc

#: Dialects the compiler is tested on; others are tried as "generic" SQL without JSON support.
JSON_DIALECTS = frozenset({"sqlite", "duckdb", "postgresql", "mysql", "mariadb"})
#: MariaDB and MySQL (SQLAlchemy names a MariaDB server reached by a ``mysql`` URL "mysql").
MYSQL_FAMILY = frozenset({"mysql", "mariadb"})
#: Column stores: a scan reads only the columns a query names, and filters them a vector at a time.
COLUMNAR_DIALECTS = frozenset({"duckdb"})
#: Dialects where ``WITH x AS MATERIALIZED`` keeps a CTE referenced twice from being computed twice.
MATERIALIZING_DIALECTS = frozenset({"sqlite", "duckdb", "postgresql"})
#: Dialects where ``OFFSET 0`` keeps a subquery in ``FROM`` from being merged into the query around it, without
#: storing its rows (MariaDB / MySQL would write them to a temporary table): its columns are computed once per row.
FENCING_DIALECTS = frozenset({"sqlite", "postgresql"})

_NUMBER_TEXT = r"^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
_ISO_TEXT = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?"
             r"(Z|[-+][0-9]{2}(:?[0-9]{2})?)?$")
#: The same text in parts for MariaDB, which has no time-zone-aware cast: local date and time (\1, \2),
#: and the offset's sign, hours and minutes (\4 \5 \6, empty for ``Z`` or none).
_ISO_PARTS = (r"^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ]((?:[01][0-9]|2[0-3]):[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?))?"
              r"(Z|([-+])([0-9]{2}):?([0-9]{2})?)?$")


#: JSON text to jsonb, NULL where it is no JSON (PostgreSQL 15 has no pg_input_is_valid).
_PG_JSONB = """CREATE OR REPLACE FUNCTION pg_temp.campaign_sync_jsonb(document text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN document::jsonb; EXCEPTION WHEN others THEN RETURN NULL; END $$"""
#: ISO-looking text to timestamptz, NULL where it names no instant (month 13, February 30): as Python reads it.
_PG_INSTANT = """CREATE OR REPLACE FUNCTION pg_temp.campaign_sync_instant(moment text) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN moment::timestamptz; EXCEPTION WHEN others THEN RETURN NULL; END $$"""
#: The functions by name, so a query gets only those it calls (each is compiled by PostgreSQL when created).
_PG_FUNCTIONS = {"campaign_sync_jsonb": _PG_JSONB, "campaign_sync_instant": _PG_INSTANT}
#: What PostgreSQL raises where an unguarded cast meets text that is no JSON or no instant (SQLSTATEs: invalid
#: text representation, invalid datetime format, datetime field overflow).
CAST_FAILURES = frozenset({"22P02", "22007", "22008"})


def _python_number(value: Any) -> float | None:
    """A text as the evaluator reads a number (``pd.to_numeric``): NULL where it is none."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _python_epoch_us(value: Any) -> int | None:
    """An ISO date or datetime text as microseconds since the epoch, UTC (naive text is UTC)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = to_utc(moment)
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def _python_lower(value: Any) -> str | None:
    return None if value is None else str(value).lower()


def epoch_us(moment: dt.datetime) -> int:
    return (to_utc(moment) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


#: The memory each hash table of a compiled query may take on PostgreSQL at least, in kB (a join of the people a
#: behaviour filter matches, a grouping by person). Under the defaults (``work_mem`` 4 MB × ``hash_mem_multiplier``
#: 2) the count table of 175,912 people of ``issue_broad`` was joined in two batches, every person's row written
#: to disk and read back, where a hand-written ``IN`` builds its hashed subplan in memory whatever its size.
HASH_MEMORY_KB = 32 * 1024
#: Raises ``hash_mem_multiplier`` for the transaction so that ``work_mem`` × it is at least ``HASH_MEMORY_KB``
#: (never lowers what the server gives; 1000 is PostgreSQL's largest multiplier). Sorts keep ``work_mem``.
PG_HASH_MEMORY = ("SELECT set_config('hash_mem_multiplier', greatest(current_setting('hash_mem_multiplier')::float8, "
                  f"least({HASH_MEMORY_KB} / setting::float8, 1000))::text, true) FROM pg_settings "
                  "WHERE name = 'work_mem'")
#: What a compiled query's transaction on PostgreSQL starts with (besides the functions it calls). No JIT: compiling
#: a query of this many expressions took longer than it saved (``random_08``: 4.38 s with, 3.48 s without; the
#: hand-written query 2.25 s with, 2.32 s without).
PG_SESSION_SETTINGS = ("SET TIME ZONE 'UTC'", "SET jit = off", PG_HASH_MEMORY)


def prepare_connection(dbapi_connection: Any, dialect: str, sql: str = "") -> None:
    """Set up a DBAPI connection for the compiled query ``sql`` (idempotent, so it runs before every query:
    pooled connections may predate the compiler).

    On PostgreSQL the settings and the functions ``sql`` calls are made in one round trip, inside the query's
    transaction: the pool's rollback on return undoes them, so nothing outlives the query (and a transaction
    pooler such as PgBouncer, which may give the next transaction another session, sees the same state)."""
    if dialect in MYSQL_FAMILY:  # TIMESTAMP columns read as UTC; DATETIME columns hold UTC by the contract
        cursor = dbapi_connection.cursor()
        cursor.execute("SET time_zone = '+00:00'")
        cursor.close()
    elif dialect == "sqlite":
        for function, arity, body in (("cs_lower", 1, _python_lower), ("cs_number", 1, _python_number),
                                      ("cs_epoch_us", 1, _python_epoch_us)):
            dbapi_connection.create_function(function, arity, body, deterministic=True)
    elif dialect in ("duckdb", "postgresql"):
        cursor = dbapi_connection.cursor()
        if dialect == "duckdb":
            cursor.execute("SET TimeZone = 'UTC'")
        else:  # session-private functions, only those the query calls: nothing is created in the source
            functions = [body for name, body in _PG_FUNCTIONS.items() if f"pg_temp.{name}(" in sql]
            cursor.execute(";\n".join([*PG_SESSION_SETTINGS, *functions]))
        cursor.close()


def _postgres_lower(text: ColumnElement[Any]) -> ColumnElement[Any]:
    """``lower(text)``, through the "C" collation where the text is ASCII (as many bytes as characters in UTF-8):
    there ``lower()`` folds A–Z byte by byte, where the server's locale (``en_US.UTF-8``, ``C.UTF-8``) converts each
    text to wide characters and back, whatever its letters (1,000,000 job titles against two patterns: 1.1–1.3 s,
    through the ASCII path 0.5–0.65 s). Both fold ASCII letters alike; any other text is folded as before."""
    ascii_only = sa.func.octet_length(text) == sa.func.length(text)
    return sa.case((ascii_only, sa.func.lower(sa.collate(text, "C"), type_=sa.Text)),
                   else_=sa.func.lower(text, type_=sa.Text))


def _temporal_type(column: ColumnElement[Any]) -> bool:
    return isinstance(column.type, sa.DateTime | sa.Date)


def _cast_as(value: ColumnElement[Any], sql_type: str, type_: Any) -> ColumnElement[Any]:
    """``CAST(value AS <sql_type>)`` spelled out: SQLAlchemy's MySQL dialect drops casts it deems
    unsupported (DOUBLE, DATETIME(6), BINARY), which MariaDB 10.4+ and MySQL 8 support."""
    return Function("CAST", value.op("AS")(sa.literal_column(sql_type)), type_=type_)  # not func.cast: a Cast


def _binary(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """Text compared byte for byte on MariaDB / MySQL (no case or accent folding, no trailing-space padding)."""
    return _cast_as(value, "BINARY", sa.Text)


def _mysql_instant(text: ColumnElement[Any]) -> ColumnElement[Any]:
    """ISO text as a UTC DATETIME(6) on MariaDB / MySQL: the local part cast (NULL for an impossible date),
    minus the offset in minutes."""
    def part(group: str) -> ColumnElement[Any]:
        return sa.func.regexp_replace(text, _ISO_PARTS, group, type_=sa.Text)

    local = _cast_as(sa.func.concat(part("\\1"), " ", sa.func.coalesce(sa.func.nullif(part("\\2"), ""), "00:00")),
                     "DATETIME(6)", sa.DateTime())
    hours, minutes = _cast_as(part("\\5"), "SIGNED", sa.Integer), _cast_as(part("\\6"), "SIGNED", sa.Integer)
    sign = sa.case((part("\\4") == "-", -1), else_=1)
    offset = sign * (sa.func.coalesce(hours, 0) * 60 + sa.func.coalesce(minutes, 0))
    stamp = sa.func.timestampadd(sa.literal_column("MINUTE"), -offset, local, type_=sa.DateTime())
    return sa.case((_binary(text).op("REGEXP")(_ISO_TEXT), stamp), else_=sa.null())


@dataclass(frozen=True)
class Dialect:
    """The compiler's view of one database dialect."""

    name: str
    #: MariaDB / MySQL: the collation whose ``lower()`` folds case as Python does (see :func:`dialect_of`).
    case_collation: str = "utf8mb4_unicode_520_ci"
    #: PostgreSQL: text read as JSON or as an instant through the functions that give NULL where a cast would
    #: raise (see ``prepare_connection``). Without: plain casts, several times faster, which raise on such a value
    #: (:data:`CAST_FAILURES`); the evaluation then runs the guarded query instead (see ``compiler.evaluate``).
    guarded_casts: bool = True
    #: PostgreSQL: the server's text is UTF-8, so a text with as many bytes as characters is ASCII (see
    #: :meth:`lower`; set by :func:`dialect_of`).
    utf8: bool = False

    @property
    def mysql_family(self) -> bool:
        return self.name in MYSQL_FAMILY

    @property
    def has_json(self) -> bool:
        return self.name in JSON_DIALECTS

    @property
    def materializes(self) -> bool:
        return self.name in MATERIALIZING_DIALECTS

    @property
    def columnar(self) -> bool:
        return self.name in COLUMNAR_DIALECTS

    @property
    def fences(self) -> bool:
        return self.name in FENCING_DIALECTS

    # -- values ------------------------------------------------------------------------------------

    def text(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """The value as text (numbers as their decimal text)."""
        if isinstance(value.type, sa.String):
            return value
        return sa.cast(value, sa.Text)

    def lower(self, value: ColumnElement[Any], *, unicode: bool) -> ColumnElement[Any]:
        """Lower-case text; ``unicode``: fold every letter as Python does (SQLite folds ASCII only)."""
        if self.name == "sqlite" and unicode:
            return sa.func.cs_lower(value, type_=sa.Text)
        if self.mysql_family:  # Python folds dotted capital I to "i" + combining dot, MariaDB to "i"
            text = sa.func.replace(self.text(value), "\u0130", "i\u0307", type_=sa.Text)
            folded = sa.collate(sa.func.convert(text.op("USING")(sa.literal_column("utf8mb4"))),
                                self.case_collation)
            return _binary(sa.func.lower(folded, type_=sa.Text))
        if self.folds_ascii_apart(value):
            return _postgres_lower(value)
        return sa.func.lower(self.text(value), type_=sa.Text)

    def folds_ascii_apart(self, value: ColumnElement[Any]) -> bool:
        """Whether :meth:`lower` folds ``value`` (a text column of a UTF-8 PostgreSQL server) in a ``CASE`` that
        takes the "C" collation's ASCII path for ASCII text. The planner cannot see through a ``CASE`` that a NULL
        value gives NULL: a condition on it says ``value IS NOT NULL`` outright (see ``conditions``). Only plain
        columns: the ``CASE`` reads its value three times, and an expression (a JSON key) would be computed as
        often."""
        return (self.name == "postgresql" and self.utf8 and isinstance(value, ColumnClause)
                and isinstance(value.type, sa.String))

    def blank(self, value: ColumnElement[Any]) -> ColumnElement[bool]:
        """Text made of spaces only (not NULL; numbers are never blank)."""
        if self.name == "sqlite":
            return sa.and_(sa.func.typeof(value) == "text", sa.func.trim(value, " ") == "")
        if not isinstance(value.type, sa.String):
            return sa.false()
        if self.mysql_family:  # TRIM(x) removes spaces only, as trim(x, ' ') elsewhere
            return _binary(sa.func.trim(value)) == ""
        return sa.func.trim(value, " ") == ""

    def integer(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """A whole number (a sum, say, which is NUMERIC / DECIMAL on PostgreSQL and MariaDB) as a 64-bit integer:
        a driver hands an integer over as an int, a decimal as a Decimal object."""
        if self.mysql_family:
            return _cast_as(value, "SIGNED", sa.BigInteger)
        return sa.cast(value, sa.BigInteger)

    def longer_than(self, text: ColumnElement[Any], limit: int) -> ColumnElement[bool]:
        """Text of more than ``limit`` characters. On PostgreSQL a pattern (``LIKE`` with ``limit + 1``
        underscores): the planner estimates a pattern from the column's histogram (almost no row), but a
        comparison of ``length()`` as a third of the rows, which rules out a parallel scan of the people. The
        pattern walks each text's characters: ``octet_length`` (read from the value's header; never fewer
        bytes than characters) tests first, so it runs only on texts of more than ``limit`` bytes, and the
        estimate stays the pattern's (``random_11``: 5 % of the people scan).
        MariaDB / MySQL count characters with ``char_length`` (their ``length`` counts bytes)."""
        if self.name == "postgresql":
            return sa.and_(sa.func.octet_length(text) > limit, text.like("_" * (limit + 1) + "%"))
        return (sa.func.char_length if self.mysql_family else sa.func.length)(text) > limit

    def number(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """The value as a number, NULL where it is none (text like ``'n/a'``)."""
        if is_number_type(value):
            return value
        if self.name == "sqlite":
            kind = sa.func.typeof(value)
            return sa.case((kind.in_(["integer", "real"]), value),
                           (kind == "text", sa.func.cs_number(value, type_=sa.Float)), else_=sa.null())
        if _temporal_type(value):
            return sa.null()
        text = self.text(value)
        if self.name == "duckdb":  # 'nan' is no number to the evaluator (pandas reads it as missing)
            number = sa.func.try_cast(text.op("AS")(sa.literal_column("DOUBLE")), type_=sa.Float)
            return sa.case((sa.func.isnan(number), sa.null()), else_=number)
        if self.name == "postgresql":
            return sa.case((text.op("~")(_NUMBER_TEXT), sa.cast(text, sa.Float)), else_=sa.null())
        if self.mysql_family:
            return sa.case((_binary(text).op("REGEXP")(_NUMBER_TEXT), _cast_as(text, "DOUBLE", sa.Float)),
                           else_=sa.null())
        return sa.case((text.op("REGEXP")(_NUMBER_TEXT), sa.cast(text, sa.Float)), else_=sa.null())

    def instant(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """The value as a comparable UTC instant (see :meth:`instant_literal`), NULL where it is none."""
        if self.name == "sqlite":
            return sa.func.cs_epoch_us(sa.type_coerce(value, sa.Text), type_=sa.BigInteger)
        if is_number_type(value):
            return sa.null()
        if _temporal_type(value):
            if self.mysql_family:  # naive UTC: DATETIME by the contract, TIMESTAMP in the UTC session
                return _cast_as(value, "DATETIME(6)", sa.DateTime())
            if isinstance(value.type, sa.DateTime) and value.type.timezone:
                return value
            return sa.cast(value, sa.DateTime()).op("AT TIME ZONE")(sa.literal_column("'UTC'"))
        text = self.text(value)
        if self.mysql_family:
            return _mysql_instant(text)
        if self.name == "duckdb":  # the pattern first: DuckDB also reads hour 24, which Python does not
            tried = sa.func.try_cast(text.op("AS")(sa.literal_column("TIMESTAMPTZ")),
                                     type_=sa.DateTime(timezone=True))
            return sa.case((sa.func.regexp_full_match(text, _ISO_TEXT), tried), else_=sa.null())
        stamp: ColumnElement[Any] = sa.cast(text, sa.DateTime(timezone=True))
        if self.name == "postgresql" and self.guarded_casts:  # a cast would raise on an impossible date; not this
            stamp = sa.func.pg_temp.campaign_sync_instant(text, type_=sa.DateTime(timezone=True))
        return sa.case((text.op("~" if self.name == "postgresql" else "REGEXP")(_ISO_TEXT), stamp),
                       else_=sa.null())

    def instant_literal(self, moment: dt.datetime) -> ColumnElement[Any]:
        if self.name == "sqlite":
            return sa.literal(epoch_us(moment), sa.BigInteger)
        if self.mysql_family:
            return sa.literal(to_utc(moment).replace(tzinfo=None), sa.DateTime())
        return sa.literal(to_utc(moment), sa.DateTime(timezone=True))

    def json_key(self, document: ColumnElement[Any], key: str) -> ColumnElement[Any]:
        """Key ``key`` of a JSON object column, NULL where absent or the text is no JSON object."""
        if self.name == "sqlite":
            value = sa.func.json_extract(document, f'$."{key}"')
            return sa.case((sa.func.json_valid(document) == 1, value), else_=sa.null())
        if self.name == "duckdb":
            value = sa.func.json_extract_string(document, f'$."{key}"', type_=sa.Text)
            return sa.case((sa.func.json_valid(document), value), else_=sa.null())
        if self.name == "postgresql":
            if isinstance(document.type, postgresql.JSON | postgresql.JSONB) or not self.guarded_casts:
                return sa.cast(document, postgresql.JSONB)[key].astext
            # text: a document that is no JSON gives NULL rather than an error (see prepare_connection)
            return sa.func.pg_temp.campaign_sync_jsonb(document, type_=postgresql.JSONB)[key].astext
        found = sa.func.json_extract(document, f'$."{key}"')
        value = sa.func.json_unquote(found, type_=sa.Text)
        # JSON null is SQL NULL (JSON_UNQUOTE would give the text 'null'), as on the other dialects
        return sa.case((sa.and_(sa.func.json_valid(document) == 1, sa.func.json_type(found) != "NULL"), value),
                       else_=sa.null())


def dialect_of(engine: sa.Engine) -> Dialect:
    dialect = engine.dialect
    if dialect.name in MYSQL_FAMILY:
        version = dialect.server_version_info or ()
        if getattr(dialect, "is_mariadb", False) and tuple(version) >= (10, 10):
            return Dialect("mariadb", case_collation="utf8mb4_uca1400_ai_ci")  # Unicode 14 case mapping
        if not getattr(dialect, "is_mariadb", False) and tuple(version) >= (8,):
            return Dialect("mysql", case_collation="utf8mb4_0900_ai_ci")
        return Dialect("mariadb" if getattr(dialect, "is_mariadb", False) else "mysql")
    if dialect.name == "postgresql":
        try:
            with engine.connect() as connection:
                encoding = connection.exec_driver_sql("SHOW server_encoding").scalar()
        except sa.exc.DBAPIError:  # a server speaking PostgreSQL's protocol without the setting: plain lower()
            encoding = None
        return Dialect("postgresql", utf8=encoding == "UTF8")
    return Dialect(dialect.name)


def missing_features(dialect: Dialect, needs_json: bool) -> list[str]:
    """What the dialect lacks for a spec (empty: it can evaluate it)."""
    missing = []
    if needs_json and not dialect.has_json:
        missing.append(f"{dialect.name} cannot read keys of the JSON attributes column")
    return missing

