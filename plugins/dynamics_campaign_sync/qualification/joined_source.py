"""People from one source, activities from another: Dataverse leads/contacts with behaviour from SQL.

The activity source counts per its own person ids; its people table says which Dynamics person each one is,
by ``dynamics_id`` or by ``email`` (``source.join_on``). Counts are re-keyed to the people source's ids
(summed when several activity-side people are one person, given to each when an email is on several people),
and everything else about people comes from the people source. Activity-side people that name no person of
the people source have no counts there, as a person without activity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import pandas as pd

from dynamics_campaign_sync.qualification.contract import DYNAMICS_ID, EMAIL, MEMBER_TYPES, PERSON_ID
from dynamics_campaign_sync.qualification.sources import (
    ActivityCounts,
    ActivityRequest,
    MissingPersonIds,
    PeopleRequest,
    Source,
)

JoinKey = Literal["dynamics_id", "email"]


def _normalized(values: pd.Series) -> pd.Series:
    return values.astype("str").str.strip().str.lower().where(values.notna())


class JoinedSource:
    """A :class:`~dynamics_campaign_sync.qualification.sources.Source`: ``people`` answers about people,
    ``activities`` about activities, joined by ``join_on``."""

    def __init__(self, people: Source, activities: Source, *, join_on: JoinKey = "dynamics_id") -> None:
        self._people = people
        self._activities = activities
        self._join_on = join_on
        self._person_by_email: pd.Series | None = None

    def people_columns(self) -> frozenset[str]:
        return self._people.people_columns()

    def has_people(self, member_types: tuple[str, ...], as_of: dt.datetime) -> bool:
        return self._people.has_people(member_types, as_of)

    def read_people(self, request: PeopleRequest) -> pd.DataFrame:
        return self._people.read_people(request)

    def activities_without_person(self, activity_types: tuple[str, ...], start: dt.datetime | None,
                                  end: dt.datetime) -> MissingPersonIds:
        return self._activities.activities_without_person(activity_types, start, end)

    def count_activities(self, request: ActivityRequest) -> ActivityCounts:
        return self.count_activities_many([request])[0]

    def count_activities_many(self, requests: Sequence[ActivityRequest]) -> list[ActivityCounts]:
        counted = self._activities.count_activities_many(requests)
        if not requests:
            return counted
        ids = pd.Index(pd.concat([c.counts for c in counted]).index.unique()) if counted else pd.Index([])
        people = self._join_keys(ids, max(r.end for r in requests))
        return [ActivityCounts(self._rekeyed(c.counts, people), c.rows) for c in counted]

    def _join_keys(self, ids: pd.Index, as_of: dt.datetime) -> pd.DataFrame:
        """``(activity-side id, people-side id)`` pairs for the counted people."""
        if not len(ids):
            return pd.DataFrame({"from": pd.Series([], dtype="str"), "to": pd.Series([], dtype="str")})
        rows = self._activities.read_people(PeopleRequest(fields=(), member_types=MEMBER_TYPES, as_of=as_of,
                                                          person_ids=ids))
        keys = pd.DataFrame({"from": rows[PERSON_ID].astype("str"), "key": _normalized(rows[self._join_on])})
        keys = keys.dropna().drop_duplicates()
        if self._join_on == DYNAMICS_ID:
            return keys.rename(columns={"key": "to"})
        by_email = self._emails(as_of)
        return keys.merge(by_email, on="key")[["from", "to"]].drop_duplicates()

    def _emails(self, as_of: dt.datetime) -> pd.DataFrame:
        """Every people-side person by lower-cased email (read once)."""
        if self._person_by_email is None:
            people = self._people.read_people(PeopleRequest(fields=(), member_types=MEMBER_TYPES, as_of=as_of))
            self._person_by_email = pd.DataFrame({"key": _normalized(people[EMAIL]),
                                                  "to": people[PERSON_ID].astype("str")}).dropna()
        return self._person_by_email

    @staticmethod
    def _rekeyed(counts: pd.Series, pairs: pd.DataFrame) -> pd.Series:
        joined = pairs.merge(pd.DataFrame({"from": counts.index.astype("str"), "n": counts.to_numpy()}), on="from")
        result = joined.groupby("to", sort=False)["n"].sum().astype("int64")
        result.index = result.index.astype("str")
        result.index.name = PERSON_ID
        return result
