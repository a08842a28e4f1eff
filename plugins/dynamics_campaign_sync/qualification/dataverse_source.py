"""The Dataverse people source: leads' and contacts' own columns, read from Dynamics, as the people table.

Each person is one lead or contact: ``person_id`` and ``dynamics_id`` are its id, ``email`` its
``emailaddress1``, ``created_at`` its ``createdon``; a demographic filter's ``field`` is a Web API column name
(``jobtitle``, ``industrycode``, ``address1_country``, ``numberofemployees``, ``leadsourcecode``,
``_ownerid_value`` ...). Only the identity columns and the columns the spec's filters use are selected.

Two ways to read, by ``source.change_tracking``:

* with change tracking (default), the first run reads the whole table with ``Prefer: odata.track-changes`` and
  keeps it, with the delta link, in the ledger (:mod:`~dynamics_campaign_sync.ledger.deltas`); each later run
  reads only what changed since and applies it, so the snapshot always equals a full read. Dataverse takes only
  ``$select`` with change tracking, so every filter is evaluated here.
* without, each run reads with a ``$filter`` built from the demographic filters that OData can express
  (:mod:`.odata_pushdown`); the evaluator applies every filter exactly afterwards, so both ways qualify the same
  people.

Column types come from the table's attribute metadata (one request per table and run), which also lets the
evaluator name a column that does not exist before anything is read. Dynamics holds current values only: a
backfill sees today's demographics (as with a snapshot people table).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import pandas as pd

from dynamics_campaign_sync.dataverse import tracked_reads
from dynamics_campaign_sync.member_types import MemberType
from dynamics_campaign_sync.qualification.contract import (
    CREATED_AT,
    DYNAMICS_ID,
    EMAIL,
    MEMBER_TYPE,
    PERSON_ID,
)
from dynamics_campaign_sync.qualification.odata_pushdown import instant_literal, people_filter
from dynamics_campaign_sync.qualification.sources import (
    ActivityCounts,
    ActivityRequest,
    DataFrameSource,
    MissingPersonIds,
    PeopleRequest,
    SourceError,
)

log = logging.getLogger(__name__)

#: Columns every read selects besides the key: the identity the sync needs and the as-of check.
IDENTITY_SELECT = ("emailaddress1", "createdon")
_IDENTITY = (PERSON_ID, MEMBER_TYPE, DYNAMICS_ID, EMAIL, CREATED_AT)


class SnapshotStore(Protocol):
    """Where tracked reads keep their snapshot and delta link (the ledger)."""

    def people_snapshot(self, scope: str) -> Any: ...

    def save_people_snapshot(self, scope: str, *, columns: Sequence[str], delta_link: str,
                             changed: dict[str, dict[str, Any]], deleted: Sequence[str], replace: bool) -> int: ...


@dataclass
class ReadStats:
    """What the reads of one source cost: requests, pages, records received, and how each table was read."""

    requests: int = 0
    pages: int = 0
    records: int = 0
    reads: dict[str, str] = field(default_factory=dict)  # entity set -> "full" | "delta" | "filtered"

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "pages": self.pages, "records": self.records, "reads": dict(self.reads)}


class DataverseSource:
    """A :class:`~dynamics_campaign_sync.qualification.sources.Source` whose people are Dataverse leads/contacts
    (``client``: a :class:`~dynamics_campaign_sync.dataverse.DataverseClient`). It has no activities; see
    :mod:`.joined_source` for behaviour filters. ``snapshots`` is required with ``change_tracking``."""

    def __init__(self, client: Any, *, member_types: Sequence[str], columns: Sequence[str], scope: str,
                 change_tracking: bool = True, snapshots: SnapshotStore | None = None, page_size: int = 5000
                 ) -> None:
        if change_tracking and snapshots is None:
            raise ValueError("change tracking keeps its snapshot in the ledger: pass snapshots")
        self._client = client
        self._types = tuple(MemberType(t) for t in member_types)
        self._columns = tuple(dict.fromkeys(c for c in columns if c not in _IDENTITY))
        self._scope = scope
        self._tracking = change_tracking
        self._snapshots = snapshots
        self._page_size = page_size
        self._snapshot_frames: dict[MemberType, pd.DataFrame] = {}
        self.stats = ReadStats()

    @classmethod
    def for_spec(cls, spec: Any, client: Any, snapshots: SnapshotStore | None) -> DataverseSource:
        """The source a spec's ``source`` section (``people: dataverse``) describes; its snapshots are the
        spec's own (scope: the spec key)."""
        from dynamics_campaign_sync.spec.models import DemographicFilter

        columns = [flt.field for _, flt in spec.rules.numbered() if isinstance(flt, DemographicFilter)]
        return cls(client, member_types=spec.member_types, columns=columns, scope=spec.key,
                   change_tracking=spec.source.change_tracking, snapshots=snapshots,
                   page_size=spec.source.page_size)

    # -- the Source protocol -----------------------------------------------------------------------------

    def people_columns(self) -> frozenset[str]:
        """The columns every table read has (a spec reading leads and contacts may use only shared ones)."""
        columns = [frozenset(types) for types in self._column_types.values()]
        return frozenset.intersection(*columns) | {PERSON_ID, MEMBER_TYPE, DYNAMICS_ID, EMAIL, CREATED_AT}

    def has_people(self, member_types: tuple[str, ...], as_of: dt.datetime) -> bool:
        kinds = [kind for kind in self._types if kind.value in member_types]
        if self._tracking:
            return any(DataFrameSource(self._snapshot(kind)).has_people(member_types, as_of) for kind in kinds)
        return any(self._counted(lambda kind=kind: self._client.transport.get_json(kind.entity_set, params={
            "$select": kind.key, "$filter": _created_before(as_of), "$top": "1"}))["value"] for kind in kinds)

    def read_people(self, request: PeopleRequest) -> pd.DataFrame:
        fields = tuple(f for f in request.fields if f not in _IDENTITY)
        unknown = [f for f in fields if f not in self._columns]
        if unknown:
            raise SourceError(f"{self._scope}: column(s) {', '.join(unknown)} were not among the spec's columns")
        frames = [self._snapshot(kind) if self._tracking else self._filtered(kind, fields, request)
                  for kind in self._types if kind.value in request.member_types]
        people = pd.concat(frames, ignore_index=True) if frames else _empty(fields)
        return DataFrameSource(people).read_people(request)

    def activities_without_person(self, activity_types: tuple[str, ...], start: dt.datetime | None,
                                  end: dt.datetime) -> MissingPersonIds:
        return MissingPersonIds()

    def count_activities(self, request: ActivityRequest) -> ActivityCounts:
        raise SourceError("the Dataverse people source has no activities: behaviour and inactivity filters read "
                          "them from the SQL connection (source.conn_id), joined by source.join_on")

    def count_activities_many(self, requests: Sequence[ActivityRequest]) -> list[ActivityCounts]:
        return [self.count_activities(request) for request in requests]

    # -- reading ------------------------------------------------------------------------------------------

    @cached_property
    def _column_types(self) -> dict[MemberType, dict[str, str]]:
        return {kind: self._counted(lambda kind=kind: tracked_reads.attribute_types(self._client.transport,
                                                                                     kind.value))
                for kind in self._types}

    def _counted(self, read: Any) -> Any:
        before = self._client.stats.requests
        try:
            return read()
        finally:
            self.stats.requests += self._client.stats.requests - before

    def _select(self, kind: MemberType, fields: Sequence[str]) -> list[str]:
        return list(dict.fromkeys((kind.key, *IDENTITY_SELECT, *fields)))

    def _snapshot(self, kind: MemberType) -> pd.DataFrame:
        """The table with the spec's columns, synced with Dataverse once per source."""
        if kind not in self._snapshot_frames:
            self._snapshot_frames[kind] = self._tracked(kind)
        return self._snapshot_frames[kind]

    def _tracked(self, kind: MemberType) -> pd.DataFrame:
        assert self._snapshots is not None
        scope = f"{self._scope}/{kind.entity_set}"
        select = self._select(kind, self._columns)
        snapshot = self._snapshots.people_snapshot(scope)
        changes = None
        if snapshot is not None and sorted(snapshot.columns) == sorted(select):
            try:
                changes = self._counted(lambda: tracked_reads.read_delta(
                    self._client.transport, snapshot.delta_link, self._page_size))
                self.stats.reads[kind.entity_set] = "delta"
            except tracked_reads.DeltaLinkExpiredError as error:
                log.warning("%s: %s; reading every %s again", scope, error, kind.entity_set)
        if changes is None:
            changes = self._counted(lambda: tracked_reads.read_tracked(
                self._client.transport, kind.entity_set, select, self._page_size))
            self.stats.reads[kind.entity_set] = "full"
            snapshot = None
        self.stats.pages += changes.pages
        self.stats.records += len(changes.records)
        changed = {str(r[kind.key]).lower(): {c: r.get(c) for c in select} for r in changes.records}
        self._snapshots.save_people_snapshot(scope, columns=select, delta_link=changes.delta_link,
                                             changed=changed, deleted=changes.deleted, replace=snapshot is None)
        records = dict(snapshot.records) if snapshot is not None else {}
        for record_id in changes.deleted:
            records.pop(record_id, None)
        records.update(changed)
        return _people_frame(kind, list(records.values()), self._columns)

    def _filtered(self, kind: MemberType, fields: tuple[str, ...], request: PeopleRequest) -> pd.DataFrame:
        """One read with the ``$filter`` the spec's demographic filters imply, of people created before as-of."""
        odata_filter = _created_before(request.as_of)
        hint = request.hint and people_filter(request.hint.tree, request.hint.conditions, self._column_types[kind],
                                              request.as_of)
        if hint:
            odata_filter += f" and ({hint})"
        changes = self._counted(lambda: tracked_reads.read_filtered(
            self._client.transport, kind.entity_set, self._select(kind, fields), odata_filter, self._page_size))
        self.stats.reads[kind.entity_set] = "filtered" if hint else "full"
        self.stats.pages += changes.pages
        self.stats.records += len(changes.records)
        return _people_frame(kind, changes.records, fields)


def _created_before(as_of: dt.datetime) -> str:
    """Records created before ``as_of`` (rounded up to a whole second, as Dataverse keeps them)."""
    return f"createdon lt {instant_literal(as_of, up=True)}"


def _empty(fields: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=[*_IDENTITY, *fields])


def _people_frame(kind: MemberType, records: list[dict[str, Any]], fields: Sequence[str]) -> pd.DataFrame:
    """Records as rows of the people table contract, with ``fields`` as Dataverse sent them."""
    if not records:
        return _empty(fields)
    raw = pd.DataFrame.from_records(records)
    ids = raw[kind.key].astype("str").str.lower()
    frame = pd.DataFrame({PERSON_ID: ids, MEMBER_TYPE: kind.value, DYNAMICS_ID: ids,
                          EMAIL: raw.get("emailaddress1"), CREATED_AT: raw.get("createdon")})
    for name in fields:
        frame[name] = raw[name] if name in raw.columns else None
    return frame
