"""A dry run writes nothing because the sync service refuses, whatever the DAG's trigger rules say."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from dynamics_campaign_sync.spec import CampaignSpec
from dynamics_campaign_sync.sync.service import CampaignSync, PlanNotApprovedError, RunContext
from support import client_for

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
END = START + dt.timedelta(days=1)
WRITES = {"POST", "PATCH", "DELETE", "PUT"}


def spec_for(campaign_id: str) -> CampaignSpec:
    return CampaignSpec.model_validate({
        "key": "dry_run_safety", "title": "Dry run safety", "owner": "tests@example.com",
        "campaign": {"id": campaign_id}, "member_types": ["lead"],
        "schedule": {"cron": "0 6 * * *", "start_date": "2026-01-01"},
        "rules": {"filters": [{"type": "demographic", "field": "country", "operator": "is", "value": "DE"}]},
    })


@pytest.fixture
def world(fresh_emulator, ledger_factory):
    client = client_for(fresh_emulator)
    campaign_id = client.create("campaigns", {"name": f"Dry {uuid.uuid4().hex[:6]}", "statecode": 0,
                                              "statuscode": 2})
    lead = client.create_lead(email=f"dry-{uuid.uuid4().hex[:6]}@example.com")
    ledger = ledger_factory()
    ledger.migrate()
    sync = CampaignSync(spec_for(campaign_id), client=client, ledger=ledger)
    sync.ensure_lists(campaign_id, RunContext("setup", START, END))
    yield sync, campaign_id, lead
    client.close()


def record(sync: CampaignSync, run_id: str, status: str, lead: str) -> None:
    sync.ledger.record_plan(campaign_key=sync.key, run_id=run_id, interval_start=START, interval_end=END,
                            status=status, counts={"to_add": 1},
                            items=[(lead, "lead", "add", {"source_person_id": "S1"})])


@pytest.mark.parametrize("status", ["dry_run", "planned", "superseded", "blocked"])
def test_the_write_path_refuses_a_plan_the_guard_did_not_approve(world, fresh_emulator, status) -> None:
    sync, campaign_id, lead = world
    record(sync, "run-1", status, lead)
    since = fresh_emulator.requests_log()[-1]["id"]

    for action in ("add", "remove"):
        with pytest.raises(PlanNotApprovedError, match=f"run run-1 writes nothing: its plan is '{status}'"):
            sync.apply(action, campaign_id, RunContext("run-1", START, END))

    assert [r for r in fresh_emulator.requests_log(since) if r["method"] in WRITES] == []
    assert sync.ledger.members(campaign_id) == {}


def test_a_dry_run_context_never_writes_even_on_an_approved_plan(world, fresh_emulator) -> None:
    sync, campaign_id, lead = world
    record(sync, "run-2", "applied", lead)
    since = fresh_emulator.requests_log()[-1]["id"]
    dry = RunContext("run-2", START, END, dry_run=True)

    with pytest.raises(PlanNotApprovedError, match="it is a dry run"):
        sync.apply("add", campaign_id, dry)
    with pytest.raises(PlanNotApprovedError, match="dry run"):
        sync.ensure_lists(campaign_id, dry)

    assert [r for r in fresh_emulator.requests_log(since) if r["method"] in WRITES] == []
    # The same plan, approved and not a dry run, is written: the refusal above was the only thing in the way.
    outcome = sync.apply("add", campaign_id, RunContext("run-2", START, END))
    assert outcome.succeeded == 1 and set(sync.ledger.members(campaign_id)) == {lead}
