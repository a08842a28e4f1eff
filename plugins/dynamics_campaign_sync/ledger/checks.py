"""Argument checks shared by every ledger operation, so bad input fails early with a message a user can act on."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from dynamics_campaign_sync.ledger.errors import LedgerError
from dynamics_campaign_sync.member_types import MemberType
from dynamics_campaign_sync.utc import aware_utc


class Action(StrEnum):
    """What a plan item, an intent or an event does to a person in Dynamics (stored as its value)."""

    ADD = "add"
    REMOVE = "remove"


class MemberStatus(StrEnum):
    """A membership's state in the ledger (stored as its value)."""

    MEMBER = "member"
    REMOVED = "removed"
    #: Drift: a member we added whose lead/contact was deleted in Dynamics (final: never written to again).
    DELETED_IN_DYNAMICS = "deleted_in_dynamics"
    #: Drift: a member someone else took out of our owned list (the spec's ``drift`` option says what follows).
    REMOVED_IN_DYNAMICS = "removed_in_dynamics"


class PlanStatus(StrEnum):
    """Where a run's plan stands (stored as its value)."""

    PLANNED = "planned"
    APPLIED = "applied"
    SUPERSEDED = "superseded"
    DRY_RUN = "dry_run"
    BLOCKED = "blocked"


ADD, REMOVE = Action.ADD, Action.REMOVE
ACTIONS = frozenset(Action)

MEMBER_TYPES = frozenset(MemberType)

MEMBER, REMOVED = MemberStatus.MEMBER, MemberStatus.REMOVED
DELETED_IN_DYNAMICS, REMOVED_IN_DYNAMICS = MemberStatus.DELETED_IN_DYNAMICS, MemberStatus.REMOVED_IN_DYNAMICS
DRIFT_STATES = frozenset({DELETED_IN_DYNAMICS, REMOVED_IN_DYNAMICS})

PLANNED, APPLIED, SUPERSEDED = PlanStatus.PLANNED, PlanStatus.APPLIED, PlanStatus.SUPERSEDED
DRY_RUN, BLOCKED = PlanStatus.DRY_RUN, PlanStatus.BLOCKED
PLAN_STATUSES = frozenset(PlanStatus)

#: Plan modes: a batch run of the whole spec, or a triggered run for the people with new activity.
BATCH = "batch"
TRIGGER = "trigger"
PLAN_MODES = frozenset({BATCH, TRIGGER})


def choice(value: object, allowed: Collection[str], what: str) -> str:
    """Return ``value`` as a plain string if it is one of ``allowed`` (a ``StrEnum`` member counts as its value)."""
    text = str(value)
    if text not in allowed:
        raise LedgerError(f"{what} must be one of {sorted(allowed)}, got {value!r}")
    return text


def as_utc(value: object, what: str) -> datetime:
    """The same instant in UTC; naive datetimes are refused because their zone can only be guessed."""
    return aware_utc(value, what, LedgerError)


def as_interval(start: object, end: object, what: str) -> tuple[datetime, datetime]:
    """A checked ``(start, end)`` pair in UTC with ``start <= end``."""
    start_utc, end_utc = as_utc(start, f"{what} interval_start"), as_utc(end, f"{what} interval_end")
    if start_utc > end_utc:
        raise LedgerError(
            f"{what}: interval_start {start_utc.isoformat()} is after interval_end {end_utc.isoformat()}"
        )
    return start_utc, end_utc


def text(value: object, what: str) -> str:
    """A non-empty string identifier (campaign key, GUID, run id…)."""
    if not isinstance(value, str) or not value.strip():
        raise LedgerError(f"{what} must be a non-empty string, got {value!r}")
    return value


def ids(values: Iterable[object], what: str) -> list[str]:
    """Checked identifiers in first-seen order, duplicates dropped (bulk upserts must not touch a row twice)."""
    return list(dict.fromkeys(text(value, what) for value in values))


def checked_counts(values: Mapping[str, Any], what: str) -> dict[str, int]:
    """A ``{name: int}`` mapping of run counts."""
    checked: dict[str, int] = {}
    for name, number in values.items():
        if not isinstance(number, int) or isinstance(number, bool):
            raise LedgerError(f"{what}: count {name!r} must be an integer, got {number!r}")
        checked[text(name, f"{what} count name")] = number
    return checked


def checked_details(values: Mapping[str, Any] | None, what: str) -> dict[str, Any] | None:
    """A plan's details: a JSON object (None or empty: no details)."""
    if not values:
        return None
    if not isinstance(values, Mapping):
        raise LedgerError(f"{what}: details must be a mapping, got {type(values).__name__}")
    try:
        json.dumps(values, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise LedgerError(f"{what}: details are not JSON: {error}") from None
    return dict(values)


def preview(values: Iterable[str], limit: int = 5) -> str:
    """A short, readable list of ids for an error message."""
    items = list(values)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


