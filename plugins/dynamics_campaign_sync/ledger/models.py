"""Read-only views of ledger rows, handed to operators, sensors and the dashboard."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from sqlalchemy import Row

from dynamics_campaign_sync.ledger.checks import BATCH, DRIFT_STATES, MEMBER

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_View = TypeVar("_View", bound="DataclassInstance")


def view_of(cls: type[_View], row: Row[Any], **given: Any) -> _View:
    """``cls`` from the row's columns of the same names as its fields; ``given`` supplies the fields whose
    column is named or stored otherwise."""
    mapping = row._mapping
    return cls(**{f.name: mapping[f.name] for f in fields(cls) if f.name not in given}, **given)


class _RowView:
    """A dataclass read from a row whose columns bear its field names (those that differ override ``from_row``)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @classmethod
    def from_row(cls, row: Row[Any]) -> Self:
        return view_of(cls, row)


@dataclass(frozen=True)
class OwnedList(_RowView):
    """The static marketing list we created for one campaign and member type, the only list we ever write to."""

    campaign_id: str
    member_type: str
    list_id: str
    list_name: str
    created_at: datetime
    association_verified_at: datetime | None


@dataclass(frozen=True)
class CampaignOwner(_RowView):
    """The spec that syncs a campaign; ``previous_key`` is the spec it took the campaign over from, if any."""

    campaign_id: str
    campaign_key: str
    claimed_at: datetime
    claimed_by_run: str
    previous_key: str | None


@dataclass(frozen=True)
class Membership(_RowView):
    """What we did to one person in one campaign: added (``member``) or later taken out (``removed``) — or what
    happened to them in Dynamics since (``deleted_in_dynamics``, ``removed_in_dynamics``: drift, noticed by the
    run ``removed_by_run`` at ``removed_at``, the reason saying why)."""

    campaign_id: str
    person_id: str
    member_type: str
    campaign_key: str
    source_person_id: str | None
    status: str
    added_at: datetime | None
    added_by_run: str | None
    removed_at: datetime | None
    removed_by_run: str | None
    reason: Mapping[str, Any] | None = field(default=None, hash=False)

    @property
    def is_member(self) -> bool:
        return self.status == MEMBER

    @property
    def is_drifted(self) -> bool:
        return self.status in DRIFT_STATES


@dataclass(frozen=True)
class IntentHead:
    """What an intent sends where, for which run: checked by the ledger facade, stored as the intent's row."""

    campaign_key: str
    campaign_id: str
    list_id: str
    member_type: str
    action: str
    run_id: str
    interval_start: datetime
    interval_end: datetime


@dataclass(frozen=True)
class Intent(IntentHead):
    """A chunk of people about to be sent to Dynamics, recorded first so that a crash cannot lose it.

    ``people`` maps each person id to the reason (matched rules) we act on them; ``source_ids`` holds the
    person's id in the qualification source where the caller gave one.
    """

    intent_id: str
    created_at: datetime
    people: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict, hash=False)
    source_ids: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class EventBatch(_RowView):
    """The adds or removes of one run for one campaign: the unit an Airflow asset event points at."""

    batch_id: str
    campaign_key: str
    campaign_id: str
    action: str
    run_id: str
    interval_start: datetime
    interval_end: datetime
    count: int
    created_at: datetime
    #: When a publish task handed the batch to Airflow as an asset event (closed from then on).
    published_at: datetime | None
    #: When the asset event was known to exist in Airflow (None: check Airflow before emitting it again).
    confirmed_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Row[Any]) -> Self:
        return view_of(cls, row, count=row._mapping["event_count"])


@dataclass(frozen=True)
class Plan(_RowView):
    """What one run of one campaign computed (and, unless a dry run, what it went on to do)."""

    campaign_key: str
    run_id: str
    interval_start: datetime
    interval_end: datetime
    status: str
    created_at: datetime
    finished_at: datetime | None
    counts: Mapping[str, int] = field(default_factory=dict, hash=False)
    #: Small JSON beside the counts, e.g. ``{"invalid_rows": {kind: {"count": n, "examples": [...]}}}``.
    details: Mapping[str, Any] = field(default_factory=dict, hash=False)
    #: ``batch`` (the whole spec for an interval) or ``trigger`` (the people with new activity).
    mode: str = BATCH

    @classmethod
    def from_row(cls, row: Row[Any]) -> Self:
        return view_of(cls, row, details=row._mapping["details"] or {}, mode=row._mapping.get("mode") or BATCH)


@dataclass(frozen=True)
class PlanItem(_RowView):
    """One person a plan would add or remove, and why."""

    person_id: str
    member_type: str
    action: str
    reason: Mapping[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class CampaignLock(_RowView):
    """Who is writing to a campaign, since when, and until when their lease lasts unless renewed."""

    campaign_key: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Watermark(_RowView):
    """How far a trigger campaign's runs have evaluated the activities table: past ``position`` (an activity id,
    or an ingestion time) every activity has been evaluated, as of ``event_time``."""

    campaign_key: str
    position: int | datetime
    event_time: datetime | None
    advanced_at: datetime
    advanced_by_run: str

    @property
    def kind(self) -> str:
        return "timestamp" if isinstance(self.position, datetime) else "id"

    @staticmethod
    def encode(position: int | datetime) -> tuple[str, str]:
        """``(kind, text)`` as stored: ids as decimal text, times as ISO-8601 UTC."""
        if isinstance(position, datetime):
            return "timestamp", position.isoformat()
        return "id", str(int(position))

    @classmethod
    def from_row(cls, row: Row[Any]) -> Self:
        mapping = row._mapping
        text = mapping["position"]
        position = datetime.fromisoformat(text) if mapping["kind"] == "timestamp" else int(text)
        return view_of(cls, row, position=position)
