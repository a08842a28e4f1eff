"""The run's summary: one table of what the plan found and the stages did, from the plan's counts and the
stages' XComs (the summary task passes them in, by stage name)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dynamics_campaign_sync.log_privacy import mask_emails, private_logger
from dynamics_campaign_sync.plan_counts import PlanCounts

if TYPE_CHECKING:
    from dynamics_campaign_sync.ledger import Plan

log = private_logger(__name__)
#: The stages whose XComs name the event batches their publish task emitted.
PUBLISH_STAGES = ("published_added", "published_removed")
#: Failed people named in the summary's log (all of them are in the ledger).
FAILURES_SHOWN = 20
#: The summary entries stored with the plan's counts once the run is over.
RUN_RESULTS = ("added", "removed", "failed", "requests")

Stages = Mapping[str, Mapping[str, Any]]


def summary_table(campaign_key: str, plan: Plan | None, stages: Stages) -> dict[str, Any]:
    """Qualified, added, removed, not ours, failures, drift, invalid source rows (by kind), requests made."""
    counts = PlanCounts.from_dict(plan.counts) if plan else PlanCounts()
    add, remove = stages.get("add", {}), stages.get("remove", {})
    return {
        "campaign_key": campaign_key,
        "status": str(plan.status) if plan else "no plan",
        "interval_end": plan.interval_end.isoformat() if plan else None,
        "qualified": counts.qualified,
        "planned_adds": counts.to_add,
        "planned_removes": counts.to_remove,
        "added": add.get("succeeded", 0),
        "removed": remove.get("succeeded", 0),
        "failed": add.get("failed", 0) + remove.get("failed", 0),
        "not_ours": counts.not_ours,
        "already_gone": counts.already_gone,
        # Drift noticed this run (Dynamics-side changes to our lists), and what followed from it.
        "deleted_in_dynamics": counts.deleted_in_dynamics,
        "removed_in_dynamics": counts.removed_in_dynamics,
        "restored": counts.restored,
        "drift_cleared": counts.drift_cleared,
        "unresolved": counts.unresolved,
        "invalid_rows": counts.invalid_rows,
        "invalid_rows_by_kind": dict(counts.invalid_rows_by_kind),
        "requests": sum(s.get("dataverse", {}).get("requests", 0) for s in stages.values()),
        "throttle_wait_seconds": round(sum(s.get("dataverse", {}).get("throttle_wait_seconds", 0)
                                           for s in stages.values()), 1),
    }


def run_results(summary: Mapping[str, Any]) -> dict[str, int]:
    """What the run did, merged into the plan's stored counts (see :class:`PlanCounts`' run results)."""
    return {name: summary[name] for name in RUN_RESULTS}


def published_batches(stages: Stages) -> list[str]:
    """The event batches the run's publish tasks emitted (their tasks succeeded: Airflow holds the events)."""
    return [batch for name in PUBLISH_STAGES for batch in stages.get(name, {}).get("batch_ids", [])]


def log_summary(summary: Mapping[str, Any], plan: Plan | None, failures: Mapping[str, str]) -> None:
    width = max(len(k) for k in summary)
    log.info("Campaign sync summary\n%s", "\n".join(f"  {k:<{width}}  {v}" for k, v in summary.items()))
    for kind, entry in (plan.details.get("invalid_rows", {}) if plan else {}).items():
        log.warning("invalid source rows left out: %s: %d (e.g. %s)", kind, entry["count"],
                    ", ".join(entry["examples"]) or "no id to show")
    for person, error in list(failures.items())[:FAILURES_SHOWN]:
        log.warning("failed: %s: %s", person, mask_emails(str(error)))
