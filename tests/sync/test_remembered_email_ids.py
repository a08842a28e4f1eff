"""People known only by email are matched in Dynamics once: later plans reuse the remembered id, and a record
Dynamics says is gone is looked up again — on a SQLite and a PostgreSQL ledger, against the emulator."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dynamics_campaign_sync.qualification.sources import DataFrameSource
from dynamics_campaign_sync.sync.service import CampaignSync, RunContext
from support import client_for, lead_campaign_sync

DAY = dt.timedelta(days=1)
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
DOMAIN = "remembered.example"


def run(day: int) -> RunContext:
    return RunContext(f"manual__remembered_{day}", START + day * DAY, START + (day + 1) * DAY)


@pytest.fixture
def world(fresh_emulator, ledger_factory):
    """Three leads in Dynamics that the source knows only by (differently cased) email."""
    client = client_for(fresh_emulator)
    leads = [client.create_lead(email=f"person{n}@{DOMAIN}") for n in range(3)]
    people = pd.DataFrame({
        "person_id": [f"S{n}" for n in range(3)], "member_type": "lead", "dynamics_id": None,
        "email": [f"Person{n}@{DOMAIN.upper()}" for n in range(3)], "country": "DE",
        "created_at": pd.Timestamp("2025-01-01", tz="UTC"),
    })
    sync, campaign_id = lead_campaign_sync(client, ledger_factory(), "remembered_emails", run(0),
                                           source_factory=lambda: DataFrameSource(people))
    yield sync, campaign_id, leads
    client.close()


def email_lookups(emulator, since: int) -> int:
    return sum(1 for r in emulator.requests_log(since) if "/leads?" in r["path"] and "emailaddress1" in r["path"]
               and "$filter" in r["path"].replace("%24", "$"))


def planned_adds(sync: CampaignSync, day: int) -> list[str]:
    return sorted(item.person_id for item in sync.ledger.plan_items(sync.key, run(day).run_id, action="add"))


def test_a_resolved_email_is_not_looked_up_again(world, fresh_emulator):
    sync, campaign_id, leads = world
    since = fresh_emulator.requests_log()[-1]["id"]
    sync.plan(campaign_id, run(1))
    assert email_lookups(fresh_emulator, since) == 1
    assert sync.ledger.remembered_person_ids("lead", [f"PERSON0@{DOMAIN}"]) == {f"person0@{DOMAIN}": leads[0]}

    since = fresh_emulator.requests_log()[-1]["id"]
    sync.plan(campaign_id, run(2))

    assert email_lookups(fresh_emulator, since) == 0
    assert planned_adds(sync, 1) == sorted(leads)
    assert [sync.ledger.plan(sync.key, run(day).run_id).counts["unresolved"] for day in (1, 2)] == [0, 0]


def test_a_record_dynamics_refuses_as_gone_is_forgotten_and_looked_up_again(world, fresh_emulator):
    sync, campaign_id, leads = world
    sync.plan(campaign_id, run(1))
    assert sync.guard(run(1), override=False)
    sync.client.transport.request("DELETE", f"leads({leads[0]})")  # someone deletes the lead in Dynamics

    outcome = sync.apply("add", campaign_id, run(1))

    assert outcome.succeeded == 2 and list(outcome.failed) == [leads[0]]
    assert sync.ledger.remembered_person_ids("lead", [f"person{n}@{DOMAIN}" for n in range(3)]) == {
        f"person{n}@{DOMAIN}": leads[n] for n in (1, 2)}
    since = fresh_emulator.requests_log()[-1]["id"]
    sync.plan(campaign_id, run(2))
    assert email_lookups(fresh_emulator, since) == 1  # only the forgotten email, which now matches nobody
    assert sync.ledger.plan(sync.key, run(2).run_id).counts["unresolved"] == 0  # a lead: created by the add


def test_drift_that_finds_a_member_deleted_forgets_its_email(world):
    sync, campaign_id, leads = world
    sync.plan(campaign_id, run(1))
    sync.guard(run(1), override=False)
    sync.apply("add", campaign_id, run(1))

    sync.ledger.record_drift(campaign_id, run(2).run_id, noticed={
        leads[1]: ("deleted_in_dynamics", {"drift": "the lead was deleted in Dynamics"})})

    assert set(sync.ledger.remembered_person_ids("lead", [f"person{n}@{DOMAIN}" for n in range(3)])) == {
        f"person0@{DOMAIN}", f"person2@{DOMAIN}"}
