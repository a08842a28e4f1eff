"""Evaluating a spec with its compiled query: the database decides, pandas only shapes the answer.

Same contract as the pandas evaluator (``evaluator.evaluate``): a :class:`QualificationResult` with the
qualified people (sorted by id) and their reasons, the invalid rows left out, and what was read.
``people_scanned`` counts the people the query evaluated (everyone of the spec's member types, or only
the people with a behaviour match when the logic needs one) plus the invalid rows; ``filter_matches``
counts, per filter, the qualified people it matched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dynamics_campaign_sync.qualification.compiler.dialects import dialect_of, prepare_connection
from dynamics_campaign_sync.qualification.compiler.people import PROBLEM, WEIGHT
from dynamics_campaign_sync.qualification.compiler.query import (
    ANYONE,
    PERSON_ROW,
    ROW_KIND,
    CompiledSpec,
    compile_spec,
)
from dynamics_campaign_sync.qualification.contract import DYNAMICS_ID, IDENTITY_COLUMNS, PERSON_ID
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
from dynamics_campaign_sync.spec.models import BehaviourFilter, CampaignSpec, InactivityFilter


def run_query(engine: sa.Engine, query: Any) -> pd.DataFrame:
    """The rows of ``query`` as a DataFrame: column-wise from DuckDB (no Python object per value), from
    the DBAPI cursor's tuples elsewhere."""
    compiled = query.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    names = [column.name for column in query.selected_columns]
    raw = engine.raw_connection()
    try:
        prepare_connection(raw.driver_connection, engine.dialect.name)
        cursor = raw.cursor()
        cursor.execute(str(compiled), params)
        if engine.dialect.name == "duckdb":  # the cursor is the DuckDB connection's, which has df()
            frame = cursor.df()
            frame.columns = names
        else:
            frame = pd.DataFrame.from_records(cursor.fetchall(), columns=names)
        cursor.close()
    except engine.dialect.loaded_dbapi.Error as error:
        raise SourceError(f"reading the source failed: {type(error).__name__}: {error}") from None
    finally:
        raw.close()
    return frame


def _invalid_people(rows: pd.DataFrame, compiled: CompiledSpec, report: InvalidRows) -> None:
    """Count the people rows the query marked (problem, or a value a filter cannot order) in ``report``."""
    for problem, group in rows[rows[PROBLEM].notna()].groupby(PROBLEM, sort=False):
        examples = group[PERSON_ID]
        if problem == NULL_PERSON_ID:
            examples = ("dynamics_id=" + group[DYNAMICS_ID].astype("str")).dropna()
        report.add(str(problem), int(group[WEIGHT].sum()), examples)
    unreadable = np.zeros(len(rows), dtype=bool)
    for (kind, field), name in compiled.unreadable.items():
        marked = (rows[name].to_numpy() == 1) & rows[PROBLEM].isna().to_numpy()
        report.add(f"{kind}:{field}", int(marked.sum()), rows.loc[marked, PERSON_ID], rows=0)
        unreadable |= marked
    report.rows += int(unreadable.sum())  # a person with two unreadable values is one row left out


def _missing_person_ids(spec: CampaignSpec, source: SqlSource, bounds: tuple[dt.datetime, dt.datetime],
                        report: InvalidRows) -> None:
    """Activity rows of the spec's types and windows without a person id: they count for nobody."""
    filters = [flt for _, flt in spec.rules.numbered() if isinstance(flt, BehaviourFilter | InactivityFilter)]
    if not filters:
        return
    starts = [flt.bounds(*bounds)[0] for flt in filters]
    earliest = None if None in starts else min(start for start in starts if start is not None)
    types = tuple(dict.fromkeys(flt.activity for flt in filters))
    found = source.activities_without_person(types, earliest, bounds[1])
    report.add(ACTIVITY_NULL_PERSON_ID, found.rows, (f"activity_id={i}" for i in found.activity_ids))


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
    person = rows[ROW_KIND].to_numpy(dtype=object) == PERSON_ROW  # the one other row holds the totals
    totals = rows.iloc[int(np.flatnonzero(~person)[0])]

    unreadable = [rows[name].to_numpy() == 1 for name in compiled.unreadable.values()]
    valid = person & rows[PROBLEM].isna().to_numpy() & ~np.logical_or.reduce(unreadable, initial=False)
    invalid = InvalidRows()
    if only_people is None:  # an activity naming no person is none of the given people's
        _missing_person_ids(spec, source, (start, end), invalid)
    # examples in id order, as the reference gives them (the few invalid rows: pandas sorts them)
    _invalid_people(rows.loc[person & ~valid].sort_values(PERSON_ID, kind="stable"), compiled, invalid)
    # numpy sorts the ids as Python compares them (what the reference does), faster than pandas strings
    kept = np.flatnonzero(valid)
    order = kept[np.argsort(rows[PERSON_ID].to_numpy(dtype=object)[kept], kind="stable")]
    matched = {n: rows[name].to_numpy()[order] == 1 for n, name in compiled.flags.items()}
    counts = {n: rows[name].to_numpy(dtype=np.int64)[order] for n, name in compiled.counts.items()}
    qualified = rows[list(IDENTITY_COLUMNS)].take(order).reset_index(drop=True)
    qualified[PERSON_ID] = qualified[PERSON_ID].astype("str")
    qualified["reasons"] = reasons_json(list(compiled.flags), matched, counts).to_numpy()
    return QualificationResult(
        campaign_key=spec.key,
        interval_start=start,
        interval_end=end,
        qualified=qualified,
        people_scanned=int(totals[WEIGHT]),
        activity_rows_read=int(sum(int(totals[name]) for name in compiled.counts.values())),
        source_empty=not int(totals[ANYONE]),
        filter_matches={n: int(mask.sum()) for n, mask in matched.items()},
        invalid_rows=invalid,
    )
