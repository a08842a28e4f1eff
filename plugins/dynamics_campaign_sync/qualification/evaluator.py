"""Evaluating a spec's smart list as of an interval end: who qualifies, and why.

As-of semantics, which make backfills reproducible: the evaluation of the
interval ``[interval_start, interval_end)`` sees only activities that occurred
before ``interval_end`` (behaviour windows end there, start inclusive, end
exclusive), and only people created before it, described by their version
valid at that time (see ``people_versions`` for the snapshot limitation).
Evaluating the interval ending 2026-06-01 therefore gives the same answer
today and next year.

The work is vectorized: each activity filter becomes a count per person
(computed by the source, in SQL where possible), each demographic filter a
boolean mask over the people frame, and the logic combines the masks.

Invalid source rows (no person id, duplicates, text where a filter compares
numbers or dates …) are left out and reported, never absorbed: see
``invalid_rows``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from dynamics_campaign_sync.lazy_exports import lazy_module
from dynamics_campaign_sync.qualification.contract import (
    DYNAMICS_ID,
    EMAIL,
    IDENTITY_COLUMNS,
    MEMBER_TYPE,
    MEMBER_TYPES,
    PERSON_ID,
)
from dynamics_campaign_sync.qualification.invalid_rows import (
    ACTIVITY_NULL_PERSON_ID,
    NOT_A_DATE,
    NOT_NUMERIC,
    InvalidRows,
    missing_ids,
    screen_people,
)
from dynamics_campaign_sync.qualification.logic import (
    evaluate_logic,
    possibly_true,
    qualifies_without_behaviour,
)
from dynamics_campaign_sync.qualification.masks import ColumnValues, condition_mask
from dynamics_campaign_sync.qualification.memberships import MembershipFacts, check_facts, membership_mask
from dynamics_campaign_sync.qualification.reasons import Reasons, parse_reasons, reasons_json
from dynamics_campaign_sync.qualification.sources import (
    ActivityCounts,
    ActivityRequest,
    PeopleHint,
    PeopleRequest,
    Source,
    SourceError,
)
from dynamics_campaign_sync.spec.logic import Node
from dynamics_campaign_sync.spec.models import (
    BehaviourFilter,
    CampaignSpec,
    DemographicFilter,
    InactivityFilter,
    MembershipFilter,
)
from dynamics_campaign_sync.spec.operators import ORDERING, ValueKind
from dynamics_campaign_sync.utc import aware_utc

if TYPE_CHECKING:
    import pandas as pd
else:  # on first use: the compiled evaluation answers with numpy arrays alone (see lazy_exports.lazy_module)
    pd = lazy_module("pandas")

QUALIFIED_COLUMNS = (*IDENTITY_COLUMNS, "reasons")
#: The invalid-row kind of a value that a filter of this comparison kind cannot place in order.
_UNREADABLE = {ValueKind.NUMBER: NOT_NUMERIC, ValueKind.DAY: NOT_A_DATE, ValueKind.INSTANT: NOT_A_DATE,
               ValueKind.RELATIVE: NOT_A_DATE}


def _orders(flt: DemographicFilter) -> bool:
    """Whether the filter places its column's values in order as numbers or dates."""
    return flt.operator in ORDERING and flt.kind in _UNREADABLE


@dataclass(frozen=True)
class QualifiedColumns:
    """The qualified people as the compiled query returned them, one array per column: made into a frame only
    when one is asked for, so a process that needs the ids and reasons alone never imports pandas."""

    person_ids: np.ndarray  # object: text
    member_type_codes: np.ndarray  # positions in ``MEMBER_TYPES``
    dynamics_ids: np.ndarray  # object: text or None
    emails: np.ndarray  # object: text or None
    reasons: Reasons

    def frame(self) -> pd.DataFrame:
        """The columns of ``QualificationResult.qualified``, without a copy or a check per value."""
        member_types = pd.Categorical.from_codes(
            self.member_type_codes, categories=pd.Index([t.value for t in MEMBER_TYPES], dtype=object))
        return pd.DataFrame({
            PERSON_ID: pd.Series(self.person_ids, dtype=object, copy=False),
            MEMBER_TYPE: member_types,
            DYNAMICS_ID: pd.Series(self.dynamics_ids, dtype=object, copy=False),
            EMAIL: pd.Series(self.emails, dtype=object, copy=False),
            "reasons": self.reasons.categorical(),
        }, copy=False)


