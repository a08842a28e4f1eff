"""One campaign sync, stage by stage: owned lists, plan, guard, writes, publication, summary.

Each stage is a method so that each Airflow task stays a thin adapter and each stage can be run and
tested without Airflow. Stages hand over through the ledger, never through large XComs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from dynamics_campaign_sync.dataverse import DataverseClient, MemberType
from dynamics_campaign_sync.dataverse.models import NewLead
from dynamics_campaign_sync.errors import PermanentError
from dynamics_campaign_sync.ledger import CampaignClaimedError, EventBatch
from dynamics_campaign_sync.ledger.checks import MEMBER
from dynamics_campaign_sync.ledger.schema import SOURCE_ID_MAX
from dynamics_campaign_sync.log_privacy import private_logger
from dynamics_campaign_sync.qualification import apply_qualification_rule, evaluate
from dynamics_campaign_sync.qualification.invalid_rows import COUNT_NAME as INVALID_ROWS
from dynamics_campaign_sync.qualification.invalid_rows import kinds_in_counts
from dynamics_campaign_sync.qualification.reasons import parse_reasons
from dynamics_campaign_sync.spec import CampaignSpec
from dynamics_campaign_sync.spec.describe import describe_reason, filter_texts
from dynamics_campaign_sync.sync.email_matching import people_by_email
from dynamics_campaign_sync.sync.membership_writer import MembershipWriter, WriteOutcome
from dynamics_campaign_sync.sync.owned_lists import ensure_owned_list
from dynamics_campaign_sync.sync.planner import (
    NEW_PERSON_PREFIX,
    Candidate,
    CurrentMember,
    DriftFacts,
    SyncPlan,
    build_plan,
    missing_members,
)
from dynamics_campaign_sync.sync.write_lock import DEFAULT_LOCK_WAIT, CampaignWriteLock

log = private_logger(__name__)  # people's emails are masked in task logs
_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
PLAN_PREVIEW = 20
#: Days of full qualification history kept (audit, rules changed later); older rows are thinned per person.
HISTORY_KEPT_DAYS = 400


class GuardError(PermanentError):
    """The plan breaks a safety limit of the spec; nothing was written. Permanent: the same plan breaks it again
    (a person re-runs with ``override_guard``)."""


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


class CampaignSync:
    def __init__(self, spec: CampaignSpec, *, client: DataverseClient, ledger: Any,
                 source_factory: Callable[[], Any] | None = None,
                 lock_wait: dt.timedelta = DEFAULT_LOCK_WAIT) -> None:
        self.spec = spec
        self.client = client
        self.ledger = ledger
        self._source_factory = source_factory
        self.write_lock = CampaignWriteLock(ledger, spec.key, wait=lock_wait)

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def member_types(self) -> list[MemberType]:
        return [MemberType(m) for m in self.spec.member_types]

    # -- campaign owner -------------------------------------------------------------------------------------

    def claim_campaign(self, campaign_id: str, run: RunContext) -> None:
        """Make this spec the campaign's owner before anything is written (refused if another spec owns it)."""
        owner = self.ledger.claim_campaign(campaign_id, self.key, run.run_id, take_over=run.take_over)
        if owner.previous_key and owner.claimed_by_run == run.run_id:
            log.warning("Spec %r took campaign %s over from spec %r: the people that spec added are now this "
                        "spec's, and are removed if they do not qualify here", self.key, campaign_id,
                        owner.previous_key)

    def check_campaign_owner(self, campaign_id: str, *, preview_take_over: bool = False) -> None:
        """Refuse to plan or write for a campaign another spec owns; a dry run may preview a take-over."""
        try:
            self.ledger.check_campaign_owner(campaign_id, self.key)
        except CampaignClaimedError as error:
            if not preview_take_over:
                raise
            log.warning("Campaign %s is synced by spec %r; this run previews taking it over", campaign_id,
                        error.owner.campaign_key)

    # -- owned lists ----------------------------------------------------------------------------------------

    def ensure_lists(self, campaign_id: str, run: RunContext) -> dict[str, Any]:
        """Get or create, verify and remember one owned list per member type; report repairs loudly."""
        if run.dry_run:
            raise PlanNotApprovedError(f"{self.key}: run {run.run_id} is a dry run; owned lists are not created "
                                       "or repaired")
        report: dict[str, Any] = {}
        for member_type in self.member_types:
            check = ensure_owned_list(self.client, self.ledger, campaign_id, member_type)
            report[member_type.value] = {"list_id": check.marketing_list.id, "created": check.created,
                                         "repairs": check.repairs}
        return report

    def _owned_list_ids(self, campaign_id: str) -> dict[str, str]:
        found = {}
        for member_type in self.member_types:
            owned = self.ledger.owned_list(campaign_id, member_type.value)
            if owned is not None:
                found[member_type.value] = owned.list_id
        return found

    # -- plan -----------------------------------------------------------------------------------------------

    def plan(self, campaign_id: str, run: RunContext) -> dict[str, Any]:
        """Qualify as of the interval end, compare with the ledger and Dynamics, record the plan."""
        dry_run = run.dry_run
        if self._source_factory is None:
            raise ValueError("a plan needs a qualification source")
        self.check_campaign_owner(campaign_id, preview_take_over=run.take_over)
        result = evaluate(self.spec, self._source_factory(), run.interval_start, run.interval_end)
        log.info("Qualified %d people as of %s (%d people and %d activity rows read)", len(result.qualified),
                 run.interval_end.isoformat(), result.people_scanned, result.activity_rows_read)
        candidates, unresolved = self._resolve(result.qualified)
        for person, why in list(unresolved.items())[:PLAN_PREVIEW]:
            log.warning("Cannot sync %s: %s", person, why)

        source_ids = [c.source_person_id for c in candidates]
        eligible = self.apply_qualification_rule(source_ids, run, record=not dry_run)

        # The ledger before the lists: someone another run adds in between is then not taken for drift (and
        # someone it removes in between is no member any more when drift is recorded).
        members = {
            person_id: CurrentMember(person_id, m.member_type, m.source_person_id, m.added_at)
            for person_id, m in self.ledger.members(campaign_id).items()
        }
        owned = self._owned_list_ids(campaign_id)
        in_owned = {mt: set(self.client.iter_list_member_ids(list_id)) for mt, list_id in owned.items()}
        in_other = self._other_list_members(campaign_id, set(owned.values()))
        drift = self._drift_facts(campaign_id, run, members, in_owned)
        member_sources = [m.source_person_id for m in [*members.values(), *drift.drifted.values()]
                          if m.source_person_id]
        plan = build_plan(
            candidates=candidates, eligible_source_ids=eligible, unresolved=unresolved,
            our_members=members, in_owned_lists=in_owned, in_other_lists=in_other,
            removal_policy=self.spec.removal.policy, removal_days=self.spec.removal.days,
            last_qualified=self.ledger.last_qualified(self.key, member_sources, before=run.interval_end),
            as_of=run.interval_end, drift=drift, drift_policy=self.spec.drift.removed_in_dynamics,
        )
        plan.counts["source_empty"] = int(result.source_empty)
        plan.counts["people_scanned"] = result.people_scanned
        plan.counts["activity_rows_read"] = result.activity_rows_read
        plan.counts.update(result.invalid_rows.plan_counts())
        self.ledger.record_plan(
            campaign_key=self.key, run_id=run.run_id, interval_start=run.interval_start,
            interval_end=run.interval_end, status="dry_run" if dry_run else "planned", counts=plan.counts,
            items=[(e.person_id, e.member_type, e.action, e.reason) for e in plan.entries],
            details=_plan_details(result.invalid_rows, unresolved, plan),
        )
        _log_invalid_rows(result.invalid_rows.as_dict())
        if not dry_run:
            self._record_drift(campaign_id, run, plan)
        self._log_plan(plan, dry_run)
        return {"counts": plan.counts,
                "preview": {"add": [e.person_id for e in plan.adds[:PLAN_PREVIEW]],
                            "remove": [e.person_id for e in plan.removes[:PLAN_PREVIEW]]}}

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

    def _drift_facts(self, campaign_id: str, run: RunContext, members: dict[str, CurrentMember],
                     in_owned: dict[str, set[str]]) -> DriftFacts:
        """What drift needs besides the lists' members: earlier drift, writes in flight, when our lists were
        recorded, and which missing members' records still exist (one request per chunk of ids).

        Drift this run recorded already (a retried plan task) counts as seen now: ``members`` gets those people
        back as members, so the retry plans and counts what the first attempt did."""
        drifted = {}
        for person_id, m in self.ledger.drifted(campaign_id).items():
            entry = CurrentMember(person_id, m.member_type, m.source_person_id, m.added_at, m.status)
            if m.removed_by_run == run.run_id:
                members[person_id] = replace(entry, status=MEMBER)
            else:
                drifted[person_id] = entry
        newest = self.ledger.newest_applied_interval(self.key)
        facts = DriftFacts(
            drifted=drifted,
            in_flight=frozenset(p for intent in self.ledger.pending_intents(self.key) for p in intent.people),
            list_since={o.member_type: o.created_at for o in self.ledger.owned_lists(campaign_id)},
            may_clear=newest is None or run.interval_end >= newest[1],
        )
        by_type: dict[str, list[str]] = {}
        for member in missing_members(members, in_owned, facts).values():
            by_type.setdefault(member.member_type, []).append(member.person_id)
        deleted = set()
        for member_type, person_ids in by_type.items():
            deleted |= set(person_ids) - self.client.existing_ids(MemberType(member_type), person_ids)
        return replace(facts, deleted=frozenset(deleted))

    def _record_drift(self, campaign_id: str, run: RunContext, plan: SyncPlan) -> None:
        """Record the drift the plan noticed and the drift states it cleared (not our action: no asset event)."""
        if not plan.drift and not plan.cleared:
            return
        changed = self.ledger.record_drift(
            campaign_id, run.run_id, noticed={e.person_id: (e.action, e.reason) for e in plan.drift},
            cleared={e.person_id: {**e.reason, "cleared_by_run": run.run_id} for e in plan.cleared})
        log.info("Drift recorded: %d people changed state in the ledger", len(changed))

    def _resolve(self, qualified: Any) -> tuple[list[Candidate], dict[str, str]]:
        """Attach Dynamics ids to people the source knows only by email (matching by email, as Marketo
        does). Unknown leads are created later by the add step; unknown contacts cannot be synced."""
        candidates: list[Candidate] = []
        unresolved: dict[str, str] = {}
        records = qualified.to_dict("records")
        by_type: dict[str, list[str]] = {}
        for row in records:
            if not _present(row.get("dynamics_id")) and _present(row.get("email")):
                by_type.setdefault(row["member_type"], []).append(row["email"])
        found = {mt: people_by_email(self.client, self.ledger, MemberType(mt), emails)
                 for mt, emails in by_type.items()}
        for row in records:
            source_id, member_type = str(row["person_id"]), row["member_type"]
            dynamics_id = row.get("dynamics_id") if _present(row.get("dynamics_id")) else None
            email = row.get("email") if _present(row.get("email")) else None
            if problem := _unsyncable_ids(source_id, dynamics_id):
                unresolved[_shortened(source_id)] = problem
                continue
            if dynamics_id is None and email:
                match = found.get(member_type, {}).get(email.lower())
                dynamics_id = match.id if match else None
            if dynamics_id is None and (member_type != "lead" or not email):
                unresolved[source_id] = ("no Dynamics id and no email to match" if not email
                                         else f"no {member_type} with email {email} in Dynamics")
                continue
            candidates.append(Candidate(source_id, member_type, dynamics_id and str(dynamics_id).lower(), email,
                                        parse_reasons(row["reasons"]) if row.get("reasons") else {}))
        return candidates, unresolved

    def _other_list_members(self, campaign_id: str, owned_ids: set[str]) -> dict[str, set[str]]:
        """Members of the campaign's other lists, by member type (for counting "not ours")."""
        members: dict[str, set[str]] = {}
        for marketing_list in self.client.campaign_lists(campaign_id):
            if marketing_list.id in owned_ids or marketing_list.member_type is None:
                continue
            members.setdefault(marketing_list.member_type.value, set()).update(
                self.client.iter_list_member_ids(marketing_list.id))
        return members

    def _log_plan(self, plan: SyncPlan, dry_run: bool) -> None:
        log.info("%s for %s: %s", "DRY RUN plan" if dry_run else "Plan", self.key,
                 ", ".join(f"{k}={v}" for k, v in plan.counts.items()))
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

    # -- guard ----------------------------------------------------------------------------------------------

    def guard(self, run: RunContext, *, override: bool) -> bool:
        """Check the plan against the spec's limits, then claim the interval.

        Returns True when the run may write, False when a newer interval was already applied
        (the plan is kept as superseded). Raises :class:`GuardError` when a limit is broken.
        """
        plan = self.ledger.plan(self.key, run.run_id)
        if plan is None:
            raise GuardError(f"{self.key}: run {run.run_id} has no plan")
        problems = self.guard_problems(plan.counts)
        if problems and not override:
            self.ledger.update_plan_status(self.key, run.run_id, "blocked")
            self.ledger.forget_qualifications(self.key, run.run_id)
            raise GuardError(f"{self.key}: {'; '.join(problems)}. Nothing was written. Re-run with the "
                             "param override_guard=true if this change is intended.")
        for problem in problems:
            log.warning("Guard overridden: %s", problem)
        may_write = self.ledger.claim_interval(self.key, run.run_id)
        if not may_write:
            newest = self.ledger.newest_applied_interval(self.key)
            log.warning("Interval ending %s is older than the newest applied interval (ending %s): plan "
                        "recorded as superseded, nothing will be written", run.interval_end.isoformat(),
                        newest[1].isoformat() if newest else "?")
        return may_write

    def check_approved(self, run: RunContext) -> None:
        """Refuse to write unless the run's plan was approved by the guard (status ``applied``)."""
        plan = self.ledger.plan(self.key, run.run_id)
        status = plan.status if plan else "missing"
        if run.dry_run or status != "applied":
            why = "it is a dry run" if run.dry_run else f"its plan is {status!r}, not approved by the guard"
            raise PlanNotApprovedError(f"{self.key}: run {run.run_id} writes nothing: {why}")

    def guard_problems(self, counts: dict[str, int]) -> list[str]:
        guard, members = self.spec.guard, counts.get("current_members", 0)
        problems = []
        if counts.get("source_empty") and not guard.allow_empty_source:
            problems.append("the source returned no people at all (empty-source guard)")
        problems.extend(self._invalid_rows_problems(counts))
        max_adds, max_removes = guard.max_adds_for(members), guard.max_removes_for(members)
        if max_adds is not None and counts.get("to_add", 0) > max_adds:
            problems.append(f"{counts['to_add']} adds exceed max_adds {guard.max_adds} (= {max_adds})")
        if max_removes is not None and counts.get("to_remove", 0) > max_removes:
            problems.append(f"{counts['to_remove']} removes exceed max_removes {guard.max_removes} "
                            f"(= {max_removes} of {members} current members)")
        return problems

    def _invalid_rows_problems(self, counts: dict[str, int]) -> list[str]:
        """``max_invalid_rows`` against the invalid source rows the plan left out, of all rows it read."""
        guard, invalid = self.spec.guard, counts.get(INVALID_ROWS, 0)
        rows_read = counts.get("people_scanned", 0) + counts.get("activity_rows_read", 0)
        limit = guard.max_invalid_rows_for(rows_read)
        if limit is None or invalid <= limit:
            return []
        kinds = ", ".join(f"{kind} {n}" for kind, n in kinds_in_counts(counts).items())
        return [f"{invalid} invalid source rows ({kinds}) exceed max_invalid_rows {guard.max_invalid_rows} "
                f"(= {limit} of {rows_read} rows read)"]

    # -- writes ---------------------------------------------------------------------------------------------

    def apply(self, action: str, campaign_id: str, run: RunContext) -> WriteOutcome:
        """Heal what a crashed attempt left, then send this run's planned adds or removes — only for a plan the
        guard approved; anything else raises :class:`PlanNotApprovedError` before any request."""
        self.check_campaign_owner(campaign_id)  # ensure_lists claimed it
        self.check_approved(run)
        with self.write_lock.held(run.run_id) as keep_alive:
            return self._apply_locked(action, campaign_id, run, keep_alive)

    def _apply_locked(self, action: str, campaign_id: str, run: RunContext,
                      keep_alive: Callable[[], None]) -> WriteOutcome:
        writer = MembershipWriter(self.client, self.ledger, campaign_key=self.key, campaign_id=campaign_id,
                                  after_chunk=keep_alive)
        outcome = WriteOutcome()
        writer.heal_pending(outcome)
        items = self.ledger.plan_items(self.key, run.run_id, action=action)
        done = self.ledger.membership(campaign_id, [i.person_id for i in items
                                                    if not i.person_id.startswith(NEW_PERSON_PREFIX)])
        planned_at = self.ledger.plan(self.key, run.run_id).created_at
        _log_overlapping_changes(items, done, action, run.run_id, planned_at)
        owned = self._owned_list_ids(campaign_id)
        for member_type in self.member_types:
            people = {i.person_id: dict(i.reason or {}) for i in items if i.member_type == member_type.value
                      and not _already_done(done.get(i.person_id), action, run.run_id, planned_at)}
            if action == "add" and member_type is MemberType.LEAD:
                people = self._create_missing_leads(people, run.run_id, outcome)
            if not people:
                continue
            list_id = owned.get(member_type.value)
            if list_id is None:
                raise ValueError(f"{self.key}: no owned {member_type.value} list for campaign {campaign_id}; "
                                 "the ensure_lists task must run first")
            writer.write(action=action, list_id=list_id, member_type=member_type, run_id=run.run_id,
                         interval=run.interval, people=people, outcome=outcome)
        for person, error in list(outcome.failed.items())[:PLAN_PREVIEW]:
            log.warning("Could not %s %s: %s", action, person, error)
        return outcome

    def _create_missing_leads(self, people: dict[str, dict[str, Any]], run_id: str,
                              outcome: WriteOutcome) -> dict[str, dict]:
        """Replace ``new:<source id>`` entries by real leads: matched by email first (so a retry after a
        crash finds the lead it created), created otherwise — Marketo's "synced over automatically".

        Emails are compared case-insensitively, so people who share one resolve to one lead (it keeps the
        first one's reason). Missing leads are created by one ``create_leads`` call (``$batch`` requests of
        up to 1,000; created with ids derived from the emails, so resending never duplicates a lead). A lead
        Dynamics refuses is recorded in ``outcome.failed`` and the ledger's failures under each of its people's
        plan ids (``new:<source id>``), and everyone else goes on."""
        new = {p: r for p, r in people.items() if p.startswith(NEW_PERSON_PREFIX)}
        if not new:
            return people
        resolved = {p: r for p, r in people.items() if p not in new}
        by_email: dict[str, list[str]] = {}  # lower-cased email -> plan ids of the people who have it
        for plan_id, reason in new.items():
            by_email.setdefault(reason["email"].strip().lower(), []).append(plan_id)
        emails = {key: new[plan_ids[0]]["email"].strip() for key, plan_ids in by_email.items()}
        existing = self.client.find_people_by_email(MemberType.LEAD, emails.values())
        lead_ids = {key: existing[key].id for key in by_email if key in existing}
        missing = [key for key in by_email if key not in lead_ids]
        requests_before = self.client.stats.requests
        created = self.client.create_leads([NewLead(email=emails[key]) for key in missing]) if missing else []
        requests = self.client.stats.requests - requests_before
        refused = 0
        for key, result in zip(missing, created, strict=True):
            if isinstance(result, str):
                lead_ids[key] = result
                continue
            refused += 1
            error = " ".join(filter(None, ["lead not created: HTTP", str(result.status), result.code]))
            for plan_id in by_email[key]:
                outcome.failed[plan_id] = f"{error}: {result.message}"
        for key, plan_ids in by_email.items():
            if key in lead_ids:
                resolved.setdefault(lead_ids[key], new[plan_ids[0]])
        self.ledger.record_failures(
            self.key, run_id, "add", {p: e for p, e in outcome.failed.items() if p in new},
            succeeded=[p for key, plan_ids in by_email.items() if key in lead_ids for p in plan_ids])
        log.info("%d people known only by email (%d distinct emails): %d matched existing leads, %d leads created "
                 "in %d requests, %d refused by Dynamics", len(new), len(by_email), len(by_email) - len(missing),
                 len(missing) - refused, requests, refused)
        return resolved

    # -- publication ----------------------------------------------------------------------------------------

    def batches_to_publish(self, action: str, run_id: str, *, delivered_since: Callable[[dt.datetime], set[str]],
                           republish: bool = False) -> list[EventBatch]:
        """The event batches to emit now, marked as handed over: every batch of the campaign whose asset event
        is not known to be in Airflow (this run's and any an earlier run left), so each change reaches
        downstream DAGs exactly once however often a run is re-executed.

        A batch an earlier attempt handed over but never confirmed (a crash after the event, before the ledger
        heard of it) is looked up in Airflow's own asset events — ``delivered_since(t)`` returns the batch ids
        named by the events since ``t`` — and confirmed instead of emitted again. ``republish`` (the DAG param
        ``republish_events``) emits this run's batches again on purpose."""
        batches = self.ledger.event_batches(campaign_key=self.key, action=action, unconfirmed_only=True)
        handed_over = [b for b in batches if b.published_at is not None]
        if handed_over:
            in_airflow = delivered_since(min(b.published_at for b in handed_over if b.published_at))
            delivered = [b.batch_id for b in handed_over if b.batch_id in in_airflow]
            if delivered:
                log.info("Asset events for batches %s are already in Airflow: confirmed, not emitted again",
                         delivered)
                self.ledger.confirm_published(delivered, dt.datetime.now(dt.UTC))
            batches = [b for b in batches if b.batch_id not in delivered]
        if republish:
            pending = {b.batch_id for b in batches}
            again = [b for b in self.ledger.event_batches(campaign_key=self.key, run_id=run_id, action=action)
                     if b.batch_id not in pending]
            if again:
                log.warning("republish_events: emitting batches %s again; downstream DAGs will see them twice",
                            [b.batch_id for b in again])
            batches += again
        if batches:
            self.ledger.mark_published([b.batch_id for b in batches], dt.datetime.now(dt.UTC))
        return batches

    def confirm_published(self, batch_ids: list[str]) -> None:
        """The publish task that emitted these batches succeeded, so Airflow holds their asset events."""
        self.ledger.confirm_published(batch_ids, dt.datetime.now(dt.UTC))

    # -- housekeeping ---------------------------------------------------------------------------------------

    def thin_history(self, as_of: dt.datetime) -> int:
        """Bound the qualification history: keep every row of the last :data:`HISTORY_KEPT_DAYS` (or the
        rules' N days, if longer) before ``as_of``, and only each person's first qualification before that."""
        days = max(HISTORY_KEPT_DAYS, self.spec.qualification.days or 0, self.spec.removal.days or 0)
        thinned = self.ledger.thin_qualification_history(self.key, older_than=as_of - dt.timedelta(days=days))
        if thinned:
            log.info("Qualification history: %d rows older than %d days thinned (each person's first is kept)",
                     thinned, days)
        return thinned


