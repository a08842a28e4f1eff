"""The plan stage: qualify as of the interval end, compare with the ledger and Dynamics, record the plan.

The plan itself is pure set arithmetic (:mod:`.planner`); this module gathers its inputs, applies the spec's
qualification rule to the matches, and records plan, counts and details in the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dynamics_campaign_sync.dataverse import DataverseClient, MemberType
from dynamics_campaign_sync.ledger.checks import PlanStatus
from dynamics_campaign_sync.log_privacy import private_logger
from dynamics_campaign_sync.qualification import apply_qualification_rule
from dynamics_campaign_sync.qualification.compiler.evaluate import evaluate
from dynamics_campaign_sync.spec import CampaignSpec
from dynamics_campaign_sync.spec.describe import describe_reason, filter_texts
from dynamics_campaign_sync.sync.drift import drift_facts, record_drift
from dynamics_campaign_sync.sync.membership_facts import gather_memberships
from dynamics_campaign_sync.sync.owned_lists import OwnedLists
from dynamics_campaign_sync.sync.planner import CurrentMember, SyncPlan, build_plan
from dynamics_campaign_sync.sync.resolve import resolve
from dynamics_campaign_sync.sync.run import RunContext

if TYPE_CHECKING:
    from dynamics_campaign_sync.ledger import Ledger
    from dynamics_campaign_sync.plan_counts import PlanCounts
    from dynamics_campaign_sync.qualification.evaluator import QualificationResult
    from dynamics_campaign_sync.qualification.invalid_rows import InvalidRows
    from dynamics_campaign_sync.qualification.memberships import MembershipFacts

log = private_logger(__name__)  # people's emails are masked in task logs
PLAN_PREVIEW = 20
#: People named per "could not act" kind in a plan's details (the counts stay exact beyond it).
NAMED_PER_KIND = 200


@dataclass
class Planning:
    spec: CampaignSpec
    client: DataverseClient
    ledger: Ledger
    lists: OwnedLists
    #: Opens the qualification source (None: this sync cannot plan).
    source_factory: Callable[[], Any] | None = None

    @property
    def key(self) -> str:
        return self.spec.key

    def plan(self, campaign_id: str, run: RunContext) -> dict[str, Any]:
        """Qualify as of the interval end, compare with the ledger and Dynamics, record the plan; return its
        counts and a preview (the XCom). The caller checked that this spec owns the campaign."""
        dry_run = run.dry_run
        if self.source_factory is None:
            raise ValueError("a plan needs a qualification source")
        log.info("Evaluating %s for the interval %s – %s", self.key, run.interval_start.isoformat(),
                 run.interval_end.isoformat())
        result = evaluate(self.spec, self.source_factory(), run.interval_start, run.interval_end,
                          self.memberships())
        log.info("Qualified %d people as of %s (%d people and %d activity rows read)", len(result.qualified),
                 run.interval_end.isoformat(), result.people_scanned, result.activity_rows_read)
        candidates, unresolved = resolve(self.client, self.ledger, result.qualified)
        for person, why in list(unresolved.items())[:PLAN_PREVIEW]:
            log.warning("Cannot sync %s: %s", person, why)

        source_ids = [c.source_person_id for c in candidates]
        eligible = self.apply_qualification_rule(source_ids, run, record=not dry_run)

        # The ledger before the lists: someone another run adds in between is then not taken for drift (and
        # someone it removes in between is no member any more when drift is recorded).
        members = {
            person_id: CurrentMember(person_id, MemberType(m.member_type), m.source_person_id, m.added_at)
            for person_id, m in self.ledger.members(campaign_id).items()
        }
        owned = self.lists.ids(campaign_id)
        in_owned = {mt: set(self.client.iter_list_member_ids(list_id)) for mt, list_id in owned.items()}
        in_other = self._other_list_members(campaign_id, set(owned.values()))
        drift = drift_facts(self.ledger, self.client, self.key, campaign_id, run, members, in_owned)
        member_sources = [m.source_person_id for m in [*members.values(), *drift.drifted.values()]
                          if m.source_person_id]
        plan = build_plan(
            candidates=candidates, eligible_source_ids=eligible, unresolved=unresolved,
            our_members=members, in_owned_lists=in_owned, in_other_lists=in_other,
            removal_policy=self.spec.removal.policy, removal_days=self.spec.removal.days,
            last_qualified=self.ledger.last_qualified(self.key, member_sources, before=run.interval_end),
            as_of=run.interval_end, drift=drift, drift_policy=self.spec.drift.removed_in_dynamics,
        )
        plan.counts = with_source_counts(plan.counts, result)
        counts = plan.counts.as_dict()
        self.ledger.record_plan(
            campaign_key=self.key, run_id=run.run_id, interval_start=run.interval_start,
            interval_end=run.interval_end, status=PlanStatus.DRY_RUN if dry_run else PlanStatus.PLANNED,
            counts=counts, items=[(e.person_id, e.member_type, e.action, e.reason) for e in plan.entries],
            details=plan_details(result.invalid_rows, unresolved, plan),
        )
        _log_invalid_rows(result.invalid_rows.as_dict())
        if not dry_run:
            record_drift(self.ledger, campaign_id, run, plan)
        self._log_plan(plan, counts, dry_run)
        return {"counts": counts,
                "preview": {"add": [e.person_id for e in plan.adds[:PLAN_PREVIEW]],
                            "remove": [e.person_id for e in plan.removes[:PLAN_PREVIEW]]}}

    def memberships(self) -> MembershipFacts | None:
        """The facts the spec's membership filters need, read now (once per plan)."""
        return gather_memberships(self.spec, self.client, self.ledger)

    def apply_qualification_rule(self, source_ids: list[str], run: RunContext, *, record: bool) -> set[str]:
        """The people the spec's qualification rule lets through as of the interval end (once / every time /
        every N days, from the matches the rule let through before), and — with ``record`` — remember this run's
        matches: allowed ones count for the rule from now on; blocked ones never restart its clock (as in
        Marketo), but still tell the removal policy that the person qualified. Forgotten again if the guard
        stops the run."""
        history = self.ledger.last_qualified(self.key, source_ids, before=run.interval_end, counted_only=True)
        eligible = set(apply_qualification_rule(self.spec.qualification, source_ids, history, run.interval_end))
        if record:
            self.ledger.record(self.key, [s for s in source_ids if s in eligible], run.interval_end, run.run_id)
            self.ledger.record(self.key, [s for s in source_ids if s not in eligible], run.interval_end,
                               run.run_id, counted=False)
        return eligible

    def _other_list_members(self, campaign_id: str, owned_ids: set[str]) -> dict[MemberType, set[str]]:
        """Members of the campaign's other lists, by member type (for counting "not ours")."""
        members: dict[MemberType, set[str]] = {}
        for marketing_list in self.client.campaign_lists(campaign_id):
            if marketing_list.id in owned_ids or marketing_list.member_type is None:
                continue
            members.setdefault(marketing_list.member_type, set()).update(
                self.client.iter_list_member_ids(marketing_list.id))
        return members

    def _log_plan(self, plan: SyncPlan, counts: dict[str, int], dry_run: bool) -> None:
        log.info("%s for %s: %s", "DRY RUN plan" if dry_run else "Plan", self.key,
                 ", ".join(f"{k}={v}" for k, v in counts.items()))
        texts = filter_texts(self.spec)
        for entry in plan.entries[:PLAN_PREVIEW]:
            log.info("  %-6s %-7s %s  %s", entry.action, entry.member_type, entry.person_id,
                     describe_reason(entry.reason, texts))
        if len(plan.entries) > PLAN_PREVIEW:
            log.info("  ... and %d more (all in the ledger's plan items)", len(plan.entries) - PLAN_PREVIEW)
        verb = "would record" if dry_run else "recorded"
        for entry in (plan.drift + plan.cleared)[:PLAN_PREVIEW]:
            log.warning("Drift %s: %s %s %s: %s", verb, entry.action, entry.member_type, entry.person_id,
                        entry.reason.get("drift") or entry.reason.get("drift_cleared"))
        if len(plan.drift) + len(plan.cleared) > PLAN_PREVIEW:
            log.warning("  ... and %d more drift changes", len(plan.drift) + len(plan.cleared) - PLAN_PREVIEW)


