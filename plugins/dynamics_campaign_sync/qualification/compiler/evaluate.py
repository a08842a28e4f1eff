"""Evaluating a spec with its compiled query: the database decides, numpy shapes the answer.

Same contract as the pandas evaluator (``evaluator.evaluate``): a :class:`QualificationResult` with the
qualified people (in the database's order: sorting them would cost more than deciding) and their reasons,
the invalid rows left out, and what was read. The answer is numpy arrays (``QualifiedColumns``): pandas is
imported only when a caller asks for the qualified frame. ``people_scanned`` counts the people rows read out of the
source — the qualified people and the invalid rows; the database decides about everyone else where they
live, as a source with pushdown reads only the people who can still qualify. ``filter_matches`` counts,
per filter, the qualified people it matched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Collection
from typing import Any

import numpy as np
import sqlalchemy as sa

from dynamics_campaign_sync.qualification.compiler.dialects import Dialect, dialect_of, prepare_connection
from dynamics_campaign_sync.qualification.compiler.fetch import (
    CastFailed,
    FetchedRows,
    collector_paused,
    integers,
    run_query,
    sql_and_params,
)
from dynamics_campaign_sync.qualification.compiler.people import PROBLEMS, WEIGHT
from dynamics_campaign_sync.qualification.compiler.query import (
    ACTIVITY_ROW,
    ANYONE,
    REPORTED_ROW,
    ROW,
    TOTAL_ROW,
    CompiledSpec,
    compile_spec,
    unpacked,
)
from dynamics_campaign_sync.qualification.compiler.value_lists import listed_values
from dynamics_campaign_sync.qualification.contract import DYNAMICS_ID, EMAIL, PERSON_ID
from dynamics_campaign_sync.qualification.evaluator import (
    QualificationResult,
    QualifiedColumns,
    check_fields,
    utc_interval,
)
from dynamics_campaign_sync.qualification.evaluator import evaluate as frame_evaluate
from dynamics_campaign_sync.qualification.invalid_rows import (
    ACTIVITY_NULL_PERSON_ID,
    NULL_PERSON_ID,
    InvalidRows,
)
from dynamics_campaign_sync.qualification.memberships import MembershipFacts
from dynamics_campaign_sync.qualification.reasons import reason_codes
from dynamics_campaign_sync.qualification.sources import SourceError
from dynamics_campaign_sync.qualification.sql_source import SqlSource
from dynamics_campaign_sync.qualification.subset_source import SubsetSource
from dynamics_campaign_sync.spec.models import CampaignSpec

#: Sources (URL and tables) whose text held a value an unguarded cast raised on: guarded from then on.
_GUARDED_SOURCES: set[tuple[str, ...]] = set()


def _shaped(engine: sa.Engine, people: sa.Table, compile_for: Callable[[Dialect, bool], CompiledSpec],
            dialect: Dialect) -> CompiledSpec:
    """The compiled query in the shape that fits: the logic decided from the matched bits (each condition
    computed once per row), unless part of it can filter the people in their scan and few people pass it: there
    PostgreSQL, testing it in the scan, estimates how few rows it lets through and scans in parallel, or joins the
    count tables to those rows alone (``issue_demographic`` 0.29 s, 0.52 s from the bits; ``random_09`` 1.54 s,
    2.47 s). Whether few pass is the planner's estimate (one ``EXPLAIN``). SQLite scans in one thread: the bits
    always decide there."""
    compiled = compile_for(dialect, False)
    if not compiled.bits_can_decide:
        return compiled
    if (dialect.name == "postgresql" and compiled.scan_can_filter
            and _estimated_share(engine, compiled, people) < MOST_PEOPLE):
        return compiled
    return compile_for(dialect, True)


#: The share of the people the query returns above which the bits decide (see ``_shaped``).
MOST_PEOPLE = 0.5


def _estimated_share(engine: sa.Engine, compiled: CompiledSpec, people: sa.Table) -> float:
    """The rows PostgreSQL's planner expects ``compiled`` to return, as a share of the people table's rows (0
    where the table was never analyzed: no estimate to go by)."""
    sql, params = sql_and_params(engine, compiled.query)
    try:
        with engine.connect() as connection:  # rolled back on return: the settings and functions go with it
            prepare_connection(connection.connection.driver_connection, engine.dialect.name, sql)
            planned = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, params).scalar_one()
            rows = connection.execute(sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)"),
                                      {"name": engine.dialect.identifier_preparer.format_table(people)}).scalar()
    except sa.exc.DBAPIError as error:
        raise SourceError(f"reading the source failed: {type(error.orig).__name__}: {error.orig}") from None
    plan = (json.loads(planned) if isinstance(planned, str) else planned)[0]["Plan"]
    return plan["Plan Rows"] / float(rows) if rows and rows > 0 else 0.0


def _compiled_rows(engine: sa.Engine, dialect: Dialect, tables: tuple[sa.Table, sa.Table],
                   compile_for: Callable[[Dialect, bool], CompiledSpec]) -> tuple[CompiledSpec, FetchedRows]:
    """The compiled query for ``engine``'s dialect and its rows. On PostgreSQL first with plain casts: text that is
    no JSON (or no instant) raises there, and the guarded query (a PL/pgSQL call per value, a subtransaction each:
    0.98 s against 0.38 s to read a number from 400,000 documents) runs instead, for this source from then on.
    The answer is the same either way: a cast either gives the value or raises."""
    source = (engine.url.render_as_string(hide_password=True), *(str(table) for table in tables))
    if dialect.name == "postgresql" and dialect.guarded_casts and source not in _GUARDED_SOURCES:
        try:
            compiled = _shaped(engine, tables[0], compile_for, dataclasses.replace(dialect, guarded_casts=False))
            return compiled, run_query(engine, compiled.query)
        except CastFailed:
            _GUARDED_SOURCES.add(source)
    compiled = _shaped(engine, tables[0], compile_for, dialect)
    return compiled, run_query(engine, compiled.query)


def _invalid_people(rows: FetchedRows, reported: np.ndarray, kinds: np.ndarray, compiled: CompiledSpec,
                    report: InvalidRows) -> None:
    """Count the people rows the query reported (at positions ``reported``, of row kinds ``kinds``: a problem, or
    a value a filter cannot order) in ``report``, with examples in id order as the reference gives them."""
    ids = rows.at(PERSON_ID, reported)
    order = np.array(sorted(range(len(ids)), key=lambda i: (ids[i] is None, ids[i] or "")), dtype=np.int64)
    ids, problems = ids[order], kinds[order] - REPORTED_ROW  # 0: no problem
    weights = _people_weights(rows, reported)[order]
    dynamics_ids = rows.at(DYNAMICS_ID, reported)[order]
    has_problem = problems > 0
    for code in dict.fromkeys(problems[has_problem].tolist()):
        problem, group = PROBLEMS[code - 1], problems == code
        examples: Any = ids[group]
        if problem == NULL_PERSON_ID:
            examples = (f"dynamics_id={value}" for value in dynamics_ids[group] if value is not None)
        report.add(problem, int(weights[group].sum()), examples)
    unreadable = np.zeros(len(ids), dtype=bool)
    for (kind, field), name in compiled.unreadable.items():
        flagged = (integers(rows.at(name, reported)[order]) == 1) & ~has_problem
        report.add(f"{kind}:{field}", int(flagged.sum()), ids[flagged], rows=0)
        unreadable |= flagged
    report.rows += int(unreadable.sum())  # a person with two unreadable values is one row left out


def _people_weights(rows: FetchedRows, reported: np.ndarray) -> np.ndarray:
    """How many source rows each reported people row stands for (NULL: one, as every row of a snapshot)."""
    return integers(rows.at(WEIGHT, reported), null=1)


def _all_but(size: int, left_out: np.ndarray) -> slice | np.ndarray:
    """The positions ``0 … size-1`` except ``left_out`` (sorted): a slice, so no copy, when those are the first
    or the last positions, as the database returns them when it keeps the union's order."""
    count = len(left_out)
    if count == 0 or left_out[0] == size - count:
        return slice(0, size - count)
    if left_out[-1] == count - 1:
        return slice(count, size)
    keep = np.ones(size, dtype=bool)
    keep[left_out] = False
    return keep


