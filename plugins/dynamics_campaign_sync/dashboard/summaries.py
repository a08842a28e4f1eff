"""The dashboard's JSON documents: one campaign sync seen through its spec, the catalog and the ledger.

Plain assembly over a read-only :class:`Ledger`, with no request or auth in sight, so it is tested without
a server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dynamics_campaign_sync.dag_factory import DAG_ID_PREFIX
from dynamics_campaign_sync.dashboard import queries
from dynamics_campaign_sync.dataverse.models import CAMPAIGN_STATUSES
from dynamics_campaign_sync.ledger import Ledger, Plan
from dynamics_campaign_sync.ledger.checks import DRIFT_STATES, DRY_RUN, MEMBER, MEMBER_TYPES, REMOVED
from dynamics_campaign_sync.qualification import CampaignSpec
from dynamics_campaign_sync.qualification.describe import describe_filter, describe_reason
from dynamics_campaign_sync.qualification.logic import render

STATES = {0: "Active", 1: "Inactive"}
#: How many runs the run history shows.
RUN_HISTORY = 20


@dataclass(frozen=True)
class Limits:
    """How many rows the detail document lists (totals are always complete)."""

    events: int = 50
    plan_items: int = 50
    drift: int = 200


def dag_id(campaign_key: str) -> str:
    """The sync DAG of a campaign key (``dag_factory.dag_id_for`` needs a whole spec)."""
    return f"{DAG_ID_PREFIX}{campaign_key}"


def status_label(statuscode: int | None) -> str | None:
    if statuscode is None:
        return None
    name = CAMPAIGN_STATUSES.get(statuscode)
    return name.replace("_", " ").title() if name else f"Status {statuscode}"


class Snapshot:
    """What every document needs from the ledger once per request: catalog rows and campaign ids by key.

    ``ledger`` is None before the first sync created it: the specs are shown with nothing recorded yet.
    """

    def __init__(self, ledger: Ledger | None, specs: Mapping[str, CampaignSpec]) -> None:
        self.ledger = ledger
        self.catalog: dict[str, dict[str, Any]] = {}
        self.ledger_keys: set[str] = set()
        synced: dict[str, str] = {}
        if ledger is not None:
            self.catalog = {row["campaign_id"]: row for row in ledger.campaigns()}
            with ledger.engine.connect() as connection:
                self.ledger_keys = queries.campaign_keys(connection)
                synced = queries.synced_campaign_ids(connection, set(specs) | self.ledger_keys)
        self.keys = sorted(set(specs) | self.ledger_keys)
        self.campaign_ids = {key: _campaign_id(specs.get(key), synced.get(key), self.catalog) for key in self.keys}

    def campaign(self, key: str, spec: CampaignSpec | None) -> dict[str, Any]:
        """The Dynamics campaign as the catalog DAG last read it (``in_catalog`` false if it never did)."""
        campaign_id = self.campaign_ids.get(key)
        row = self.catalog.get(campaign_id) if campaign_id else None
        statuscode = row["statuscode"] if row else None
        return {
            "id": campaign_id,
            "name": row["name"] if row else (spec.campaign.name if spec else None),
            "in_catalog": row is not None,
            "statecode": row["statecode"] if row else None,
            "state": STATES.get(row["statecode"], f"State {row['statecode']}") if row else None,
            "statuscode": statuscode,
            "status": status_label(statuscode),
            "refreshed_at": row["refreshed_at"] if row else None,
        }


def _campaign_id(spec: CampaignSpec | None, synced: str | None, catalog: Mapping[str, Any]) -> str | None:
    """The spec's id; else the id the syncs used; else the one catalog campaign with the spec's name."""
    if spec is not None and spec.campaign.id:
        return spec.campaign.id
    if synced:
        return synced
    if spec is None or not spec.campaign.name:
        return None
    named = [row["campaign_id"] for row in catalog.values() if row["name"] == spec.campaign.name]
    if not named:  # Dataverse compares names without regard to case
        wanted = spec.campaign.name.casefold()
        named = [row["campaign_id"] for row in catalog.values() if row["name"].casefold() == wanted]
    return named[0] if len(named) == 1 else None


def plan_document(plan: Plan | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    return {
        "run_id": plan.run_id,
        "status": plan.status,
        "interval_start": plan.interval_start,
        "interval_end": plan.interval_end,
        "created_at": plan.created_at,
        "finished_at": plan.finished_at,
        "counts": dict(plan.counts),
    }


def _members(counts: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    current = {member_type: counts.get(MEMBER, {}).get(member_type, 0) for member_type in sorted(MEMBER_TYPES)}
    removed = {member_type: counts.get(REMOVED, {}).get(member_type, 0) for member_type in sorted(MEMBER_TYPES)}
    drifted = {state: sum(counts.get(state, {}).values()) for state in sorted(DRIFT_STATES)}
    return {**current, "total": sum(current.values()), "removed": removed, "removed_total": sum(removed.values()),
            "drifted": drifted}


def summary(snapshot: Snapshot, key: str, spec: CampaignSpec | None) -> dict[str, Any]:
    """One row of the overview: who the sync is, where it writes, how many members, how the last run went."""
    ledger = snapshot.ledger
    campaign = snapshot.campaign(key, spec)
    last, counts, totals = None, {}, {"add": 0, "remove": 0}
    if ledger is not None:
        last = ledger.latest_plan(key)
        with ledger.engine.connect() as connection:
            counts = queries.member_counts(connection, campaign["id"]) if campaign["id"] else {}
            totals = queries.event_totals(connection, key)
    return {
        "key": key,
        "dag_id": dag_id(key),
        "has_spec": spec is not None,
        "title": spec.title if spec else key,
        "owner": spec.owner if spec else None,
        "tags": list(spec.tags) if spec else [],
        "member_types": list(spec.member_types) if spec else [],
        "campaign": campaign,
        "members": _members(counts),
        "totals": {"added": totals["add"], "removed": totals["remove"]},
        "last_run": plan_document(last),
        # "Not ours": in the campaign through lists we do not own, so never touched; as of the newest plan.
        "not_ours": last.counts.get("not_ours") if last else None,
    }


def detail(snapshot: Snapshot, key: str, spec: CampaignSpec | None, limits: Limits) -> dict[str, Any]:
    """Everything the campaign page shows, on top of its :func:`summary`."""
    ledger = snapshot.ledger
    document = summary(snapshot, key, spec)
    campaign_id = document["campaign"]["id"]
    rules = _rules(spec)
    document.update(description=spec.description.strip() if spec else "", rules=rules, owned_lists=[], runs=[],
                    timeline=[], recent_events=[], latest_dry_run=None, drift=[])
    if ledger is None:
        return document
    with ledger.engine.connect() as connection:
        runs = queries.recent_plans(connection, key, RUN_HISTORY)
        timeline = queries.timeline(connection, key)
        events = queries.recent_events(connection, key, limits.events)
        drifted = queries.drifted_people(connection, campaign_id, limits.drift) if campaign_id else []
    document.update(
        owned_lists=[_owned_list(item) for item in ledger.owned_lists(campaign_id)] if campaign_id else [],
        runs=[plan_document(plan) for plan in runs],
        timeline=timeline,
        recent_events=[_event(row, rules) for row in events],
        latest_dry_run=_dry_run(ledger, key, ledger.latest_plan(key, DRY_RUN), rules, limits.plan_items),
        drift=[_drifted(row) for row in drifted],
    )
    return document


def _rules(spec: CampaignSpec | None) -> dict[str, Any]:
    if spec is None:
        return {"logic": None, "filters": []}
    return {
        "logic": render(spec.rules.tree),
        "filters": [{"number": number, "text": describe_filter(flt)} for number, flt in spec.rules.numbered()],
    }


def _owned_list(owned: Any) -> dict[str, Any]:
    return {
        "member_type": owned.member_type,
        "list_id": owned.list_id,
        "list_name": owned.list_name,
        "created_at": owned.created_at,
        "association_verified_at": owned.association_verified_at,
    }


def why(reason: Mapping[str, Any] | None, rules: Mapping[str, Any]) -> str:
    """A reason in words: the filters a person matched (with counted activities), or the removal rule."""
    return describe_reason(reason, {item["number"]: item["text"] for item in rules.get("filters", [])})


def _person(person_id: str, reason: Mapping[str, Any] | None) -> dict[str, Any]:
    reason = reason or {}
    return {
        "person_id": person_id,
        "source_person_id": reason.get("source_person_id"),
        "email": reason.get("email"),
        "matched": list(reason.get("matched") or []),
    }


def _drifted(row: Mapping[str, Any]) -> dict[str, Any]:
    """A drifted person: state, when and by which run it was noticed, and why."""
    reason = row["reason"] or {}
    return {
        **_person(row["person_id"], {"source_person_id": row["source_person_id"], **reason}),
        "member_type": row["member_type"],
        "state": row["status"],
        "added_at": row["added_at"],
        "noticed_at": row["removed_at"],
        "noticed_by_run": row["removed_by_run"],
        "why": str(reason.get("drift") or ""),
    }


def _event(row: Mapping[str, Any], rules: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_person(row["person_id"], row["reason"]),
        "event_id": row["event_id"],
        "member_type": row["member_type"],
        "action": row["action"],
        "run_id": row["run_id"],
        "interval_end": row["interval_end"],
        "recorded_at": row["recorded_at"],
        "why": why(row["reason"], rules),
    }


def _dry_run(
    ledger: Ledger, key: str, plan: Plan | None, rules: Mapping[str, Any], limit: int
) -> dict[str, Any] | None:
    if plan is None:
        return None
    # Per action, so a long list of adds cannot hide every remove.
    items = [item for action in ("add", "remove")
             for item in ledger.plan_items(key, plan.run_id, action=action, limit=limit)]
    return {
        **(plan_document(plan) or {}),
        "items": [
            {**_person(item.person_id, item.reason), "member_type": item.member_type, "action": item.action,
             "why": why(item.reason, rules)}
            for item in items
        ],
    }
