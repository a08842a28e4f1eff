"""The dashboard's JSON documents: one campaign sync seen through its spec, the catalog and the ledger.

Plain assembly over a read-only :class:`Ledger`, with no request or auth in sight, so it is tested without
a server.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dynamics_campaign_sync.campaign_status import campaign_status_label
from dynamics_campaign_sync.ledger import Ledger, Plan
from dynamics_campaign_sync.ledger.checks import (
    APPLIED,
    DRIFT_STATES,
    DRY_RUN,
    MEMBER,
    MEMBER_TYPES,
    REMOVED,
    TRIGGER,
    PlanStatus,
)
from dynamics_campaign_sync.naming import sync_dag_id
from dynamics_campaign_sync.spec import CampaignSpec
from dynamics_campaign_sync.spec.describe import describe_filter, describe_reason
from dynamics_campaign_sync.spec.logic import render

STATES = {0: "Active", 1: "Inactive"}
#: Plan statuses that say more than Airflow's run state: the run wrote nothing.
NOTHING_WRITTEN = frozenset({PlanStatus.SUPERSEDED, PlanStatus.DRY_RUN, PlanStatus.BLOCKED})
#: How many runs the run history shows.
RUN_HISTORY = 20


@dataclass(frozen=True)
class Limits:
    """How many rows the detail document lists (totals are always complete)."""

    events: int = 50
    plan_items: int = 50
    drift: int = 200


def status_label(statuscode: int | None) -> str | None:
    if statuscode is None:
        return None
    return campaign_status_label(statuscode) or f"Status {statuscode}"


class Snapshot:
    """What every document needs from the ledger once per request: catalog rows and campaign ids by key.

    ``ledger`` is None before the first sync created it: the specs are shown with nothing recorded yet.
    """

    def __init__(self, ledger: Ledger | None, specs: Mapping[str, CampaignSpec],
                 airflow_runs: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.ledger = ledger
        #: The newest Airflow run per DAG id (see :func:`sources.latest_dag_runs`).
        self.airflow_runs = dict(airflow_runs or {})
        self.catalog: dict[str, dict[str, Any]] = {}
        self.ledger_keys: set[str] = set()
        synced: dict[str, str] = {}
        if ledger is not None:
            self.catalog = {row["campaign_id"]: row for row in ledger.campaigns()}
            self.ledger_keys = ledger.campaign_keys()
            synced = ledger.synced_campaign_ids(set(specs) | self.ledger_keys)
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


def plan_document(plan: Plan | None, last_add: datetime | None = None) -> dict[str, Any] | None:
    """A run as the page shows it; ``last_add`` (when its last add was recorded) gives a triggered run's latency."""
    if plan is None:
        return None
    finished = plan.finished_at
    return {
        "run_id": plan.run_id,
        "mode": plan.mode,
        "latency_seconds": activity_to_member_seconds(plan, last_add),
        "status": plan.status,
        "interval_start": plan.interval_start,
        "interval_end": plan.interval_end,
        "created_at": plan.created_at,
        "finished_at": finished,
        "duration_seconds": (finished - plan.created_at).total_seconds() if finished else None,
        "requests": plan.counts.get("requests"),
        "counts": dict(plan.counts),
        # What each per-person count means, for the counts that name people we could not act on.
        "details": dict(plan.details),
    }


def activity_to_member_seconds(plan: Plan, last_add: datetime | None) -> float | None:
    """A triggered run's latency: from the oldest activity it woke for to its last add recorded after Dynamics took
    it (None for batch runs and for triggered runs that added nobody)."""
    woken = (plan.details or {}).get("trigger") or {}
    if plan.mode != TRIGGER or last_add is None or not woken.get("first_event_time"):
        return None
    return round((last_add - datetime.fromisoformat(woken["first_event_time"])).total_seconds(), 1)


#: Why people land in a plan's "cannot act" counts, shown beside them.
COUNT_MEANINGS = {
    "unresolved": "qualified, but no Dynamics id and no email that matches or creates a lead",
    "already_gone": "to be removed, but no longer in our list in Dynamics: nothing to do",
    "deleted_in_dynamics": "added by us, then deleted in Dynamics",
    "removed_in_dynamics": "added by us, then taken out of our list in Dynamics by hand",
    "invalid_rows": "source rows the table contract refuses (examples in the run details)",
    "failed": "Dynamics refused the add or remove: error code and message below",
}