def evaluate(
    spec: CampaignSpec, source: Any, interval_start: dt.datetime, interval_end: dt.datetime,
    memberships: MembershipFacts | None = None,
    only_people: Collection[str] | None = None,
) -> QualificationResult:
    """Who qualifies for ``spec`` as of ``interval_end``: the semantics of ``evaluator.evaluate``, decided
    by the source database in one compiled query (``memberships``: the facts its membership filters need).
    ``only_people`` (source person ids) evaluates those people alone — a triggered run's — reading only their
    rows. The qualified people come in the order the database returns them."""
    if not isinstance(source, SqlSource):
        # People read from Dynamics (or any in-memory frames) are already in this process: nothing to push down.
        if only_people is not None:
            source = SubsetSource(source, only_people)
        return frame_evaluate(spec, source, interval_start, interval_end, memberships)
    start, end = utc_interval(interval_start, interval_end)
    check_fields(spec, source)
    people, activities = source.tables
    dialect = dialect_of(source.engine)
    listed = listed_values(spec, source, end, dialect)
    with collector_paused():  # the cursor's tuples live until released below: no collection walks them
        compiled, rows = _compiled_rows(source.engine, dialect, (people, activities), lambda dialect, by_bits: (
            compile_spec(spec, people, activities, (start, end), dialect, memberships, only_people, by_bits, listed)))
        kind, matched = unpacked(rows.integers(ROW))  # kind: a qualified person's member type, else what the row is
        others = np.flatnonzero(kind >= ACTIVITY_ROW)  # a few rows: reported people, totals
        other_kinds = kind[others]
        total = others[other_kinds == TOTAL_ROW][:1]

        invalid = InvalidRows()
        people_less = others[other_kinds == ACTIVITY_ROW]
        if len(people_less):
            invalid.add(ACTIVITY_NULL_PERSON_ID, int(rows.at(WEIGHT, people_less[:1])[0]),
                        (f"activity_id={value}" for value in rows.at(PERSON_ID, people_less) if value is not None))
        reported = others[other_kinds >= REPORTED_ROW]  # the kind carries the problem (see ``person_kind``)
        _invalid_people(rows, reported, other_kinds[other_kinds >= REPORTED_ROW], compiled, invalid)
        activity_rows_read = sum(int(rows.at(name, total)[0]) for name in compiled.counts.values())
        source_empty = rows.at(ANYONE, total)[0] != 1
        reported_weight = int(_people_weights(rows, reported).sum())

        kept = _all_but(len(kind), others)
        bits = matched[kept]
        counts = {n: rows.integers(name)[kept] for n, name in compiled.counts.items()}
        person_ids, dynamics_ids, emails = (rows.column(name)[kept] for name in (PERSON_ID, DYNAMICS_ID, EMAIL))
        rows.release()
    if not isinstance(people.c[PERSON_ID].type, sa.String):  # text ids are text already: no call per id
        person_ids = np.fromiter(map(str, person_ids), dtype=object, count=len(person_ids))
    qualified = QualifiedColumns(
        person_ids=person_ids, member_type_codes=kind[kept].astype(np.int8),
        dynamics_ids=dynamics_ids, emails=emails, reasons=reason_codes(compiled.numbers, bits, counts))
    return QualificationResult(
        campaign_key=spec.key,
        interval_start=start,
        interval_end=end,
        qualified_people=qualified,
        people_scanned=len(person_ids) + reported_weight,
        activity_rows_read=activity_rows_read,
        source_empty=bool(source_empty),
        filter_matches={n: int((bits >> bit & 1).sum()) for bit, n in enumerate(compiled.numbers)},
        invalid_rows=invalid,
    )