def _unsyncable_ids(source_id: str, dynamics_id: Any) -> str | None:
    """Why a person's ids cannot go into the ledger (a per-person failure, never a failed run), or None."""
    if len(source_id) > SOURCE_ID_MAX:
        return (f"source person id is {len(source_id)} characters long; the table contract allows at most "
                f"{SOURCE_ID_MAX}")
    if dynamics_id is not None and not _GUID.fullmatch(str(dynamics_id)):
        return f"dynamics_id {_shortened(str(dynamics_id))!r} is not a Dynamics id (a GUID)"
    return None


def _shortened(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


#: People named per "could not act" kind in a plan's details (the counts stay exact beyond it).
NAMED_PER_KIND = 200


def _plan_details(invalid_rows: Any, unresolved: dict[str, str], plan: SyncPlan) -> dict[str, Any] | None:
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


def _present(value: Any) -> bool:
    return value is not None and value == value and str(value).strip() != ""  # value == value: not NaN


def _already_done(membership: Any, action: str, run_id: str, planned_at: dt.datetime) -> bool:
    """Skip people already in the state the plan wants: changed by an earlier attempt of this run, or by another
    run that wrote after this plan was made (an overlapping run, whose plan came from the same ledger state).
    A ledger member missing from a re-created owned list is not skipped: the plan adds them back."""
    if action == "add":
        return membership is not None and membership.is_member and (
            membership.added_by_run == run_id or (membership.added_at or planned_at) > planned_at)
    return membership is None or (not membership.is_member and (
        membership.removed_by_run == run_id or (membership.removed_at or planned_at) > planned_at))


def _log_overlapping_changes(items: list[Any], done: dict[str, Any], action: str, run_id: str,
                             planned_at: dt.datetime) -> None:
    """Say, in words, when another run already made some of this plan's changes (no error: nothing to do)."""
    by_other = [(item.person_id, done[item.person_id]) for item in items if item.person_id in done
                and _already_done(done[item.person_id], action, run_id, planned_at)
                and (done[item.person_id].added_by_run if action == "add"
                     else done[item.person_id].removed_by_run) not in (run_id, None)]
    if by_other:
        runs = sorted({(m.added_by_run if action == "add" else m.removed_by_run) for _, m in by_other})
        log.warning("%d people of this plan were already %s by run(s) %s, which wrote to this campaign after this "
                    "plan was made: they are skipped, nothing to do for them", len(by_other),
                    "added" if action == "add" else "removed", ", ".join(runs))
