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
from typing import Protocol

import numpy as np
import pandas as pd

from dynamics_campaign_sync.qualification.contract import (
    ACTIVITY_TYPE,
    ATTRIBUTES,
    CREATED_AT,
    IDENTITY_COLUMNS,
    MEMBER_TYPE,
    OCCURRED_AT,
    PERSON_ID,
)
from dynamics_campaign_sync.qualification.json_attributes import extract_attribute
from dynamics_campaign_sync.qualification.logic import Node
from dynamics_campaign_sync.qualification.masks import ColumnValues, condition_mask
from dynamics_campaign_sync.qualification.people_versions import utc_timestamps, versions_as_of
from dynamics_campaign_sync.qualification.spec import Condition


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
    """People of ``member_types`` who existed before ``as_of``, with the columns ``fields``."""

    fields: tuple[str, ...]
    member_types: tuple[str, ...]
    as_of: dt.datetime
    person_ids: pd.Index | None = None  # only these people (None: everyone)
    hint: PeopleHint | None = None


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
        """One row per person: the identity columns, then ``request.fields``."""
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
        mask &= condition_mask(column, condition.operator, condition.value, as_of)
    return mask


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

    def _existing(self, member_types: tuple[str, ...], as_of: dt.datetime) -> np.ndarray:
        people = self._people
        keep = np.array(people[MEMBER_TYPE].isin(member_types), dtype=bool)
        if CREATED_AT in people.columns:
            created = utc_timestamps(people[CREATED_AT])
            keep &= (created.isna() | (created < as_of)).to_numpy(dtype=bool)
        return keep

    def has_people(self, member_types: tuple[str, ...], as_of: dt.datetime) -> bool:
        return bool(self._existing(member_types, as_of).any())

    def read_people(self, request: PeopleRequest) -> pd.DataFrame:
        people = self._people
        missing = [c for c in (*IDENTITY_COLUMNS, *request.fields) if c not in people.columns]
        if missing:
            raise SourceError(f"people frame has no column {', '.join(map(repr, missing))}")
        keep = self._existing(request.member_types, request.as_of)
        if request.person_ids is not None:
            keep &= people[PERSON_ID].isin(request.person_ids).to_numpy(dtype=bool)
        selected = versions_as_of(people.loc[keep], request.as_of)
        columns = list(dict.fromkeys((*IDENTITY_COLUMNS, *request.fields)))
        return selected[columns].reset_index(drop=True)

    def count_activities(self, request: ActivityRequest) -> ActivityCounts:
        activities = self._activities
        if activities.empty:
            return ActivityCounts()
        in_window = np.array(activities[ACTIVITY_TYPE] == request.activity_type, dtype=bool)
        in_window &= (self._occurred < request.end).to_numpy(dtype=bool)
        if request.start is not None:
            in_window &= (self._occurred >= request.start).to_numpy(dtype=bool)
        candidates = activities.loc[in_window]
        matched = conditions_mask(candidates, request.conditions, request.reference_time)
        counts = count_by_person(candidates[PERSON_ID][matched])
        return ActivityCounts(counts=counts, rows=int(matched.sum()))

    def count_activities_many(self, requests: Sequence[ActivityRequest]) -> list[ActivityCounts]:
        return [self.count_activities(request) for request in requests]
