"""The SQL source: people and activities read through SQLAlchemy (SQLite by default, PostgreSQL in production).

What is pushed into SQL, so the database does the filtering:

* activities: type, window (``start <= occurred_at < end``) and every
  attribute condition that SQL answers exactly (see ``pushdown``). When all
  conditions are pushed, the database also counts per person, so one row per
  person crosses the wire (on SQLite the person ids cross as one joined text
  per time piece and are counted in Python, see ``joined_ids``); otherwise the rows (person id and the remaining
  attribute values) are read in chunks and filtered in pandas.
* people: member types, ``created_at < as_of``, the evaluator's necessary
  condition (``PeopleHint``) and, when few, the candidate person ids.

Reads are streamed in chunks of ``chunk_size`` rows, so memory is bounded by
the result (one row per matching person), not by the size of the tables.
This layer takes an Engine or URL; the Airflow hook resolves a connection id.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from dynamics_campaign_sync.lazy_exports import lazy_module
from dynamics_campaign_sync.qualification.contract import (
    ACTIVITY_ID,
    ACTIVITY_TYPE,
    ATTRIBUTES,
    CREATED_AT,
    IDENTITY_COLUMNS,
    MEMBER_TYPE,
    OCCURRED_AT,
    PERSON_ID,
)
from dynamics_campaign_sync.qualification.duckdb_tables import reflect_duckdb_tables
from dynamics_campaign_sync.qualification.invalid_rows import MAX_EXAMPLES
from dynamics_campaign_sync.qualification.joined_ids import count_joined, joined_ids_query
from dynamics_campaign_sync.qualification.parallel_counts import (
    EVERYONE,
    PersonRange,
    RangeCounter,
    count_in_processes,
    next_slice,
)
from dynamics_campaign_sync.qualification.postgres_tables import (
    postgres_second_index_columns,
    reflect_postgres_table,
)
from dynamics_campaign_sync.qualification.pushdown import (
    comparable_timestamp,
    condition_clause,
    hint_clause,
    timestamp_literal,
)
from dynamics_campaign_sync.qualification.sources import (
    ActivityCounts,
    ActivityRequest,
    MissingPersonIds,
    PeopleRequest,
    SourceError,
    conditions_mask,
    count_by_person,
    people_columns_read,
)
from dynamics_campaign_sync.qualification.value_lists import (
    condition_column,
    distinct_values_query,
    indexed_attribute_columns,
    matching_values,
)
from dynamics_campaign_sync.spec.models import Condition, SourceConfig

if TYPE_CHECKING:
    import pandas as pd
else:  # on first use: the compiled evaluation answers with numpy arrays alone (see lazy_exports.lazy_module)
    pd = lazy_module("pandas")


class SqlSource:
    """A :class:`~dynamics_campaign_sync.qualification.sources.Source` over two SQL tables."""

    def __init__(
        self,
        engine: sa.Engine | str,
        *,
        people_table: str = "people",
        activities_table: str = "activities",
        schema: str | None = None,
        chunk_size: int = 100_000,
        id_batch_size: int = 10_000,
        max_listed_ids: int = 500_000,
        max_listed_values: int = 1_000,
        processes: int = 2,
    ) -> None:
        self._engine = sa.create_engine(engine) if isinstance(engine, str) else engine
        self._dialect = self._engine.dialect.name
        self._names = (people_table, activities_table)
        self._schema = schema
        self.chunk_size = chunk_size
        self.id_batch_size = id_batch_size
        self.max_listed_ids = max_listed_ids
        self.max_listed_values = max_listed_values
        self.processes = processes

    @classmethod
    def from_config(cls, config: SourceConfig, engine: sa.Engine | str, **options: Any) -> SqlSource:
        """A source for a spec's ``source`` section, once its connection is resolved to an engine."""
        return cls(
            engine,
            people_table=config.people_table,
            activities_table=config.activities_table,
            schema=config.schema_name,
            **options,
        )

    def _reflect(self, name: str) -> sa.Table:
        try:
            if self._dialect == "duckdb":
                if name not in self._duckdb_tables:
                    raise sa.exc.NoSuchTableError(name)
                return self._duckdb_tables[name]
            if self._dialect == "postgresql":  # one catalog query; the full way for other column types
                table = reflect_postgres_table(self._engine, name, self._schema)
                if table is not None:
                    return table
            return sa.Table(name, sa.MetaData(), autoload_with=self._engine, schema=self._schema)
        except sa.exc.NoSuchTableError:
            where = self._engine.url.render_as_string(hide_password=True)
            raise SourceError(f"table {name!r} not found in {where}") from None

    @cached_property
    def _duckdb_tables(self) -> dict[str, sa.Table]:
        """Both tables of a DuckDB source, from one catalog query."""
        return reflect_duckdb_tables(self._engine, self._names, self._schema)

    @cached_property
    def _people(self) -> sa.Table:
        return self._reflect(self._names[0])

    @cached_property
    def _activities(self) -> sa.Table:
        return self._reflect(self._names[1])

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    @property
    def tables(self) -> tuple[sa.Table, sa.Table]:
        """The reflected ``(people, activities)`` tables."""
        return self._people, self._activities

    @cached_property
    def _people_is_snapshot(self) -> bool:
        """True when ``person_id`` alone is the primary key: one row per person, no versions."""
        return [column.name for column in self._people.primary_key.columns] == [PERSON_ID]

    def people_columns(self) -> frozenset[str]:
        return frozenset(self._people.columns.keys())

    # -- people --------------------------------------------------------------

    def _created_before(self, query: sa.Select[Any], as_of: dt.datetime) -> sa.Select[Any]:
        """``query`` limited to people created before ``as_of`` (or at an unknown time)."""
        table = self._people
        if CREATED_AT in table.columns:
            created = table.c[CREATED_AT]
            before = comparable_timestamp(created, self._dialect) < timestamp_literal(
                created, as_of, self._dialect
            )
            query = query.where(sa.or_(created.is_(None), before))
        return query

    def has_people(self, member_types: tuple[str, ...], as_of: dt.datetime) -> bool:
        query = sa.select(self._people.c[PERSON_ID]).where(self._people.c[MEMBER_TYPE].in_(list(member_types)))
        return len(self._frame(self._created_before(query, as_of).limit(1))) > 0

    def _people_select(self, request: PeopleRequest) -> sa.Select[Any]:
        table = self._people
        wanted = list(dict.fromkeys((*IDENTITY_COLUMNS, *request.fields)))
        missing = [name for name in wanted if name not in table.columns]
        if missing:
            raise SourceError(f"table {table.name!r} has no column {', '.join(map(repr, missing))}")
        selected = [self._readable(table.c[name]) for name in people_columns_read(table.columns, request)]
        query = self._created_before(sa.select(*selected), request.as_of)
        if request.other_member_types:  # unknown types (NULL too) are read, to be reported
            member_type = table.c[MEMBER_TYPE]
            others = member_type.in_(list(request.other_member_types))
            query = query.where(sa.or_(member_type.is_(None), sa.not_(others)))
        if request.hint is not None:
            clause = hint_clause(request.hint.tree, request.hint.conditions, table.c, self._dialect)
            if clause is not None and self._people_is_snapshot:
                query = query.where(clause)
            elif clause is not None:  # keep every version of a candidate; the as-of version is chosen later
                person = table.c[PERSON_ID]
                candidate = person.in_(sa.select(person).where(clause))
                # and the matching rows without an id, which IN never selects, to be reported
                query = query.where(sa.or_(candidate, sa.and_(person.is_(None), clause)))
        return query

    def _readable(self, column: sa.Column[Any]) -> ColumnElement[Any]:
        """Timestamps as raw values (parsed vectorized later, not row by row by SQLAlchemy)."""
        if isinstance(column.type, sa.DateTime) and self._dialect == "sqlite":
            return sa.type_coerce(column, sa.Text).label(column.name)
        return column

    def _id_clauses(self, ids: pd.Index) -> list[ColumnElement[bool]]:
        """Clauses selecting the people ``ids``: one array parameter where the dialect has one
        (SQLite ``json_each``, PostgreSQL ``ANY``), else ``IN`` lists of ``id_batch_size`` ids."""
        person = self._people.c[PERSON_ID]
        values = ids.astype("str").tolist()  # one conversion, not a Python call per id
        if self._dialect == "sqlite":
            listed = sa.func.json_each(sa.literal(json.dumps(values), sa.Text)).table_valued("value")
            return [person.in_(sa.select(listed.c.value))]
        if self._dialect == "postgresql":
            return [person == sa.any_(sa.literal(values, postgresql.ARRAY(sa.Text)))]
        size = self.id_batch_size
        return [person.in_(values[i : i + size]) for i in range(0, len(values), size)]

    def read_people(self, request: PeopleRequest) -> pd.DataFrame:
        query = self._people_select(request)
        ids = request.person_ids
        if ids is not None and len(ids) <= self.max_listed_ids:
            frames = [self._frame(query.where(clause)) for clause in self._id_clauses(ids)]
            people = pd.concat(frames, ignore_index=True) if frames else self._frame(query.where(sa.false()))
        else:
            people = self._frame(query)
            if ids is not None:
                people = people[people[PERSON_ID].isin(ids)]
        return people.reset_index(drop=True)

    # -- rows without a person id ------------------------------------------------

    def activities_without_person(
        self, activity_types: tuple[str, ...], start: dt.datetime | None, end: dt.datetime
    ) -> MissingPersonIds:
        """First a count over the whole table, two seeks in the ``(person_id)`` index (a planner given the
        type and window too, or the two tests in one ``OR``, may read a whole index instead); only when it
        finds rows, the exact count and examples."""
        table = self._activities
        person = table.c[PERSON_ID]
        counts = [self._count_query(person.is_(None)), self._count_query(person == "")]
        anywhere = sa.select((counts[0].scalar_subquery() + counts[1].scalar_subquery()).label("n"))
        if not int(self._frame(anywhere)["n"].iloc[0]):
            return MissingPersonIds()
        where = [sa.or_(person.is_(None), person == ""), table.c[ACTIVITY_TYPE].in_(list(activity_types)),
                 *self._time_window(start, end)]
        rows = int(self._frame(self._count_query(*where))["n"].iloc[0])
        if not rows or ACTIVITY_ID not in table.columns:
            return MissingPersonIds(rows)
        activity_id = table.c[ACTIVITY_ID]
        found = self._frame(sa.select(activity_id).where(*where).order_by(activity_id).limit(MAX_EXAMPLES))
        return MissingPersonIds(rows, tuple(str(value) for value in found[ACTIVITY_ID]))

    def _count_query(self, *where: ColumnElement[bool]) -> sa.Select[Any]:
        """The number of activity rows matching every clause, as column ``n``."""
        return sa.select(sa.func.count().label("n")).select_from(self._activities).where(*where)

    # -- activities ----------------------------------------------------------

    def _activity_columns(self, names: Sequence[str]) -> list[ColumnElement[Any]]:
        """Attributes to read: own columns, JSON extractions from ``attributes`` where the dialect
        has them, else the raw JSON once (pandas extracts the keys from it)."""
        table = self._activities
        selected: list[ColumnElement[Any]] = []
        raw_json = False
        for name in names:
            if name in table.columns:
                selected.append(table.c[name])
            elif ATTRIBUTES not in table.columns:
                selected.append(sa.null().label(name))
            elif self._dialect == "sqlite":
                document = table.c[ATTRIBUTES]  # json_extract fails on invalid JSON: such rows give NULL
                value = sa.func.json_extract(document, f'$."{name}"')
                selected.append(sa.case((sa.func.json_valid(document) == 1, value)).label(name))
            elif self._dialect == "postgresql":
                selected.append(sa.cast(table.c[ATTRIBUTES], postgresql.JSONB)[name].astext.label(name))
            else:
                raw_json = True
        if raw_json:
            selected.append(table.c[ATTRIBUTES])
        return selected

    @cached_property
    def indexed_attributes(self) -> frozenset[str]:
        """Attribute columns with an index led by ``(activity_type, column)`` (see ``value_lists``)."""
        if self._dialect == "postgresql":
            return postgres_second_index_columns(self._engine, self._names[1], self._schema, ACTIVITY_TYPE)
        indexes = sa.inspect(self._engine).get_indexes(self._names[1], schema=self._schema)
        return indexed_attribute_columns(indexes)

    def _value_list(self, request: ActivityRequest, condition: Condition) -> ColumnElement[bool] | None:
        """``condition`` as ``column IN (its matching values)`` where an index lists the values."""
        table = self._activities
        column = condition_column(table, condition)
        if column not in self.indexed_attributes:
            return None
        query = distinct_values_query(table, column, request.activity_type, self.max_listed_values)
        values = self._frame(query)["value"].tolist()
        if len(values) > self.max_listed_values:
            return None
        json_key = column != condition.field
        matched = matching_values(values, condition, request.reference_time, json_key=json_key)
        if matched is None:
            return None
        attribute = table.c[column]
        return sa.and_(attribute.is_not(None), attribute.in_(matched))  # NOT NULL: the index is partial

    def _split(self, request: ActivityRequest) -> tuple[list[ColumnElement[bool]], list[Condition]]:
        """Conditions as SQL clauses where exact, and the rest for pandas."""
        table = self._activities
        pushed: list[ColumnElement[bool]] = []
        residual: list[Condition] = []
        for condition in request.conditions:
            clause = self._value_list(request, condition)
            if clause is None and condition.field in table.columns:
                clause = condition_clause(table.c[condition.field], condition, self._dialect)
            if clause is None:
                residual.append(condition)
            else:
                pushed.append(clause)
        return pushed, residual

    def _time_window(self, start: dt.datetime | None, end: dt.datetime) -> list[ColumnElement[bool]]:
        """``start <= occurred_at < end`` as clauses (no start: everything before ``end``)."""
        occurred = self._activities.c[OCCURRED_AT]
        moment = comparable_timestamp(occurred, self._dialect)
        where = [moment < timestamp_literal(occurred, end, self._dialect)]
        if start is not None:
            where.append(moment >= timestamp_literal(occurred, start, self._dialect))
        return where

    def _window(self, request: ActivityRequest, people: PersonRange) -> list[ColumnElement[bool]]:
        """The request's activity type and window, and the range of person ids, as clauses."""
        table = self._activities
        where: list[ColumnElement[bool]] = [
            table.c[ACTIVITY_TYPE] == request.activity_type,
            *self._time_window(request.start, request.end),
        ]
        person, (low, high) = table.c[PERSON_ID], people
        if low is not None:
            where.append(person >= low)
        if high is not None:  # the first range keeps the rows without a person id
            where.append(person < high if low is not None else sa.or_(person < high, person.is_(None)))
        return where

    def count_activities(self, request: ActivityRequest, people: PersonRange = EVERYONE) -> ActivityCounts:
        """Per person, how many activities match ``request``, among the ids in ``people``."""
        pushed, residual = self._split(request)
        where = [*self._window(request, people), *pushed]
        person = self._activities.c[PERSON_ID]
        if not residual:
            joined = self._joined_counts(request, people, pushed) if self._dialect == "sqlite" else None
            return joined if joined is not None else self._grouped_counts(where)
        fields = list(dict.fromkeys(condition.field for condition in residual))
        query = sa.select(person, *self._activity_columns(fields)).where(*where)
        parts, rows = [], 0
        for chunk in self._chunks(query):
            matched = conditions_mask(chunk, tuple(residual), request.reference_time)
            parts.append(count_by_person(chunk[PERSON_ID][matched]))
            rows += int(matched.sum())
        return ActivityCounts(counts=_sum_counts(parts), rows=rows)

    def _joined_counts(
        self, request: ActivityRequest, people: PersonRange, pushed: list[ColumnElement[bool]]
    ) -> ActivityCounts | None:
        """Counts from the joined person ids (see ``joined_ids``), the window cut into time pieces of
        about ``chunk_size`` rows so the text stays small; None where the grouped query must count."""
        if request.start is None:  # an open window cannot be cut in time: the grouped query streams
            total = sa.select(sa.func.count().label("n")).where(*self._window(request, people), *pushed)
            if int(self._frame(total)["n"].iloc[0]) > self.chunk_size:
                return None
        counts = count_joined(self._joined_pieces(request, people, pushed))
        if counts is None:
            return None
        return ActivityCounts(counts=counts, rows=int(counts.sum()))  # every row's id was counted

    def _joined_pieces(
        self, request: ActivityRequest, people: PersonRange, pushed: list[ColumnElement[bool]]
    ) -> Iterator[tuple[int, str | None]]:
        """``(row count, joined ids)`` of each time piece, read as they are counted."""
        person = self._activities.c[PERSON_ID]
        piece = next_slice(request, None, 0, self.chunk_size)
        while piece is not None:
            found = self._frame(joined_ids_query(person, [*self._window(piece, people), *pushed]))
            rows = int(found["n"].iloc[0])
            yield rows, found["ids"].iloc[0]
            piece = next_slice(request, piece, rows, self.chunk_size)

    def _grouped_counts(self, where: list[ColumnElement[bool]]) -> ActivityCounts:
        """Counts per person grouped by the database, streamed one row per person."""
        person = self._activities.c[PERSON_ID]
        query = sa.select(person, sa.func.count().label("n")).where(*where).group_by(person)
        parts = [chunk.set_index(PERSON_ID)["n"] for chunk in self._chunks(query)]
        counts = _sum_counts(parts, disjoint=True)
        return ActivityCounts(counts=counts, rows=int(counts.sum()))

    def count_activities_many(self, requests: Sequence[ActivityRequest]) -> list[ActivityCounts]:
        """``count_activities`` of each request; on a SQLite file, in ``processes`` worker processes."""
        url = self._engine.url
        in_file = self._dialect == "sqlite" and url.database not in (None, "", ":memory:")
        if not in_file or self.processes < 2 or len(requests) == 0 or "mode=memory" in str(url):
            return [self.count_activities(request) for request in requests]
        return count_in_processes(self._worker_counter, requests, self._person_boundaries())

    def _person_boundaries(self) -> list[str]:
        """Person ids that cut the people into ``processes`` ranges of about equal size, read from
        the people table's id index (a count, then one offset walk per boundary)."""
        person = self._people.c[PERSON_ID]
        total = int(self._frame(sa.select(sa.func.count().label("n")).select_from(self._people))["n"].iloc[0])
        ordered = sa.select(person).where(person.is_not(None)).order_by(person)
        boundaries: list[str] = []
        for part in range(1, self.processes):
            found = self._frame(ordered.offset(total * part // self.processes).limit(1))[PERSON_ID]
            boundaries.extend(str(value) for value in found)
        return sorted(set(boundaries))  # few or repeated ids (a history table) give fewer ranges

    def _worker_counter(self) -> RangeCounter:
        """Runs in a forked worker: a source of its own, so no connection is shared with the parent."""
        names = self._names
        source = SqlSource(
            sa.create_engine(self._engine.url),
            people_table=names[0],
            activities_table=names[1],
            schema=self._schema,
            chunk_size=self.chunk_size,
            max_listed_values=self.max_listed_values,
            processes=1,
        )
        return source.count_activities

    # -- reading -------------------------------------------------------------

    def _chunks(self, query: sa.Select[Any]) -> Iterator[pd.DataFrame]:
        """The result in DataFrames of at most ``chunk_size`` rows, streamed from the database.

        SQLAlchemy builds and compiles the query; the rows are fetched from the
        DBAPI cursor as plain tuples, which pandas turns into columns several
        times faster than SQLAlchemy ``Row`` objects. PostgreSQL gets a
        server-side cursor, so a large result is never held in memory at once.
        """
        compiled = query.compile(dialect=self._engine.dialect, compile_kwargs={"render_postcompile": True})
        params: Any = compiled.params  # a property that rebuilds the dict: read it once
        if compiled.positional:
            params = tuple(params[name] for name in compiled.positiontup or ())
        names = [column.name for column in query.selected_columns]
        dbapi_error = self._engine.dialect.loaded_dbapi.Error
        raw = self._engine.raw_connection()
        try:
            cursor = self._streaming_cursor(raw)
            cursor.execute(str(compiled), params)
            while rows := cursor.fetchmany(self.chunk_size):
                yield pd.DataFrame.from_records(rows, columns=names)
            cursor.close()
        except dbapi_error as error:
            raise SourceError(f"reading the source failed: {type(error).__name__}: {error}") from None
        finally:
            raw.close()

    def _streaming_cursor(self, raw: Any) -> Any:
        """A server-side (named) cursor where the driver has one, else a plain cursor."""
        if self._dialect == "postgresql":
            try:
                return raw.cursor(name=f"campaign_sync_{uuid.uuid4().hex}")
            except TypeError:  # a driver without named cursors
                pass
        return raw.cursor()

    def _frame(self, query: sa.Select[Any]) -> pd.DataFrame:
        chunks = list(self._chunks(query))
        if not chunks:
            return pd.DataFrame(columns=[column.name for column in query.selected_columns])
        return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def _sum_counts(parts: list[pd.Series], *, disjoint: bool = False) -> pd.Series:
    """Add per-chunk counts: a person may appear in several chunks, unless the database grouped
    the rows (``disjoint``), where concatenating is enough."""
    parts = [part for part in parts if len(part)]
    if not parts:
        return ActivityCounts().counts
    if len(parts) == 1:
        combined = parts[0]
    elif disjoint:
        combined = pd.concat(parts)
    else:
        combined = pd.concat(parts).groupby(level=0, sort=False).sum()
    combined.index = combined.index.astype("str")
    combined.index.name = PERSON_ID
    return combined.astype(np.int64)
