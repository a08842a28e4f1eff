"""The ledger's tables, as of the newest schema version.

``metadata`` always describes the newest schema: a fresh database is created from it directly, and an existing
one is brought up to date by the steps in :mod:`~dynamics_campaign_sync.ledger.migrations`. Change a table here
only together with a new migration step that makes the same change to existing databases.

Sizes: Dataverse GUIDs are 36 characters, Airflow run ids at most 250, source person ids at most
:data:`SOURCE_ID_MAX` (the table contract's limit; a longer id is a per-person failure, never a failed run).
SQLite does not enforce these lengths, PostgreSQL does: every ledger test runs on both.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)

from dynamics_campaign_sync.ledger.columns import JSONDocument, UTCDateTime

GUID = String(36)
KEY = String(200)
RUN_ID = String(250)
NAME = String(400)
#: The longest source person id the table contract allows (email-like ids included).
SOURCE_ID_MAX = 400
SOURCE_ID = String(SOURCE_ID_MAX)
SHORT = String(16)
#: Membership states (``member``, ``removed``, and the drift states ``deleted_in_dynamics`` …).
STATE = String(32)
OPAQUE_ID = String(64)
#: How plans and failures name a person: a Dynamics id, or ``new:<source id>`` for a lead still to be created.
PLAN_PERSON = String(len("new:") + SOURCE_ID_MAX)
#: Auto-incrementing 64-bit key; SQLite only auto-increments a column declared INTEGER.
SERIAL = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", String(400), nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("campaign_id", GUID, primary_key=True),
    Column("name", NAME, nullable=False),
    Column("statecode", Integer, nullable=False),
    Column("statuscode", Integer, nullable=False),
    Column("refreshed_at", UTCDateTime, nullable=False),
)

owned_lists = Table(
    "owned_lists",
    metadata,
    Column("campaign_id", GUID, primary_key=True),
    Column("member_type", SHORT, primary_key=True),
    Column("list_id", GUID, nullable=False, unique=True),
    Column("list_name", NAME, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("association_verified_at", UTCDateTime),
)

#: Which spec syncs each campaign. One spec per campaign: two would share its owned lists and members, and each
#: would remove the people the other added.
campaign_owners = Table(
    "campaign_owners",
    metadata,
    Column("campaign_id", GUID, primary_key=True),
    Column("campaign_key", KEY, nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
    Column("claimed_by_run", RUN_ID, nullable=False),
    Column("previous_key", KEY),
)

memberships = Table(
    "memberships",
    metadata,
    Column("campaign_id", GUID, primary_key=True),
    Column("person_id", GUID, primary_key=True),
    Column("member_type", SHORT, nullable=False),
    Column("campaign_key", KEY, nullable=False),
    Column("source_person_id", SOURCE_ID),
    Column("status", STATE, nullable=False),
    Column("added_at", UTCDateTime),
    Column("added_by_run", RUN_ID),
    Column("removed_at", UTCDateTime),
    Column("removed_by_run", RUN_ID),
    Column("reason", JSONDocument),
    Index(None, "campaign_key", "status"),
)

event_batches = Table(
    "event_batches",
    metadata,
    Column("batch_id", OPAQUE_ID, primary_key=True),
    Column("campaign_key", KEY, nullable=False),
    Column("campaign_id", GUID, nullable=False),
    Column("action", SHORT, nullable=False),
    Column("run_id", RUN_ID, nullable=False),
    Column("interval_start", UTCDateTime, nullable=False),
    Column("interval_end", UTCDateTime, nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    #: Set when a publish task hands the batch to Airflow as an asset event (the batch is closed from then on).
    Column("published_at", UTCDateTime),
    #: Set once the asset event is known to exist in Airflow; until then a re-run checks Airflow before re-emitting.
    Column("confirmed_at", UTCDateTime),
    Index(None, "run_id"),
    Index(None, "campaign_key", "created_at"),
)

#: At most one open (unpublished) batch per campaign, run and action: later chunks of a run join it.
open_batch_index = Index(
    "uq_event_batches_open",
    event_batches.c.campaign_key,
    event_batches.c.campaign_id,
    event_batches.c.run_id,
    event_batches.c.action,
    unique=True,
    sqlite_where=event_batches.c.published_at.is_(None),
    postgresql_where=event_batches.c.published_at.is_(None),
)

events = Table(
    "events",
    metadata,
    Column("event_id", SERIAL, primary_key=True, autoincrement=True),
    Column("batch_id", OPAQUE_ID, ForeignKey(event_batches.c.batch_id), nullable=False),
    Column("campaign_id", GUID, nullable=False),
    Column("campaign_key", KEY, nullable=False),
    Column("person_id", GUID, nullable=False),
    Column("member_type", SHORT, nullable=False),
    Column("action", SHORT, nullable=False),
    Column("run_id", RUN_ID, nullable=False),
    Column("interval_start", UTCDateTime, nullable=False),
    Column("interval_end", UTCDateTime, nullable=False),
    Column("reason", JSONDocument),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index(None, "batch_id"),
    Index(None, "campaign_id", "person_id"),
)

qualification_history = Table(
    "qualification_history",
    metadata,
    Column("campaign_key", KEY, primary_key=True),
    Column("person_id", SOURCE_ID, primary_key=True),
    Column("qualified_at", UTCDateTime, primary_key=True),
    Column("run_id", RUN_ID, nullable=False),
    #: False for a match the qualification rule blocked: kept for "removed after N days unqualified" (the person
    #: still qualified), never counted by the rule itself, so a blocked match does not restart its clock.
    Column("counted", Boolean, nullable=False, server_default=true()),
)

intents = Table(
    "intents",
    metadata,
    Column("intent_id", OPAQUE_ID, primary_key=True),
    Column("campaign_key", KEY, nullable=False),
    Column("campaign_id", GUID, nullable=False),
    Column("list_id", GUID, nullable=False),
    Column("member_type", SHORT, nullable=False),
    Column("action", SHORT, nullable=False),
    Column("run_id", RUN_ID, nullable=False),
    Column("interval_start", UTCDateTime, nullable=False),
    Column("interval_end", UTCDateTime, nullable=False),
    Column("person_count", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime),
    Column("batch_id", OPAQUE_ID),
    Column("succeeded_count", Integer),
    Column("failed_count", Integer),
    Index(None, "campaign_key", "completed_at"),
)

intent_people = Table(
    "intent_people",
    metadata,
    Column("intent_id", OPAQUE_ID, ForeignKey(intents.c.intent_id), primary_key=True),
    Column("person_id", GUID, primary_key=True),
    Column("source_person_id", SOURCE_ID),
    Column("reason", JSONDocument),
)

run_plans = Table(
    "run_plans",
    metadata,
    Column("plan_id", SERIAL, primary_key=True, autoincrement=True),
    Column("campaign_key", KEY, nullable=False),
    Column("run_id", RUN_ID, nullable=False),
    Column("interval_start", UTCDateTime, nullable=False),
    Column("interval_end", UTCDateTime, nullable=False),
    Column("status", SHORT, nullable=False),
    Column("counts", JSONDocument, nullable=False),
    #: Small JSON beside the counts: invalid source rows by kind with example ids, drift examples.
    Column("details", JSONDocument),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    #: ``batch`` (a cron or manual run of the whole spec) or ``trigger`` (a triggered run for the people with new
    #: activity): only batch plans take part in "newest interval applied" (backfill safety).
    Column("mode", SHORT, nullable=False, server_default="batch"),
    UniqueConstraint("campaign_key", "run_id"),
    Index(None, "campaign_key", "status", "interval_end"),
)

plan_items = Table(
    "plan_items",
    metadata,
    Column("plan_id", SERIAL, ForeignKey(run_plans.c.plan_id), primary_key=True, autoincrement=False),
    Column("person_id", PLAN_PERSON, primary_key=True),
    Column("member_type", SHORT, nullable=False),
    Column("action", SHORT, nullable=False),
    Column("reason", JSONDocument),
)

failures = Table(
    "failures",
    metadata,
    Column("campaign_key", KEY, primary_key=True),
    Column("run_id", RUN_ID, primary_key=True),
    Column("person_id", PLAN_PERSON, primary_key=True),
    Column("action", SHORT, primary_key=True),
    Column("error", Text, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
)

#: Per-campaign write lock: one run at a time sends adds and removes for a campaign. A lease, renewed while the
#: holder writes, so a killed holder blocks others only until ``expires_at``.
campaign_locks = Table(
    "campaign_locks",
    metadata,
    Column("campaign_key", KEY, primary_key=True),
    Column("holder", RUN_ID, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

#: Trigger campaigns: how far into the activities table each campaign's triggered runs have evaluated. Advanced
#: only after a run's writes, and only forward, so a crash or retry re-reads (never skips) activities.
trigger_watermarks = Table(
    "trigger_watermarks",
    metadata,
    Column("campaign_key", KEY, primary_key=True),
    #: ``id`` (a monotonic id, stored as its decimal text) or ``timestamp`` (ISO-8601 UTC)
    Column("kind", SHORT, nullable=False),
    Column("position", String(64), nullable=False),
    #: When the newest activity up to ``position`` happened (the "as of" of the run that got here)
    Column("event_time", UTCDateTime),
    Column("advanced_at", UTCDateTime, nullable=False),
    Column("advanced_by_run", RUN_ID, nullable=False),
)

#: The Dynamics id each email resolved to, per member type (people the source knows only by email), so a run looks
#: up only emails it has not resolved before. Keyed by the lower-cased email; forgotten when Dynamics says the
#: record is gone (deleted, or refused by a list write).
email_person_ids = Table(
    "email_person_ids",
    metadata,
    Column("member_type", SHORT, primary_key=True),
    Column("email", NAME, primary_key=True),
    Column("person_id", GUID, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=False),
    Index(None, "person_id"),
)