@dataclass(frozen=True)
class QualificationResult:
    """The qualified people of one evaluation, with reasons and what it took to find them.

    ``qualified`` has the columns ``person_id``, ``member_type``,
    ``dynamics_id``, ``email`` and ``reasons`` (JSON texts as a categorical,
    see ``reasons``); this evaluator sorts it by ``person_id``, the compiled
    one keeps the database's order (``compiler.evaluate``) and gives its
    columns (``qualified_people``), made into that frame on first use.

    ``people_scanned`` counts the people rows read; sources read only people
    who can still qualify, so it may be 0 for a full source. The empty-source
    guard must use ``source_empty``: no person of the spec's member types
    existed before the interval end. ``invalid_rows`` reports the rows left
    out (see ``invalid_rows``).
    """

    campaign_key: str
    interval_start: dt.datetime
    interval_end: dt.datetime
    qualified_people: pd.DataFrame | QualifiedColumns
    people_scanned: int
    activity_rows_read: int
    source_empty: bool
    filter_matches: dict[int, int] = field(default_factory=dict)
    invalid_rows: InvalidRows = field(default_factory=InvalidRows)

    @cached_property
    def qualified(self) -> pd.DataFrame:
        people = self.qualified_people
        return people.frame() if isinstance(people, QualifiedColumns) else people

    @property
    def qualified_ids(self) -> list[str]:
        return self._person_ids.tolist()

    @property
    def qualified_count(self) -> int:
        return len(self._person_ids)

    @property
    def _person_ids(self) -> Any:
        """The qualified people's ids, read without making the frame."""
        people = self.qualified_people
        return people.person_ids if isinstance(people, QualifiedColumns) else people[PERSON_ID]

    def reasons_for(self, person_id: str) -> dict[str, Any]:
        """The reasons of one qualified person as a dict (KeyError if not qualified)."""
        rows = self.qualified.loc[self.qualified[PERSON_ID] == person_id, "reasons"]
        if rows.empty:
            raise KeyError(person_id)
        return parse_reasons(rows.iloc[0])

    def summary(self) -> dict[str, Any]:
        """Small JSON-serialisable numbers for logs, XComs and asset extras."""
        return {
            "campaign_key": self.campaign_key,
            "interval_start": self.interval_start.isoformat(),
            "interval_end": self.interval_end.isoformat(),
            "qualified": self.qualified_count,
            "people_scanned": self.people_scanned,
            "activity_rows_read": self.activity_rows_read,
            "source_empty": self.source_empty,
            "filter_matches": {str(number): count for number, count in self.filter_matches.items()},
            "invalid_rows": self.invalid_rows.rows,
        }


