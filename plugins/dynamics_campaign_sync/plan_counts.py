"""A run's plan counts: one typed record from the plan stage to the guard, the summary and the dashboard
(beside the layers: the qualification engine names its invalid-row counts with it).

Stored in the ledger and handed over in XComs as a flat ``{name: int}`` JSON object (:meth:`PlanCounts.as_dict`,
:meth:`PlanCounts.from_dict`), so the stored values and XComs keep their names; in between, code reads fields, and
a misspelt name is an error instead of a silent 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

#: The total of invalid source rows; each kind is stored beside it as ``invalid_rows.<kind>``.
INVALID_ROWS = "invalid_rows"
_KIND_PREFIX = f"{INVALID_ROWS}."
_BY_KIND = "invalid_rows_by_kind"


def invalid_rows_counts(rows: int, by_kind: Mapping[str, int]) -> dict[str, int]:
    """The invalid source rows as flat counts: the total, then each kind."""
    return {INVALID_ROWS: rows, **{f"{_KIND_PREFIX}{kind}": n for kind, n in by_kind.items()}}


@dataclass(frozen=True)
class PlanCounts:
    """How many people a plan found in each situation, what the source gave, and (once the summary ran) what the
    run did. Field order is the stored order."""

    # -- the plan (see planner.build_plan) ---------------------------------------------------------------------
    qualified: int = 0
    eligible: int = 0
    to_add: int = 0
    to_create: int = 0
    to_remove: int = 0
    current_members: int = 0
    not_ours: int = 0
    already_gone: int = 0
    unresolved: int = 0
    deleted_in_dynamics: int = 0
    removed_in_dynamics: int = 0
    restored: int = 0
    drift_cleared: int = 0
    # -- what the qualification source gave --------------------------------------------------------------------
    source_empty: bool = False
    people_scanned: int = 0
    activity_rows_read: int = 0
    invalid_rows: int = 0
    invalid_rows_by_kind: Mapping[str, int] = field(default_factory=dict)
    # -- what a triggered run read past the watermark (None for batch plans) ----------------------------------
    trigger_activities_read: int | None = None
    trigger_activities: int | None = None
    trigger_people: int | None = None
    # -- what the run did (recorded by the summary; None before) -----------------------------------------------
    added: int | None = None
    removed: int | None = None
    failed: int | None = None
    requests: int | None = None

    @property
    def rows_read(self) -> int:
        """Every source row the plan read (people and activities)."""
        return self.people_scanned + self.activity_rows_read

    def as_dict(self) -> dict[str, int]:
        """The flat JSON form (ledger, XCom, dashboard): ``source_empty`` as 0/1, invalid rows per kind as
        ``invalid_rows.<kind>``, run results only once known."""
        flat: dict[str, int] = {}
        for item in fields(self):
            value: Any = getattr(self, item.name)
            if item.name == INVALID_ROWS:
                flat.update(invalid_rows_counts(value, self.invalid_rows_by_kind))
            elif item.name != _BY_KIND and value is not None:
                flat[item.name] = int(value)
        return flat

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> PlanCounts:
        """The counts of a stored plan or XCom; names this version does not know are left out."""
        names = {item.name for item in fields(cls)} - {_BY_KIND}
        known: dict[str, Any] = {name: value for name, value in stored.items() if name in names}
        if "source_empty" in known:
            known["source_empty"] = bool(known["source_empty"])
        by_kind = {name.removeprefix(_KIND_PREFIX): n for name, n in stored.items() if name.startswith(_KIND_PREFIX)}
        return cls(**known, invalid_rows_by_kind=by_kind)

    def __getitem__(self, name: str) -> int:
        """A count by its stored name (for reports and tests); an unknown name raises :class:`KeyError`."""
        return self.as_dict()[name]
