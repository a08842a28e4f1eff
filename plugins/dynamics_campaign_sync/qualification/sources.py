"""What the evaluator asks of a source, and an in-memory source over pandas DataFrames.

A source answers two questions: "these people, as of this time" and "how many
matching activities did each person have in this window". Keeping the second
as a *count* lets a SQL source aggregate in the database and hand over one row
per person instead of every activity row.

``DataFrameSource`` implements the contract with pandas alone; it is the
source of the tests and the reference the SQL source is checked against.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from dynamics_campaign_sync.lazy_exports import lazy_module
from dynamics_campaign_sync.qualification.contract import (
    ACTIVITY_ID,
    ACTIVITY_TYPE,
    ATTRIBUTES,
    CREATED_AT,
    IDENTITY_COLUMNS,
    MEMBER_TYPE,
    MEMBER_TYPES,
    OCCURRED_AT,
    PERSON_ID,
    UPDATED_AT,
)
from dynamics_campaign_sync.qualification.invalid_rows import MAX_EXAMPLES, missing_ids
from dynamics_campaign_sync.qualification.json_attributes import extract_attribute
from dynamics_campaign_sync.qualification.masks import ColumnValues, condition_mask
from dynamics_campaign_sync.qualification.people_versions import utc_timestamps
from dynamics_campaign_sync.spec.logic import Node
from dynamics_campaign_sync.spec.models import Condition

if TYPE_CHECKING:
    import pandas as pd
else:  # on first use: the compiled evaluation answers with numpy arrays alone (see lazy_exports.lazy_module)
    pd = lazy_module("pandas")


class SourceError(RuntimeError):
    """The source cannot answer: a table or column is missing, or the database refused."""


@dataclass(frozen=True)
class PeopleHint:
    """A necessary condition on people a source *may* use to read fewer rows.

    ``tree`` is the spec's logic; ``conditions`` maps the numbers of its
    demographic filters to their conditions (other numbers are unknown to the
    source). The evaluator re-applies every filter exactly, so a source can
    ignore the hint or use any part of it that only removes non-qualifying people.
    """

    tree: Node
    conditions: Mapping[int, Condition]


@dataclass(frozen=True)
class PeopleRequest:
    """People of ``member_types`` who existed before ``as_of``, with the columns ``fields``.

    Rows whose member type is no known type at all (NULL, a typo) are read too, so that the evaluator
    reports them instead of losing them silently.
    """

    fields: tuple[str, ...]
    member_types: tuple[str, ...]
    as_of: dt.datetime
    person_ids: pd.Index | None = None  # only these people (None: everyone)
    hint: PeopleHint | None = None

    @property
    def other_member_types(self) -> tuple[str, ...]:
        """The known member types not asked for: the only ones a read leaves out."""
        return tuple(t for t in MEMBER_TYPES if t not in self.member_types)


@dataclass(frozen=True)
class MissingPersonIds:
    """Activity rows without a person id: how many, and a few of their activity ids."""

    rows: int = 0
    activity_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActivityRequest:
    """Activities of one type in ``[start, end)`` that satisfy every condition."""

    activity_type: str
    start: dt.datetime | None
    end: dt.datetime
    conditions: tuple[Condition, ...] = ()
    as_of: dt.datetime | None = None  # for in_past conditions on attributes (default: end)

    @property
    def reference_time(self) -> dt.datetime:
        return self.as_of or self.end


@dataclass(frozen=True)
class ActivityCounts:
    """Matching activities per person (persons with none are absent) and the rows counted in total."""

    counts: pd.Series = field(
        default_factory=lambda: pd.Series([], dtype="int64", index=pd.Index([], dtype="str"))
    )
    rows: int = 0


class Source(Protocol):
    """The interface the evaluator reads people and activities through."""

    def people_columns(self) -> frozenset[str]:
        """Columns of the people table (to check demographic fields before reading)."""
        ...

    def has_people(self, member_types: tuple[str, ...], as_of: dt.datetime) -> bool:
        """Whether any person of these member types existed before ``as_of`` (the empty-source guard)."""
        ...

    def read_people(self, request: PeopleRequest) -> pd.DataFrame:
        """The people rows as stored: every version, unchecked (the evaluator screens them), with the
        identity columns, ``request.fields`` and ``updated_at`` where the table has it."""
        ...

    def activities_without_person(
        self, activity_types: tuple[str, ...], start: dt.datetime | None, end: dt.datetime
    ) -> MissingPersonIds:
        """Activity rows of these types in ``[start, end)`` whose person id is NULL or empty."""
        ...

    def count_activities(self, request: ActivityRequest) -> ActivityCounts:
        """Per person, how many activities match the request."""
        ...

    def count_activities_many(self, requests: Sequence[ActivityRequest]) -> list[ActivityCounts]:
        """``count_activities`` of each request (a source may count them concurrently)."""
        ...


def attribute_values(activities: pd.DataFrame, name: str) -> pd.Series:
    """An activity attribute: its own column if there is one, else the key of the JSON ``attributes``."""
    if name in activities.columns:
        return activities[name]
    if ATTRIBUTES in activities.columns:
        return extract_attribute(activities[ATTRIBUTES], name)
    return pd.Series([None] * len(activities), index=activities.index, dtype=object)


def conditions_mask(
    activities: pd.DataFrame, conditions: tuple[Condition, ...], as_of: dt.datetime
) -> np.ndarray:
    """Rows of ``activities`` satisfying every condition."""
    mask = np.ones(len(activities), dtype=bool)
    for condition in conditions:
        column = ColumnValues(attribute_values(activities, condition.field))
        mask &= condition_mask(column, condition.operator, condition.value, as_of,
                               empty_matches=condition.matches_empty)
    return mask


def people_columns_read(columns: pd.Index | frozenset[str], request: PeopleRequest) -> list[str]:
    """The columns ``read_people`` returns: identity columns, the requested fields, ``updated_at``."""
    versioned = (UPDATED_AT,) if UPDATED_AT in columns else ()
    return list(dict.fromkeys((*IDENTITY_COLUMNS, *request.fields, *versioned)))


def count_by_person(person_ids: pd.Series) -> pd.Series:
    """Occurrences of each person id, as an int64 Series indexed by person id."""
    counts = person_ids.value_counts(sort=False)
    counts.index = counts.index.astype("str")
    counts.index.name = PERSON_ID
    return counts.astype("int64")


class DataFrameSource:
    """A source over in-memory ``people`` and ``activities`` frames laid out as the table contract."""

    def __init__(self, people: pd.DataFrame, activities: pd.DataFrame | None = None) -> None:
        self._people = people.reset_index(drop=True)
        activities = (
            activities if activities is not None else pd.DataFrame(columns=[PERSON_ID, ACTIVITY_TYPE])
        )
        self._activities = activities.reset_index(drop=True)
        occurred = self._activities.get(OCCURRED_AT, pd.Series([], dtype=object))
        self._occurred = utc_timestamps(occurred).reset_index(drop=True)

    def people_columns(self) -> frozenset[str]:
        return frozenset(self._people.columns)

    def _created_before(self, as_of: dt.datetime) -> np.ndarray:
        people = self._people
        if CREATED_AT not in people.columns:
            return np.ones(len(people), dtype=bool)
        created = utc_timestamps(people[CREATED_AT])
        return np.array(created.isna() | (created < as_of), dtype=bool)

    def has_people(self, member_types: tuple[str, ...], as_of: dt.datetime) -> bool:
        of_types = self._people[MEMBER_TYPE].isin(member_types).to_numpy(dtype=bool)
        return bool((of_types & self._created_before(as_of)).any())

    def read_people(self, request: PeopleRequest) -> pd.DataFrame:
        people = self._people
        missing = [c for c in (*IDENTITY_COLUMNS, *request.fields) if c not in people.columns]
        if missing:
            raise SourceError(f"people frame has no column {', '.join(map(repr, missing))}")
        keep = self._created_before(request.as_of)
        keep &= ~people[MEMBER_TYPE].isin(request.other_member_types).to_numpy(dtype=bool)
        if request.person_ids is not None:
            keep &= people[PERSON_ID].isin(request.person_ids).to_numpy(dtype=bool)
        return people.loc[keep, people_columns_read(people.columns, request)].reset_index(drop=True)

    def activities_without_person(
        self, activity_types: tuple[str, ...], start: dt.datetime | None, end: dt.datetime
    ) -> MissingPersonIds:
        activities = self._activities
        if activities.empty:
            return MissingPersonIds()
        found = missing_ids(activities[PERSON_ID]) & self._in_window(start, end)
        found &= activities[ACTIVITY_TYPE].isin(activity_types).to_numpy(dtype=bool)
        ids = activities.loc[found, ACTIVITY_ID] if ACTIVITY_ID in activities.columns else pd.Series([])
        return MissingPersonIds(int(found.sum()), tuple(str(i) for i in ids.head(MAX_EXAMPLES)))

    def _in_window(self, start: dt.datetime | None, end: dt.datetime) -> np.ndarray:
        inside = np.array(self._occurred < end, dtype=bool)
        if start is not None:
            inside &= (self._occurred >= start).to_numpy(dtype=bool)
        return inside

    def count_activities(self, request: ActivityRequest) -> ActivityCounts:
        activities = self._activities
        if activities.empty:
            return ActivityCounts()
        in_window = np.array(activities[ACTIVITY_TYPE] == request.activity_type, dtype=bool)
        in_window &= self._in_window(request.start, request.end)
        candidates = activities.loc[in_window]
        matched = conditions_mask(candidates, request.conditions, request.reference_time)
        counts = count_by_person(candidates[PERSON_ID][matched])
        return ActivityCounts(counts=counts, rows=int(matched.sum()))

    def count_activities_many(self, requests: Sequence[ActivityRequest]) -> list[ActivityCounts]:
        return [self.count_activities(request) for request in requests]
