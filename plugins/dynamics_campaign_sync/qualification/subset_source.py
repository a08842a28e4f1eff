"""A source limited to some people: a triggered run evaluates the full spec for the people with new activity only.

For the frame evaluator (people read from Dynamics, in-memory frames): a SQL source is narrowed inside the compiled
query instead (``compile_spec``'s ``only_people``). Every filter, the logic and the qualification rule stay the
evaluator's; this wrapper only narrows what the source answers to ``people``: activity counts are computed by the
wrapped source and then narrowed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from dynamics_campaign_sync.lazy_exports import lazy_module
from dynamics_campaign_sync.qualification.sources import (
    ActivityCounts,
    ActivityRequest,
    MissingPersonIds,
    PeopleRequest,
    Source,
)

if TYPE_CHECKING:
    import pandas as pd
else:  # on first use: the compiled evaluation answers with numpy arrays alone (see lazy_exports.lazy_module)
    pd = lazy_module("pandas")


class SubsetSource:
    """``source``, answering for ``people`` (source person ids) only."""

    def __init__(self, source: Source, people: Iterable[str]) -> None:
        self._source = source
        self.people = pd.Index(sorted(set(people)), dtype="str")

    def people_columns(self) -> frozenset[str]:
        return self._source.people_columns()

    def has_people(self, member_types: tuple[str, ...], as_of: dt.datetime) -> bool:
        # The whole source's answer: "the source is empty" is about the source, not about these people.
        return self._source.has_people(member_types, as_of)

    def read_people(self, request: PeopleRequest) -> pd.DataFrame:
        ids = self.people if request.person_ids is None else self.people.intersection(request.person_ids)
        return self._source.read_people(dataclasses.replace(request, person_ids=ids))

    def activities_without_person(self, activity_types: tuple[str, ...], start: dt.datetime | None,
                                  end: dt.datetime) -> MissingPersonIds:
        return MissingPersonIds()  # a row naming no person is none of these people's

    def count_activities(self, request: ActivityRequest) -> ActivityCounts:
        return self._narrowed(self._source.count_activities(request))

    def count_activities_many(self, requests: Sequence[ActivityRequest]) -> list[ActivityCounts]:
        return [self._narrowed(counts) for counts in self._source.count_activities_many(requests)]

    def _narrowed(self, counts: ActivityCounts) -> ActivityCounts:
        kept = counts.counts[counts.counts.index.isin(self.people)]
        return ActivityCounts(kept, int(kept.sum()))