def utc_interval(interval_start: dt.datetime, interval_end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The interval in UTC; naive datetimes and a start after the end are errors."""
    start = aware_utc(interval_start, "interval_start")
    end = aware_utc(interval_end, "interval_end")
    if start > end:
        raise ValueError(f"interval_start {start.isoformat()} is after interval_end {end.isoformat()}")
    return start, end


def unknown_fields(spec: CampaignSpec, columns: frozenset[str] | set[str]) -> list[str]:
    """``rules.filters[N].field: ...`` for each demographic filter naming a column the people lack."""
    return [f"rules.filters[{number}].field: {flt.field!r} is not a column of the people table (columns: "
            f"{', '.join(sorted(columns))})"
            for number, flt in spec.rules.numbered() if isinstance(flt, DemographicFilter) and flt.field not in columns]


def check_fields(spec: CampaignSpec, source: Source) -> None:
    found = unknown_fields(spec, source.people_columns())
    if found:
        raise SourceError(f"{spec.key}: {found[0]}")


def _behaviour_matches(flt: BehaviourFilter, counts: np.ndarray) -> np.ndarray:
    """Whether each count satisfies the filter's min_times/max_times."""
    hit = counts >= flt.min_times
    if flt.max_times is not None:
        hit &= counts <= flt.max_times
    return hit


def _activity_matches(flt: BehaviourFilter | InactivityFilter, counts: np.ndarray) -> np.ndarray:
    """Whether each count satisfies a behaviour filter (min/max times) or an inactivity filter (none)."""
    return _behaviour_matches(flt, counts) if isinstance(flt, BehaviourFilter) else counts == 0


def _candidates(
    spec: CampaignSpec, tree: Node, activity: dict[int, ActivityCounts]
) -> tuple[pd.Index | None, dict[int, ActivityCounts]]:
    """The only people who can qualify, when the logic needs a behaviour match (None: anyone can),
    and the activity counts of those people alone.

    People matching some behaviour filter, then only those whose activity
    still lets the logic be true whatever their demographics: an inactivity
    filter in an ``and`` typically leaves a fraction of them, and reading a
    person costs far more than testing their counts here. Their counts are kept
    alone (``rows`` unchanged) because the people read are among them, and
    looking up a few thousand people in every counted person's id (often
    hundreds of thousands for an inactivity filter) would be done again for each filter.
    """
    if qualifies_without_behaviour(tree, spec):
        return None, activity
    matching = []
    for number, flt in spec.rules.numbered():
        if isinstance(flt, BehaviourFilter):
            counts = activity[number].counts
            matching.append(counts.index[_behaviour_matches(flt, counts.to_numpy())])
    candidates = matching[0].append(matching[1:]).unique()
    aligned = {number: _counts_for(candidates, counts) for number, counts in activity.items()}
    known = {
        number: _activity_matches(flt, aligned[number])
        for number, flt in spec.rules.numbered()
        if isinstance(flt, BehaviourFilter | InactivityFilter)
    }
    keep = possibly_true(tree, known, len(candidates))
    candidates = candidates[keep]
    kept = {}
    for number, counts in activity.items():
        values = aligned[number][keep]
        present = values > 0
        kept[number] = ActivityCounts(pd.Series(values[present], index=candidates[present]), counts.rows)
    return candidates, kept


def _activity_counts(
    spec: CampaignSpec, source: Source, start: dt.datetime, end: dt.datetime
) -> dict[int, ActivityCounts]:
    """Counts of every behaviour and inactivity filter, asked together: they are independent."""
    requests = {}
    for number, flt in spec.rules.numbered():
        if isinstance(flt, BehaviourFilter | InactivityFilter):
            window_start, window_end = flt.bounds(start, end)
            requests[number] = ActivityRequest(flt.activity, window_start, window_end, flt.where, as_of=end)
    return dict(zip(requests, source.count_activities_many(list(requests.values())), strict=True))


def _without_missing_ids(
    spec: CampaignSpec,
    source: Source,
    bounds: tuple[dt.datetime, dt.datetime],
    activity: dict[int, ActivityCounts],
    report: InvalidRows,
) -> dict[int, ActivityCounts]:
    """The counts without activity rows that name no person (counted in ``report``): left in, they would all
    count for one made-up person. The source is asked once, through its person id index, so the counts
    are only scanned when such rows exist."""
    filters = [flt for _, flt in spec.rules.numbered() if isinstance(flt, BehaviourFilter | InactivityFilter)]
    if not filters:
        return activity
    starts = [flt.bounds(*bounds)[0] for flt in filters]
    earliest = None if None in starts else min(start for start in starts if start is not None)
    types = tuple(dict.fromkeys(flt.activity for flt in filters))
    found = source.activities_without_person(types, earliest, bounds[1])
    if not found.rows:
        return activity
    report.add(ACTIVITY_NULL_PERSON_ID, found.rows, (f"activity_id={i}" for i in found.activity_ids))
    kept = {}
    for number, counts in activity.items():
        named = ~missing_ids(counts.counts.index)
        kept[number] = ActivityCounts(counts.counts[named], counts.rows)
    return kept


def _unreadable(column: ColumnValues, kind: str) -> np.ndarray | None:
    """Distinct values that are not blank and yet no number (``kind`` not_numeric) or no date; None when the
    column's type rules that out."""
    dtype_kind = column.uniques.dtype.kind
    if kind == NOT_NUMERIC:
        if dtype_kind in "iufb":
            return None
        unparsed = np.isnan(column.numbers)
    else:
        if dtype_kind == "M":
            return None
        unparsed = np.asarray(column.instants.isna(), dtype=bool)
    return unparsed & ~column.empty


def _unreadable_values(
    demographic: dict[int, DemographicFilter], columns: dict[str, ColumnValues], person_ids: pd.Series,
    report: InvalidRows,
) -> np.ndarray | None:
    """People whose value in a column that a filter orders as numbers or dates is neither (say ``'n/a'`` in
    ``company_size``), counted per column in ``report``; None when there are none."""
    excluded: np.ndarray | None = None
    for field_name, kind in dict.fromkeys(
        (flt.field, _UNREADABLE[flt.kind]) for flt in demographic.values() if _orders(flt)
    ):
        column = columns[field_name]
        unreadable = _unreadable(column, kind)
        if unreadable is None or not unreadable.any():
            continue
        rows = column.broadcast(unreadable, null_value=False)
        report.add(f"{kind}:{field_name}", int(rows.sum()), person_ids[rows], rows=0)
        excluded = rows if excluded is None else excluded | rows
    if excluded is not None:
        report.rows += int(excluded.sum())  # a person with two unreadable values is one row left out
    return excluded


def _screened_people(
    request: PeopleRequest, source: Source, demographic: dict[int, DemographicFilter], report: InvalidRows
) -> tuple[pd.DataFrame, dict[str, ColumnValues], int]:
    """The valid people (one row each), their demographic columns factorized, and how many people were
    scanned: the valid ones and the rows left out as invalid."""
    invalid_before = report.rows
    people = screen_people(source.read_people(request), request.as_of, report)
    columns = {name: ColumnValues(people[name]) for name in request.fields}
    unreadable = _unreadable_values(demographic, columns, people[PERSON_ID], report)
    if unreadable is not None:
        people = people.loc[~unreadable]
        columns = {name: ColumnValues(people[name]) for name in request.fields}
    return people.reset_index(drop=True), columns, len(people) + report.rows - invalid_before


def _counts_for(people_ids: pd.Index, counts: ActivityCounts) -> np.ndarray:
    """Counts aligned with the people rows (0 for people without activity)."""
    aligned = np.zeros(len(people_ids), dtype=np.int64)
    values = counts.counts.to_numpy()
    if people_ids.is_unique:  # hash the people, usually far fewer than the people counted
        positions = people_ids.get_indexer(counts.counts.index)
        found = positions >= 0
        aligned[positions[found]] = values[found]
        return aligned
    positions = counts.counts.index.get_indexer(people_ids)
    found = positions >= 0
    aligned[found] = values[positions[found]]
    return aligned


def evaluate(
    spec: CampaignSpec,
    source: Source,
    interval_start: dt.datetime,
    interval_end: dt.datetime,
    memberships: MembershipFacts | None = None,
) -> QualificationResult:
    """Who qualifies for ``spec`` as of ``interval_end`` (see the module docstring for the rules);
    ``memberships`` are the facts its membership filters need (see ``memberships``)."""
    start, end = utc_interval(interval_start, interval_end)
    memberships = check_facts(spec, memberships)
    check_fields(spec, source)
    tree = spec.rules.tree
    numbered = spec.rules.numbered()
    invalid = InvalidRows()
    activity = _activity_counts(spec, source, start, end)
    activity = _without_missing_ids(spec, source, (start, end), activity, invalid)

    candidates, activity = _candidates(spec, tree, activity)
    demographic = {n: flt for n, flt in numbered if isinstance(flt, DemographicFilter)}
    fields = tuple(dict.fromkeys(flt.field for flt in demographic.values()))
    request = PeopleRequest(
        fields=fields,
        member_types=spec.member_types,
        as_of=end,
        person_ids=candidates,
        hint=PeopleHint(tree, demographic),
    )
    people, columns, people_scanned = _screened_people(request, source, demographic, invalid)
    person_ids = pd.Index(people[PERSON_ID])

    matched: dict[int, np.ndarray] = {}
    aligned_counts: dict[int, np.ndarray] = {}
    for number, flt in numbered:
        if isinstance(flt, DemographicFilter):
            matched[number] = condition_mask(columns[flt.field], flt.operator, flt.value, end,
                                             empty_matches=flt.matches_empty)
        elif isinstance(flt, MembershipFilter):
            matched[number] = membership_mask(people[DYNAMICS_ID], memberships.ids_for(flt))
        else:
            count = _counts_for(person_ids, activity[number])
            aligned_counts[number] = count
            matched[number] = _activity_matches(flt, count)

    qualified_mask = evaluate_logic(tree, matched) if len(people) else np.zeros(0, dtype=bool)
    qualified = people.loc[qualified_mask, list(IDENTITY_COLUMNS)].reset_index(drop=True)
    numbers = [number for number, _ in numbered]
    qualified["reasons"] = reasons_json(
        numbers,
        {n: mask[qualified_mask] for n, mask in matched.items()},
        {n: values[qualified_mask] for n, values in aligned_counts.items()},
    )
    qualified = qualified.sort_values(PERSON_ID, kind="stable").reset_index(drop=True)
    return QualificationResult(
        campaign_key=spec.key,
        interval_start=start,
        interval_end=end,
        qualified_people=qualified,
        people_scanned=people_scanned,
        activity_rows_read=sum(counts.rows for counts in activity.values()),
        source_empty=not source.has_people(spec.member_types, end),
        filter_matches={number: int(mask.sum()) for number, mask in matched.items()},
        invalid_rows=invalid,
    )
