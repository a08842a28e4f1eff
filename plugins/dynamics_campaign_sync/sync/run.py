"""What every stage of one campaign sync run is told (the run's id, interval and params), how a stage refuses to
write for a run whose plan was not approved, and the base of the parts that keep one campaign's ledger records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dynamics_campaign_sync.ledger import Ledger


class PlanNotApprovedError(Exception):
    """A write was asked for a run whose plan the guard did not approve (dry run, superseded, blocked, none):
    nothing was written. The decision lives here, not in the DAG's trigger rules."""


@dataclass(frozen=True)
class RunContext:
    run_id: str
    interval_start: dt.datetime
    interval_end: dt.datetime
    #: The run may take the campaign over from the spec that synced it before (DAG param take_over_campaign).
    take_over: bool = False
    #: Plan and report only: every stage that would write to Dynamics or record a change refuses (param dry_run).
    dry_run: bool = False

    @property
    def interval(self) -> tuple[dt.datetime, dt.datetime]:
        return self.interval_start, self.interval_end


@dataclass
class CampaignPart:
    """A part of the sync service that keeps one campaign's records in the ledger (``key``: the spec's key)."""

    ledger: Ledger
    key: str
