"""Evaluating a spec with its compiled query: the database decides, pandas only shapes the answer.

Same contract as the pandas evaluator (``evaluator.evaluate``): a :class:`QualificationResult` with the
qualified people (sorted by id) and their reasons, the invalid rows left out, and what was read.
``people_scanned`` counts the people the query evaluated (everyone of the spec's member types, or only
the people with a behaviour match when the logic needs one) plus the invalid rows; ``filter_matches``
counts, per filter, the qualified people it matched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dynamics_campaign_sync.qualification.compiler.dialects import dialect_of, prepare_connection
from dynamics_campaign_sync.qualification.compiler.people import PROBLEM, WEIGHT
from dynamics_campaign_sync.qualification.compiler.query import (
    ACTIVITY_ROW,
    ANYONE,
    PERSON_ROW,
    ROW_KIND,
    TOTAL_ROW,
    CompiledSpec,
    compile_spec,
)
from dynamics_campaign_sync.qualification.contract import DYNAMICS_ID, IDENTITY_COLUMNS, PERSON_ID
from dynamics_campaign_sync.qualification.duckdb_tables import duckdb_connection
from dynamics_campaign_sync.qualification.evaluator import QualificationResult, check_fields, utc_interval
from dynamics_campaign_sync.qualification.evaluator import evaluate as frame_evaluate
from dynamics_campaign_sync.qualification.invalid_rows import (
    ACTIVITY_NULL_PERSON_ID,
    NULL_PERSON_ID,
    InvalidRows,
)
from dynamics_campaign_sync.qualification.memberships import MembershipFacts
from dynamics_campaign_sync.qualification.reasons import reasons_json
from dynamics_campaign_sync.qualification.sources import SourceError
from dynamics_campaign_sync.qualification.sql_source import SqlSource
from dynamics_campaign_sync.qualification.subset_source import SubsetSource
from dynamics_campaign_sync.spec.models import CampaignSpec

Columns = dict[str, np.ndarray]  # a result as one array per column (text: object arrays, None for NULL)


def _plain(column: np.ndarray) -> np.ndarray:
    """A fetched column without numpy's mask (DuckDB masks NULLs): None where NULL in text columns."""
    if not isinstance(column, np.ma.MaskedArray):
        return column
    if column.dtype != object:
        return column.filled(0)
    values = column.data  # the masked array is dropped: its data may be changed in place
    values[np.ma.getmaskarray(column)] = None  # filled(None) would mean "the default filler"
    return values


def run_query(engine: sa.Engine, query: Any) -> Columns:
    """The rows of ``query``, column by column: from DuckDB without a Python object per number (and
    through a connection opened directly, see ``duckdb_tables``), from the DBAPI cursor's tuples elsewhere."""
    compiled = query.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    names = [column.name for column in query.selected_columns]
    sql = str(compiled)
    try:
        if engine.dialect.name == "duckdb":
            with duckdb_connection(engine) as connection:
                prepare_connection(connection, "duckdb")
                fetched = connection.execute(sql, params).fetchnumpy()
            return {name: _plain(column) for name, column in zip(names, fetched.values(), strict=True)}
        raw = engine.raw_connection()
        try:
            prepare_connection(raw.driver_connection, engine.dialect.name, sql)
            cursor = raw.cursor()
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            cursor.close()
        finally:
            raw.close()
    except engine.dialect.loaded_dbapi.Error as error:
        raise SourceError(f"reading the source failed: {type(error).__name__}: {error}") from None
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return {name: _object_array(column) for name, column in zip(names, columns, strict=True)}


