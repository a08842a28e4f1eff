"""The :class:`Ledger` facade: one object that operators, sensors and the dashboard talk to.

It checks arguments, picks the transaction (reads see one consistent snapshot; writes take the writers' lock
and commit atomically) and delegates to one module per concern.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from dynamics_campaign_sync.ledger import (
    catalog,
    deltas,
    email_ids,
    events,
    failures,
    history,
    intents,
    lists,
    locks,
    membership,
    migrations,
    overview,
    owners,
    plans,
    reports,
    watermarks,
)
from dynamics_campaign_sync.ledger.checks import (
    ACTIONS,
    DELETED_IN_DYNAMICS,
    DRIFT_STATES,
    MEMBER_TYPES,
    PLAN_MODES,
    PLAN_STATUSES,
    as_interval,
    as_utc,
    checked_counts,
    checked_details,
    choice,
    ids,
    preview,
    text,
)
from dynamics_campaign_sync.ledger.engine import configure_engine, create_ledger_engine, writer
from dynamics_campaign_sync.ledger.errors import LedgerError
from dynamics_campaign_sync.ledger.models import (
    CampaignLock,
    CampaignOwner,
    EventBatch,
    Intent,
    IntentHead,
    Membership,
    OwnedList,
    Plan,
    PlanItem,
    Watermark,
)
from dynamics_campaign_sync.utc import utc_now


class Ledger:
    """Our own record of the people we added to Dynamics campaigns, and of everything around it.

    Build it with :meth:`from_url` (a SQLAlchemy URL; SQLite by default, PostgreSQL in production) or around an
    existing engine, and call :meth:`migrate` once before use. Every datetime going in must be timezone-aware;
    every datetime coming out is aware UTC.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._engine = configure_engine(engine)
        self._writer = writer(engine)
        self._clock = clock
        self._owns_engine = False

    @classmethod
    def from_url(cls, url: str, **engine_kwargs: Any) -> Ledger:
        """A ledger on a new engine for ``url`` (``engine_kwargs`` go to :func:`sqlalchemy.create_engine`)."""
        ledger = cls(create_ledger_engine(url, **engine_kwargs))
        ledger._owns_engine = True
        return ledger

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        """Release the connection pool if this ledger created it."""
        if self._owns_engine:
            self._engine.dispose()

    def __repr__(self) -> str:
        return f"Ledger({self._engine.url.render_as_string(hide_password=True)!r})"

    def _now(self) -> datetime:
        return as_utc(self._clock(), "clock")

    # -- schema ------------------------------------------------------------------------------------------------

    def migrate(self) -> int:
        """Create or upgrade the schema (idempotent, safe from concurrent tasks); return the schema version."""
        with self._writer.begin() as connection:
            return migrations.migrate(connection, self._now())

    def schema_version(self) -> int:
        """The database's schema version (0 before the first :meth:`migrate`)."""
        with self._engine.connect() as connection:
            return migrations.current_version(connection)

    # -- Dataverse people snapshots ----------------------------------------------------------------------------

    def people_snapshot(self, scope: str) -> deltas.PeopleSnapshot | None:
        """A Dataverse people read's snapshot and delta link (None before its first tracked read)."""
        with self._engine.connect() as connection:
            return deltas.load(connection, text(scope, "scope"))

    def save_people_snapshot(self, scope: str, *, columns: Sequence[str], delta_link: str,
                             changed: dict[str, dict[str, Any]], deleted: Sequence[str], replace: bool) -> int:
        """Apply a tracked read (``replace``) or a delta read to the snapshot and keep its new delta link, in one
        transaction; return how many records the snapshot holds."""
        with self._writer.begin() as connection:
            return deltas.save(connection, text(scope, "scope"), columns=columns,
                               delta_link=text(delta_link, "delta_link"), changed=changed, deleted=deleted,
                               replace=replace, now=self._now())

    # -- campaign catalog --------------------------------------------------------------------------------------

    def upsert_campaigns(self, campaigns: Iterable[Mapping[str, Any]], refreshed_at: datetime) -> int:
        """Insert or refresh campaigns read from Dynamics (keys ``campaign_id`` or ``campaignid`` or ``id``,
        ``name``, ``statecode``, ``statuscode``); return how many were written."""
        refreshed = as_utc(refreshed_at, "refreshed_at")
        with self._writer.begin() as connection:
            return catalog.upsert_campaigns(connection, campaigns, refreshed)

    def campaigns(self, *, with_owner: bool = False) -> list[dict[str, Any]]:
        """Every catalogued campaign (``campaign_id``, ``name``, ``statecode``, ``statuscode``, ``refreshed_at``;
        with ``with_owner`` also ``synced_by``, the key of the spec that syncs it, or None)."""
        with self._engine.connect() as connection:
            return catalog.all_campaigns(connection, with_owner=with_owner)

    # -- campaign owners ---------------------------------------------------------------------------------------

    def campaign_owner(self, campaign_id: str) -> CampaignOwner | None:
        """The spec that syncs the campaign (None before its first sync)."""
        with self._engine.connect() as connection:
            return owners.owner(connection, text(campaign_id, "campaign_id"))

    def check_campaign_owner(self, campaign_id: str, campaign_key: str) -> CampaignOwner | None:
        """The campaign's owner; raises :class:`~.owners.CampaignClaimedError` if that is another spec."""
        with self._engine.connect() as connection:
            return owners.check(connection, text(campaign_id, "campaign_id"), text(campaign_key, "campaign_key"))

    def claim_campaign(self, campaign_id: str, campaign_key: str, run_id: str, *, take_over: bool = False
                       ) -> CampaignOwner:
        """Make ``campaign_key`` the spec that syncs the campaign. Raises :class:`~.owners.CampaignClaimedError`
        if another spec owns it, unless ``take_over`` (the owner becomes ``campaign_key``, the old one is kept
        as ``previous_key``)."""
        arguments = {"campaign_id": text(campaign_id, "campaign_id"),
                     "campaign_key": text(campaign_key, "campaign_key"), "run_id": text(run_id, "run_id")}
        with self._writer.begin() as connection:
            return owners.claim(connection, **arguments, take_over=take_over, now=self._now())

    # -- owned lists -------------------------------------------------------------------------------------------

    def owned_list(self, campaign_id: str, member_type: str) -> OwnedList | None:
        with self._engine.connect() as connection:
            return lists.owned_list(connection, campaign_id, choice(member_type, MEMBER_TYPES, "member_type"))

    def save_owned_list(
        self,
        campaign_id: str,
        member_type: str,
        list_id: str,
        list_name: str,
        verified_at: datetime,
    ) -> OwnedList:
        """Remember the list we created and associated for ``(campaign_id, member_type)``, when we last saw
        it associated, and (for an unchanged list id) keep its creation time.

        Raises :class:`LedgerError` if ``list_id`` is owned for another campaign or member type. A different list
        for the same pair replaces the old mapping (the old list was deleted in Dynamics and re-created).
        """
        arguments: dict[str, Any] = {
            "campaign_id": text(campaign_id, "campaign_id"),
            "member_type": choice(member_type, MEMBER_TYPES, "member_type"),
            "list_id": text(list_id, "list_id"),
            "list_name": text(list_name, "list_name"),
            "verified_at": as_utc(verified_at, "verified_at"),
        }
        with self._writer.begin() as connection:
            return lists.save_owned_list(connection, **arguments, now=self._now())

    def owned_lists(self, campaign_id: str | None = None) -> list[OwnedList]:
        with self._engine.connect() as connection:
            return lists.owned_lists(connection, campaign_id)

    # -- membership --------------------------------------------------------------------------------------------

    def members(self, campaign_id: str, member_type: str | None = None) -> dict[str, Membership]:
        """The people we added to the campaign and have not removed, by person id."""
        kind = None if member_type is None else choice(member_type, MEMBER_TYPES, "member_type")
        with self._engine.connect() as connection:
            return membership.members(connection, campaign_id, kind)

    def campaign_sync_members(self, campaign_key: str) -> set[str]:
        """The people (Dynamics ids) the campaign sync ``campaign_key`` currently has in its campaign."""
        with self._engine.connect() as connection:
            return membership.campaign_sync_members(connection, text(campaign_key, "campaign_key"))

    def membership(self, campaign_id: str, person_ids: Sequence[str]) -> dict[str, Membership]:
        """Whatever we know about these people in the campaign, members or removed; unknown people are absent."""
        with self._engine.connect() as connection:
            return membership.membership(connection, campaign_id, ids(person_ids, "person_id"))

    # -- per-campaign write lock -------------------------------------------------------------------------------

    def acquire_campaign_lock(self, campaign_key: str, holder: str, lease: timedelta) -> CampaignLock | None:
        """Take (or renew) the campaign's write lock for ``holder`` (a run id) for ``lease``; return None when it
        is ours, else the lock another holder has."""
        key, who = text(campaign_key, "campaign_key"), text(holder, "holder")
        with self._writer.begin() as connection:
            return locks.acquire(connection, key, who, self._now(), lease)

    def renew_campaign_lock(self, campaign_key: str, holder: str, lease: timedelta) -> bool:
        """Extend the lease; False when ``holder`` lost the lock (it expired and another run took it)."""
        with self._writer.begin() as connection:
            return locks.renew(connection, campaign_key, holder, self._now(), lease)

    def release_campaign_lock(self, campaign_key: str, holder: str) -> None:
        with self._writer.begin() as connection:
            locks.release(connection, campaign_key, holder)

    def drifted(self, campaign_id: str) -> dict[str, Membership]:
        """People we added whose lead/contact was deleted in Dynamics or who were taken out of our owned list
        by someone else (status ``deleted_in_dynamics`` / ``removed_in_dynamics``), by person id."""
        with self._engine.connect() as connection:
            return membership.drifted(connection, text(campaign_id, "campaign_id"))

    def record_drift(
        self,
        campaign_id: str,
        run_id: str,
        *,
        noticed: Mapping[str, tuple[str, Mapping[str, Any]]],
        cleared: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> list[str]:
        """Record the drift a run noticed (member id → (drift state, why)) and the ``removed_in_dynamics``
        states it cleared (id → why: they stopped qualifying); return the ids whose state changed.

        Drift is not our action: no event is recorded for it, so no "removed" asset event fires. Only members
        move to a drift state, and only ``removed_in_dynamics`` rows are cleared (to ``removed``).
        """
        arguments = {"campaign_id": text(campaign_id, "campaign_id"), "run_id": text(run_id, "run_id")}
        states = {}
        for person_id, (state, reason) in noticed.items():
            states[text(person_id, "person_id")] = (choice(state, DRIFT_STATES, f"drift state of {person_id}"),
                                                    _reason(reason, f"drift of {person_id}"))
        ended = {text(p, "person_id"): _reason(r, f"cleared drift of {p}") for p, r in (cleared or {}).items()}
        both = sorted(set(states) & set(ended))
        if both:
            raise LedgerError(f"drift of campaign {campaign_id}, run {run_id}: people both noticed and cleared: "
                              f"{preview(both)}")
        with self._writer.begin() as connection:
            changed = membership.record_drift(connection, **arguments, noticed=states, cleared=ended, now=self._now())
            email_ids.forget(connection, [p for p, (state, _) in states.items() if state == DELETED_IN_DYNAMICS])
            return changed

    # -- people known only by email ----------------------------------------------------------------------------

    def remembered_person_ids(self, member_type: str, emails: Iterable[str]) -> dict[str, str]:
        """``{lower-cased email: Dynamics id}`` of these emails resolved by an earlier run (others are absent)."""
        kind = choice(member_type, MEMBER_TYPES, "member_type")
        wanted = sorted({text(email, "email").strip().lower() for email in emails})
        with self._engine.connect() as connection:
            return email_ids.remembered(connection, kind, wanted)

    def remember_person_ids(self, member_type: str, found: Mapping[str, str]) -> None:
        """Remember which Dynamics id each email (any case) resolved to."""
        kind = choice(member_type, MEMBER_TYPES, "member_type")
        rows = {text(email, "email").strip().lower(): text(person_id, "person_id").lower()
                for email, person_id in found.items()}
        if rows:
            with self._writer.begin() as connection:
                email_ids.remember(connection, kind, rows, self._now())

    def forget_person_ids(self, person_ids: Iterable[str]) -> int:
        """Forget the emails resolved to these Dynamics ids (the records are gone); return how many went."""
        wanted = sorted({text(p, "person_id").lower() for p in person_ids})
        if not wanted:
            return 0
        with self._writer.begin() as connection:
            return email_ids.forget(connection, wanted)

    # -- intents -----------------------------------------------------------------------------------------------

    def begin_intent(
        self,
        *,
        campaign_key: str,
        campaign_id: str,
        list_id: str,
        member_type: str,
        action: str,
        run_id: str,
        interval_start: datetime,
        interval_end: datetime,
        people: Mapping[str, Mapping[str, Any] | None],
        source_ids: Mapping[str, str] | None = None,
    ) -> str:
        """Commit the intent to send ``people`` (person id → reason) to the owned list; return its id.

        Call it before the request to Dynamics. Refuses to remove anyone who is not a member we added.
        """
        if not people:
            raise LedgerError(
                f"intent for campaign {campaign_id} ({campaign_key}), run {run_id} names nobody"
            )
        ids(people, "person_id")
        start, end = as_interval(interval_start, interval_end, f"intent for campaign {campaign_key}")
        head = IntentHead(
            campaign_key=text(campaign_key, "campaign_key"),
            campaign_id=text(campaign_id, "campaign_id"),
            list_id=text(list_id, "list_id"),
            member_type=choice(member_type, MEMBER_TYPES, "member_type"),
            action=choice(action, ACTIONS, "action"),
            run_id=text(run_id, "run_id"),
            interval_start=start,
            interval_end=end,
        )
        with self._writer.begin() as connection:
            return intents.begin(connection, head, dict(people), dict(source_ids or {}), self._now())

    def pending_intents(self, campaign_key: str) -> list[Intent]:
        """Intents begun but never completed (a crash or a failed task): re-send them, then complete them."""
        with self._engine.connect() as connection:
            return intents.pending(connection, campaign_key)

    def complete_intent(
        self, intent_id: str, *, succeeded: Sequence[str], failed: Mapping[str, str]
    ) -> str | None:
        """Record Dynamics' answer in one transaction; return the event batch id, or None when no membership
        changed (nothing succeeded, or everyone was already in the requested state).

        Every person of the intent must appear in ``succeeded`` or in ``failed`` (person id → error message).
        Completing an intent again changes nothing and returns the same batch id.
        """
        done = ids(succeeded, "person_id")
        errors = {text(person_id, "person_id"): str(error) for person_id, error in failed.items()}
        with self._writer.begin() as connection:
            return intents.complete(connection, intent_id, succeeded=done, failed=errors, now=self._now())

    # -- events ------------------------------------------------------------------------------------------------

    def event_batches(
        self,
        *,
        campaign_key: str | None = None,
        run_id: str | None = None,
        action: str | None = None,
        unpublished_only: bool = False,
        unconfirmed_only: bool = False,
    ) -> list[EventBatch]:
        """Event batches, oldest first, filtered by campaign, run, action, publication and its confirmation."""
        kind = None if action is None else choice(action, ACTIONS, "action")
        with self._engine.connect() as connection:
            return events.event_batches_matching(
                connection,
                campaign_key=campaign_key,
                run_id=run_id,
                action=kind,
                unpublished_only=unpublished_only,
                unconfirmed_only=unconfirmed_only,
            )

    def batch_events(self, batch_id: str) -> list[dict[str, Any]]:
        """The events of a batch: ``person_id``, ``member_type``, ``action``, ``reason``, campaign, run, interval."""
        with self._engine.connect() as connection:
            return events.batch_events(connection, batch_id)

    def mark_published(self, batch_ids: Sequence[str], published_at: datetime) -> None:
        """Record that the asset events naming these batches were emitted (a batch is published once)."""
        self._stamp_batches(events.mark_published, batch_ids, as_utc(published_at, "published_at"))

    def confirm_published(self, batch_ids: Sequence[str], confirmed_at: datetime) -> None:
        """Record that Airflow holds the asset events naming these batches, so no re-run emits them again."""
        self._stamp_batches(events.confirm_published, batch_ids, as_utc(confirmed_at, "confirmed_at"))

    def _stamp_batches(self, stamp: Callable[[Connection, Sequence[str], datetime], None],
                       batch_ids: Sequence[str], when: datetime) -> None:
        wanted = ids(batch_ids, "batch_id")
        if wanted:
            with self._writer.begin() as connection:
                stamp(connection, wanted, when)

    # -- plans and intervals -----------------------------------------------------------------------------------

    def record_plan(
        self,
        *,
        campaign_key: str,
        run_id: str,
        interval_start: datetime,
        interval_end: datetime,
        status: str,
        counts: Mapping[str, int],
        items: Iterable[tuple[str, str, str, Mapping[str, Any] | None]] = (),
        details: Mapping[str, Any] | None = None,
        mode: str = "batch",
    ) -> None:
        """Create or overwrite a run's plan; ``items`` are ``(person_id, member_type, action, reason)``,
        ``details`` small JSON kept beside the counts (the invalid source rows by kind, with example ids),
        ``mode`` ``batch`` or ``trigger`` (a triggered run's plan never supersedes a batch interval)."""
        start, end = as_interval(interval_start, interval_end, f"plan of campaign {campaign_key}")
        key, run = text(campaign_key, "campaign_key"), text(run_id, "run_id")
        what = f"plan of campaign {key}, run {run}"
        plan = {
            "mode": choice(mode, PLAN_MODES, "mode"),
            "interval_start": start,
            "interval_end": end,
            "status": choice(status, PLAN_STATUSES, "status"),
            "counts": checked_counts(counts, what),
            "details": checked_details(details, what) or None,
        }
        checked_items = _plan_items(items, what)
        with self._writer.begin() as connection:
            plans.record(connection, key, run, plan, checked_items, self._now())

    def update_plan_status(
        self, campaign_key: str, run_id: str, status: str, counts: Mapping[str, int] | None = None
    ) -> None:
        """Move a plan to ``status`` and merge ``counts`` into its counts."""
        new_status = choice(status, PLAN_STATUSES, "status")
        merged = (
            None
            if counts is None
            else checked_counts(counts, f"plan of campaign {campaign_key}, run {run_id}")
        )
        with self._writer.begin() as connection:
            plans.update_status(connection, campaign_key, run_id, new_status, merged, self._now())

    def claim_interval(self, campaign_key: str, run_id: str) -> bool:
        """Atomically decide whether a recorded plan may write: ``applied`` (True) if its interval ends after
        every other applied plan of the campaign, else ``superseded`` (False)."""
        with self._writer.begin() as connection:
            return plans.claim_interval(connection, campaign_key, run_id, self._now())

    def plan(self, campaign_key: str, run_id: str) -> Plan | None:
        with self._engine.connect() as connection:
            return plans.plan(connection, campaign_key, run_id)

    def plan_items(
        self, campaign_key: str, run_id: str, *, action: str | None = None, limit: int | None = None
    ) -> list[PlanItem]:
        """The people of a plan (for the dashboard), optionally one action and at most ``limit``."""
        kind = None if action is None else choice(action, ACTIONS, "action")
        with self._engine.connect() as connection:
            return plans.items(connection, campaign_key, run_id, kind, limit)

    def latest_plan(self, campaign_key: str, status: str | None = None) -> Plan | None:
        wanted = None if status is None else choice(status, PLAN_STATUSES, "status")
        with self._engine.connect() as connection:
            return plans.latest(connection, campaign_key, wanted)

    def newest_applied_interval(self, campaign_key: str) -> tuple[datetime, datetime] | None:
        """``(start, end)`` of the applied plan with the latest interval end, or None."""
        with self._engine.connect() as connection:
            return plans.newest_applied_interval(connection, campaign_key)

    # -- trigger watermarks ------------------------------------------------------------------------------------

    def watermark(self, campaign_key: str) -> Watermark | None:
        """How far the campaign's triggered runs have evaluated the activities table (None: not yet)."""
        with self._engine.connect() as connection:
            return watermarks.get(connection, text(campaign_key, "campaign_key"))

    def advance_watermark(self, campaign_key: str, position: int | datetime, *, event_time: datetime | None,
                          run_id: str) -> Watermark:
        """Move the watermark forward to ``position`` (never back: a slower overlapping run leaves a further
        position alone); return the watermark now stored."""
        when = None if event_time is None else as_utc(event_time, "event_time")
        with self._writer.begin() as connection:
            return watermarks.advance(connection, text(campaign_key, "campaign_key"), position, when,
                                      text(run_id, "run_id"), self._now())

    def record_failures(self, campaign_key: str, run_id: str, action: str, failed: Mapping[str, str], *,
                        succeeded: Sequence[str] = ()) -> None:
        """Record per-person failures outside an intent (a lead Dynamics would not create), and forget earlier
        failures of the ``succeeded`` people of this run."""
        arguments = {"campaign_key": text(campaign_key, "campaign_key"), "run_id": text(run_id, "run_id"),
                     "action": choice(action, ACTIONS, "action")}
        errors = {text(person_id, "person_id"): str(error) for person_id, error in failed.items()}
        with self._writer.begin() as connection:
            failures.record(connection, **arguments, failed=errors, succeeded=ids(succeeded, "person_id"),
                            now=self._now())

    def failures(self, campaign_key: str, run_id: str, action: str | None = None) -> dict[str, str]:
        """``{person_id: error}`` of the people the run still failed to add or remove."""
        kind = None if action is None else choice(action, ACTIONS, "action")
        with self._engine.connect() as connection:
            return failures.failures(connection, campaign_key, run_id, kind)

    # -- reports (read-only, for the dashboard) -----------------------------------------------------------------

    def events_page(
        self, campaign_key: str, wanted: reports.EventFilter | None = None, *, limit: int | None = None,
        offset: int = 0,
    ) -> tuple[int, list[dict[str, Any]]]:
        """``(total, events)``: how many events of the campaign match ``wanted``, and one page of them, newest
        first (all of them without ``limit``)."""
        wanted = wanted or reports.EventFilter()
        if wanted.action is not None:
            choice(wanted.action, ACTIONS, "action")
        if limit is not None and limit < 1 or offset < 0:
            raise LedgerError(f"events_page: limit must be at least 1 and offset not negative, got {limit}, {offset}")
        with self._engine.connect() as connection:
            return reports.events_page(connection, campaign_key, wanted, limit, offset)

    def membership_over_time(self, campaign_key: str) -> list[dict[str, Any]]:
        """Per day: ``date``, ``added``, ``removed`` and ``members`` (the count after that day), oldest first."""
        with self._engine.connect() as connection:
            return reports.membership_over_time(connection, campaign_key)

    def last_adds(self, campaign_key: str, run_ids: Iterable[str]) -> dict[str, datetime]:
        """``{run_id: when its last add was recorded}`` for those of ``run_ids`` that added someone."""
        with self._engine.connect() as connection:
            return reports.last_adds(connection, campaign_key, run_ids)

    def run_failures(self, campaign_key: str, run_id: str) -> list[dict[str, Any]]:
        """The people ``run_id`` still fails to add or remove: error, action, member type and plan reason."""
        with self._engine.connect() as connection:
            return reports.run_failures(connection, campaign_key, run_id)

    def person_report(self, who: str) -> dict[str, list[Any]]:
        """Everything recorded about one person (a Dynamics id, source id or email) across campaigns."""
        with self._engine.connect() as connection:
            return reports.person_report(connection, text(who, "person"))

    def campaign_keys(self) -> set[str]:
        """Every campaign key the ledger knows (plans or memberships), with or without a spec today."""
        with self._engine.connect() as connection:
            return overview.campaign_keys(connection)

    def synced_campaign_ids(self, campaign_keys: Iterable[str]) -> dict[str, str]:
        """``{campaign_key: campaign_id}`` as the syncs last wrote it."""
        with self._engine.connect() as connection:
            return overview.synced_campaign_ids(connection, campaign_keys)

    def member_counts(self, campaign_id: str) -> dict[str, dict[str, int]]:
        """``{status: {member_type: n}}`` of the people we added to the campaign (and took out, or who drifted)."""
        with self._engine.connect() as connection:
            return overview.member_counts(connection, campaign_id)

    def event_totals(self, campaign_key: str) -> dict[str, int]:
        """``{"add": n, "remove": m}``: every membership change the sync ever recorded for the campaign."""
        with self._engine.connect() as connection:
            return overview.event_totals(connection, campaign_key)

    def recent_plans(self, campaign_key: str, limit: int) -> list[Plan]:
        """The newest run plans of the campaign (every status), newest first."""
        with self._engine.connect() as connection:
            return overview.recent_plans(connection, campaign_key, limit)

    def drifted_people(self, campaign_id: str, limit: int) -> list[dict[str, Any]]:
        """People we added who drifted, newest first (at most ``limit``)."""
        with self._engine.connect() as connection:
            return overview.drifted_people(connection, campaign_id, limit)

    # -- qualification history (what the qualification rule reads) --------------------------------------------

    def last_qualified(
        self, campaign_key: str, person_ids: Sequence[str], *, before: datetime | None = None,
        counted_only: bool = False,
    ) -> dict[str, datetime]:
        """``{person_id: latest qualification time}`` for those people who qualified for the campaign (only
        times strictly before ``before``, when given; only matches the qualification rule let through, with
        ``counted_only`` — what the rule itself decides on)."""
        limit = None if before is None else as_utc(before, "before")
        with self._engine.connect() as connection:
            return history.last_qualified(connection, campaign_key, ids(person_ids, "person_id"), limit,
                                          counted_only)

    def record(
        self, campaign_key: str, person_ids: Sequence[str], qualified_at: datetime, run_id: str, *,
        counted: bool = True,
    ) -> None:
        """Remember that these people qualified at ``qualified_at`` in ``run_id`` (recording twice is harmless).
        ``counted=False``: the qualification rule blocked these matches, so the rule will not count them."""
        when = as_utc(qualified_at, "qualified_at")
        people = ids(person_ids, "person_id")
        key, run = text(campaign_key, "campaign_key"), text(run_id, "run_id")
        with self._writer.begin() as connection:
            history.record(connection, key, people, when, run, counted)


    def forget_qualifications(self, campaign_key: str, run_id: str) -> int:
        """Drop what ``run_id`` recorded with :meth:`record` — for a run whose plan was stopped by its guard, so
        that "once" and "every N days" do not count a qualification nobody acted on."""
        key, run = text(campaign_key, "campaign_key"), text(run_id, "run_id")
        with self._writer.begin() as connection:
            return history.forget(connection, key, run)

    def thin_qualification_history(self, campaign_key: str, *, older_than: datetime) -> int:
        """Drop qualifications recorded before ``older_than``, keeping each person's first (all that "once"
        needs); return how many rows went. Decisions as of ``older_than`` + N days or later do not change."""
        key, limit = text(campaign_key, "campaign_key"), as_utc(older_than, "older_than")
        with self._writer.begin() as connection:
            return history.thin(connection, key, limit)


def _reason(reason: object, what: str) -> dict[str, Any]:
    """A JSON object saying why (drift reasons are shown on the dashboard)."""
    if not isinstance(reason, Mapping):
        raise LedgerError(f"{what}: the reason must be a mapping, got {reason!r}")
    return dict(reason)


def _plan_items(
    entries: Iterable[tuple[str, str, str, Mapping[str, Any] | None]], what: str
) -> list[dict[str, Any]]:
    """Checked plan item rows; a person listed twice is refused."""
    rows: dict[str, dict[str, Any]] = {}
    for person_id, member_type, action, reason in entries:
        if person_id in rows:
            raise LedgerError(f"{what}: person {person_id} appears twice")
        rows[person_id] = {
            "person_id": text(person_id, "person_id"),
            "member_type": choice(member_type, MEMBER_TYPES, f"{what}: member_type of {person_id}"),
            "action": choice(action, ACTIONS, f"{what}: action for {person_id}"),
            "reason": reason,
        }
    return list(rows.values())