def attempt(airflow_run: Mapping[str, Any] | None, plan: Plan | None) -> dict[str, Any] | None:
    """The newest Airflow run of the campaign's DAG with our side of it: the state shown is the ledger's plan
    status where it says more (superseded, dry run, blocked by the guard), else Airflow's run state."""
    if airflow_run is None:
        return None
    ours = plan if plan is not None and plan.run_id == airflow_run["run_id"] else None
    state = airflow_run["state"]
    if ours is not None and ours.status in NOTHING_WRITTEN and state != "running":
        state = ours.status
    elif airflow_run["dry_run"] and state == "success":
        state = "dry_run"
    return {**airflow_run, "state": state, "airflow_state": airflow_run["state"],
            "plan_status": ours.status if ours else None}


def _members(counts: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    current: dict[str, Any] = {member_type: counts.get(MEMBER, {}).get(member_type, 0) for member_type in sorted(MEMBER_TYPES)}
    removed = {member_type: counts.get(REMOVED, {}).get(member_type, 0) for member_type in sorted(MEMBER_TYPES)}
    drifted = {state: sum(counts.get(state, {}).values()) for state in sorted(DRIFT_STATES)}
    return {**current, "total": sum(current.values()), "removed": removed, "removed_total": sum(removed.values()),
            "drifted": drifted}


def summary(snapshot: Snapshot, key: str, spec: CampaignSpec | None) -> dict[str, Any]:
    """One row of the overview: who the sync is, where it writes, how many members, how the last run went
    (the newest Airflow attempt, and separately the newest plan that was applied)."""
    ledger = snapshot.ledger
    campaign = snapshot.campaign(key, spec)
    last, applied, counts, totals = None, None, {}, {"add": 0, "remove": 0}
    if ledger is not None:
        last = ledger.latest_plan(key)
        applied = ledger.latest_plan(key, APPLIED)
        counts = ledger.member_counts(campaign["id"]) if campaign["id"] else {}
        totals = ledger.event_totals(key)
    return {
        "key": key,
        "dag_id": sync_dag_id(key),
        "has_spec": spec is not None,
        "title": spec.title if spec else key,
        "owner": spec.owner if spec else None,
        "tags": list(spec.tags) if spec else [],
        "member_types": list(spec.member_types) if spec else [],
        "campaign": campaign,
        "members": _members(counts),
        "totals": {"added": totals["add"], "removed": totals["remove"]},
        "last_run": plan_document(last),
        "last_applied": plan_document(applied),
        "last_attempt": attempt(snapshot.airflow_runs.get(sync_dag_id(key)), last),
        # "Not ours": in the campaign through lists we do not own, so never touched; as of the newest plan.
        "not_ours": last.counts.get("not_ours") if last else None,
    }


def detail(snapshot: Snapshot, key: str, spec: CampaignSpec | None, limits: Limits) -> dict[str, Any]:
    """Everything the campaign page shows, on top of its :func:`summary`."""
    ledger = snapshot.ledger
    document = summary(snapshot, key, spec)
    campaign_id = document["campaign"]["id"]
    wording = rules(spec)
    document.update(description=spec.description.strip() if spec else "", rules=wording, owned_lists=[], runs=[],
                    timeline=[], recent_events=[], events_total=0, latest_dry_run=None, drift=[], failures=[],
                    count_meanings=COUNT_MEANINGS)
    if ledger is None:
        return document
    runs = ledger.recent_plans(key, RUN_HISTORY)
    added = ledger.last_adds(key, [plan.run_id for plan in runs])
    drifted = ledger.drifted_people(campaign_id, limits.drift) if campaign_id else []
    total, events = ledger.events_page(key, limit=limits.events)
    last = document["last_run"]
    document.update(
        owned_lists=[_owned_list(item) for item in ledger.owned_lists(campaign_id)] if campaign_id else [],
        runs=[plan_document(plan, added.get(plan.run_id)) for plan in runs],
        timeline=ledger.membership_over_time(key),
        recent_events=[event(row, wording) for row in events],
        events_total=total,
        failures=[failure(row) for row in ledger.run_failures(key, last["run_id"])] if last else [],
        latest_dry_run=_dry_run(ledger, key, ledger.latest_plan(key, DRY_RUN), wording, limits.plan_items),
        drift=[_drifted(row) for row in drifted],
    )
    return document


def rules(spec: CampaignSpec | None) -> dict[str, Any]:
    if spec is None:
        return {"logic": None, "filters": []}
    return {
        "logic": render(spec.rules.tree),
        "filters": [{"number": number, "text": describe_filter(flt)} for number, flt in spec.rules.written()],
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


def failure(row: Mapping[str, Any]) -> dict[str, Any]:
    """A person a run failed to add or remove, with Dynamics' error as recorded (code and message)."""
    person_id = str(row["person_id"])
    person = _person(person_id, row.get("reason"))
    if person["source_person_id"] is None and person_id.startswith("new:"):  # a lead we could not create
        person["source_person_id"] = person_id.removeprefix("new:")
    return {**person,
            "action": row["action"], "member_type": row.get("member_type"), "error": row["error"],
            "recorded_at": row["recorded_at"]}


def event(row: Mapping[str, Any], rules: Mapping[str, Any]) -> dict[str, Any]:
    """One membership event as the page lists it (with its reason in words)."""
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


#: The CSV export's columns, in order (the event fields an analyst filters and pivots on).
CSV_COLUMNS = ("event_id", "recorded_at", "action", "member_type", "person_id", "source_person_id", "email",
               "run_id", "interval_end", "why")


def events_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """Events as CSV text with a header row; a cell that a spreadsheet would run as a formula is quoted off."""
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in CSV_COLUMNS])
    return output.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def person_document(report: Mapping[str, list[dict[str, Any]]], allowed: set[str],
                    specs: Mapping[str, CampaignSpec]) -> dict[str, Any]:
    """One person across the ``allowed`` campaigns: memberships, qualifications (with the rules matched),
    events, plan items and failures, each row naming its campaign and run."""
    wording = {key: rules(specs.get(key)) for key in allowed}

    def mine(section: str) -> list[dict[str, Any]]:
        return [row for row in report[section] if row["campaign_key"] in allowed]

    return {
        "dynamics_ids": report["dynamics_ids"],
        "source_ids": report["source_ids"],
        "campaigns": sorted(allowed),
        "memberships": [{**_person(row["person_id"], {"source_person_id": row["source_person_id"],
                                                      **(row["reason"] or {})}),
                         "campaign_key": row["campaign_key"], "dag_id": sync_dag_id(row["campaign_key"]),
                         "member_type": row["member_type"], "state": row["status"], "added_at": row["added_at"],
                         "added_by_run": row["added_by_run"], "removed_at": row["removed_at"],
                         "removed_by_run": row["removed_by_run"]} for row in mine("memberships")],
        "events": [{**event(row, wording[row["campaign_key"]]), "campaign_key": row["campaign_key"],
                    "dag_id": sync_dag_id(row["campaign_key"])} for row in mine("events")],
        "qualifications": [{"campaign_key": row["campaign_key"], "dag_id": sync_dag_id(row["campaign_key"]),
                            "source_person_id": row["person_id"], "qualified_at": row["qualified_at"],
                            "run_id": row["run_id"], "counted": row["counted"]} for row in mine("qualifications")],
        "plan_items": [{**_person(row["person_id"], row["reason"]), "campaign_key": row["campaign_key"],
                        "dag_id": sync_dag_id(row["campaign_key"]), "run_id": row["run_id"],
                        "plan_status": row["status"], "interval_end": row["interval_end"],
                        "member_type": row["member_type"], "action": row["action"],
                        "why": why(row["reason"], wording[row["campaign_key"]])} for row in mine("plan_items")],
        "failures": [{**failure(row), "campaign_key": row["campaign_key"], "dag_id": sync_dag_id(row["campaign_key"]),
                      "run_id": row["run_id"]} for row in mine("failures")],
    }


def dynamics_campaigns(snapshot: Snapshot) -> list[dict[str, Any]]:
    """The campaign catalog (every Dynamics campaign the catalog DAG read), with the spec syncing each, if any."""
    if snapshot.ledger is None:
        return []
    return [{"campaign_id": c["campaign_id"], "name": c["name"], "state": c["statecode"], "status": c["statuscode"],
             "synced_by": c["synced_by"], "refreshed_at": c["refreshed_at"]} for c in snapshot.ledger.campaigns(with_owner=True)]