def _object_array(values: Sequence[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _invalid_people(rows: Columns, marked: np.ndarray, compiled: CompiledSpec, report: InvalidRows) -> None:
    """Count the people rows the query marked (problem, or a value a filter cannot order) in ``report``,
    with examples in id order as the reference gives them."""
    ids = rows[PERSON_ID][marked]
    order = np.array(sorted(range(len(ids)), key=lambda i: (ids[i] is None, ids[i] or "")), dtype=np.int64)
    ids, problems = ids[order], rows[PROBLEM][marked][order]
    weights = rows[WEIGHT][marked][order].astype(np.int64)
    dynamics_ids = rows[DYNAMICS_ID][marked][order]
    has_problem = pd.notna(problems)
    for problem in dict.fromkeys(problems[has_problem].tolist()):
        group = problems == problem
        examples: Any = ids[group]
        if problem == NULL_PERSON_ID:
            examples = (f"dynamics_id={value}" for value in dynamics_ids[group] if value is not None)
        report.add(str(problem), int(weights[group].sum()), examples)
    unreadable = np.zeros(len(ids), dtype=bool)
    for (kind, field), name in compiled.unreadable.items():
        flagged = (rows[name][marked][order].astype(np.int64) == 1) & ~has_problem
        report.add(f"{kind}:{field}", int(flagged.sum()), ids[flagged], rows=0)
        unreadable |= flagged
    report.rows += int(unreadable.sum())  # a person with two unreadable values is one row left out


def evaluate(
    spec: CampaignSpec, source: Any, interval_start: dt.datetime, interval_end: dt.datetime,
    memberships: MembershipFacts | None = None,
    only_people: Collection[str] | None = None,
) -> QualificationResult:
    """Who qualifies for ``spec`` as of ``interval_end``: the semantics of ``evaluator.evaluate``, decided
    by the source database in one compiled query (``memberships``: the facts its membership filters need).
    ``only_people`` (source person ids) evaluates those people alone — a triggered run's — reading only their
    rows."""
    if not isinstance(source, SqlSource):
        # People read from Dynamics (or any in-memory frames) are already in this process: nothing to push down.
        if only_people is not None:
            source = SubsetSource(source, only_people)
        return frame_evaluate(spec, source, interval_start, interval_end, memberships)
    start, end = utc_interval(interval_start, interval_end)
    check_fields(spec, source)
    people, activities = source.tables
    compiled = compile_spec(spec, people, activities, (start, end), dialect_of(source.engine), memberships,
                            only_people)
    rows = run_query(source.engine, compiled.query)
    kind = rows[ROW_KIND].astype(np.int64)
    person = kind == PERSON_ROW
    total = int(np.flatnonzero(kind == TOTAL_ROW)[0])

    unreadable = [rows[name].astype(np.int64) == 1 for name in compiled.unreadable.values()]
    has_problem = pd.notna(rows[PROBLEM])
    valid = person & ~has_problem & ~np.logical_or.reduce(unreadable, initial=False)
    invalid = InvalidRows()
    people_less = np.flatnonzero(kind == ACTIVITY_ROW)
    if len(people_less):
        invalid.add(ACTIVITY_NULL_PERSON_ID, int(rows[WEIGHT][people_less[0]]),
                    (f"activity_id={value}" for value in rows[PERSON_ID][people_less] if value is not None))
    _invalid_people(rows, person & ~valid, compiled, invalid)
    # numpy sorts the ids as Python compares them (what the reference does)
    kept = np.flatnonzero(valid)
    order = kept[np.argsort(rows[PERSON_ID][kept], kind="stable")]
    matched = {n: rows[name][order].astype(np.int64) == 1 for n, name in compiled.flags.items()}
    counts = {n: rows[name][order].astype(np.int64) for n, name in compiled.counts.items()}
    qualified = pd.DataFrame({name: rows[name][order] for name in IDENTITY_COLUMNS})
    if not isinstance(people.c[PERSON_ID].type, sa.String):  # text ids are str already: no call per id
        qualified[PERSON_ID] = qualified[PERSON_ID].astype("str")
    qualified["reasons"] = reasons_json(list(compiled.flags), matched, counts).to_numpy()
    return QualificationResult(
        campaign_key=spec.key,
        interval_start=start,
        interval_end=end,
        qualified=qualified,
        people_scanned=int(rows[WEIGHT][total]),
        activity_rows_read=int(sum(int(rows[name][total]) for name in compiled.counts.values())),
        source_empty=not int(rows[ANYONE][total]),
        filter_matches={n: int(mask.sum()) for n, mask in matched.items()},
        invalid_rows=invalid,
    )