def with_source_counts(counts: PlanCounts, result: QualificationResult) -> PlanCounts:
    """A plan's counts with what the qualification source gave (people and activity rows read, invalid rows)."""
    return replace(counts, source_empty=result.source_empty, people_scanned=result.people_scanned,
                   activity_rows_read=result.activity_rows_read, invalid_rows=result.invalid_rows.rows,
                   invalid_rows_by_kind=dict(result.invalid_rows.counts))


def plan_details(invalid_rows: InvalidRows, unresolved: dict[str, str], plan: SyncPlan) -> dict[str, Any] | None:
    """The plan's details: invalid source rows by kind, and by name the people it could not act on — unresolved
    (with why) and already gone from our list — so the dashboard can list and explain them."""
    details: dict[str, Any] = {}
    if invalid_rows:
        details["invalid_rows"] = invalid_rows.as_dict()
    if unresolved:
        details["unresolved"] = [{"source_person_id": person, "why": why}
                                 for person, why in list(unresolved.items())[:NAMED_PER_KIND]]
    if plan.gone:
        details["already_gone"] = [{"person_id": e.person_id, "member_type": e.member_type, **e.reason,
                                    "why": "no longer in our list in Dynamics"} for e in plan.gone[:NAMED_PER_KIND]]
    return details or None


def _log_invalid_rows(report: dict[str, dict[str, Any]]) -> None:
    """One warning per kind of invalid source row, with its example ids (never the rows: they hold PII)."""
    for kind, entry in report.items():
        log.warning("Left out %d invalid source rows: %s (e.g. %s)", entry["count"], kind,
                    ", ".join(entry["examples"]) or "no id to show")

