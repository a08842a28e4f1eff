"""Two runs of one campaign that overlap (a zombie retry, a manual run beside the scheduled one) write one after
the other: the later one waits for the per-campaign lock, skips what the first did, and succeeds — in two real
processes, on SQLite and PostgreSQL ledgers."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from project_env import python_path
from sqlalchemy import func, select

from dynamics_campaign_sync.ledger.schema import campaign_locks, events
from dynamics_campaign_sync.spec import CampaignSpec
from dynamics_campaign_sync.sync.service import CampaignSync, RunContext
from dynamics_campaign_sync.sync.write_lock import CampaignBusyError, CampaignWriteLock
from support import client_for

TESTS = Path(__file__).resolve().parents[1]
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
END = START + dt.timedelta(days=1)


def spec_document(campaign_id: str) -> dict:
    return {"key": "overlap", "title": "Overlapping runs", "owner": "tests@example.com",
            "campaign": {"id": campaign_id}, "member_types": ["lead"],
            "schedule": {"cron": "0 6 * * *", "start_date": "2026-01-01"},
            "rules": {"filters": [{"type": "demographic", "field": "country", "operator": "is", "value": "DE"}]}}


@pytest.fixture
def world(fresh_emulator, ledger_factory, ledger_url):
    client = client_for(fresh_emulator)
    campaign_id = client.create("campaigns", {"name": f"Overlap {uuid.uuid4().hex[:6]}", "statecode": 0,
                                              "statuscode": 2})
    leads = [client.create_lead(email=f"overlap-{n}-{uuid.uuid4().hex[:6]}@example.com") for n in range(6)]
    ledger = ledger_factory()
    ledger.migrate()
    spec = CampaignSpec.model_validate(spec_document(campaign_id))
    sync = CampaignSync(spec, client=client, ledger=ledger)
    sync.ensure_lists(campaign_id, RunContext("setup", START, END))
    departing = leads[5]  # a member both later plans remove
    plan(sync, "setup", [(departing, "add")])
    sync.apply("add", campaign_id, RunContext("setup", START, END))
    yield sync, campaign_id, leads
    client.close()


def plan(sync: CampaignSync, run_id: str, changes: list[tuple[str, str]]) -> None:
    sync.ledger.record_plan(campaign_key=sync.key, run_id=run_id, interval_start=START, interval_end=END,
                            status="applied", counts={"to_add": len(changes)},
                            items=[(p, "lead", action, {"source_person_id": p}) for p, action in changes])


def start_writer(emulator, ledger_url: str, campaign_id: str, run_id: str, wait_seconds: float):
    job = {"emulator": emulator.client_settings(), "ledger_url": ledger_url,
           "campaign_id": campaign_id, "spec": spec_document(campaign_id), "run_id": run_id,
           "interval": [START.isoformat(), END.isoformat()], "lock_wait_seconds": wait_seconds}
    env = {**os.environ, "PYTHONPATH": python_path(TESTS, TESTS / "sync")}
    return subprocess.Popen([sys.executable, str(TESTS / "sync" / "overlap_worker.py"), json.dumps(job)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def lock_holder(sync: CampaignSync) -> str | None:
    with sync.ledger.engine.connect() as connection:
        return connection.scalar(select(campaign_locks.c.holder).where(campaign_locks.c.campaign_key == sync.key))


def test_two_overlapping_runs_write_one_after_the_other_and_both_succeed(world, fresh_emulator, ledger_url):
    sync, campaign_id, leads = world
    changes = [(lead, "add") for lead in leads[:5]] + [(leads[5], "remove")]
    plan(sync, "run-a", changes)
    plan(sync, "run-b", changes)  # both made from the same ledger state
    fresh_emulator.configure(faults=[{"path": "AddListMembersList", "slow_rate": 1, "slow_seconds": 3}])

    first = start_writer(fresh_emulator, ledger_url, campaign_id, "run-a", wait_seconds=60)
    deadline = time.monotonic() + 60
    while lock_holder(sync) != "run-a":
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.1)
    second = start_writer(fresh_emulator, ledger_url, campaign_id, "run-b", wait_seconds=60)
    outputs = [process.communicate(timeout=180) for process in (first, second)]

    for process, (_out, err) in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, err[-3000:]
    result_a, result_b = (json.loads(out) for out, _ in outputs)
    assert result_a["add"]["succeeded"] == 5 and result_a["remove"]["succeeded"] == 1
    assert result_b["add"]["succeeded"] == 0 and result_b["remove"]["succeeded"] == 0
    assert result_b["add"]["failed"] == 0 and result_b["remove"]["failed"] == 0
    assert "already added by run(s) run-a" in outputs[1][1]
    assert "already removed by run(s) run-a" in outputs[1][1]
    with sync.ledger.engine.connect() as connection:  # each change recorded once
        per_person = dict(connection.execute(
            select(events.c.person_id, func.count()).where(events.c.run_id.in_(["run-a", "run-b"]))
            .group_by(events.c.person_id)).all())
    assert per_person == {lead: 1 for lead in leads}
    assert set(sync.client.iter_list_member_ids(sync.ledger.owned_list(campaign_id, "lead").list_id)) == set(
        leads[:5])
    assert lock_holder(sync) is None


def test_a_writer_that_cannot_get_the_lock_says_who_holds_it_and_writes_nothing(world, fresh_emulator):
    sync, campaign_id, leads = world
    plan(sync, "run-b", [(leads[0], "add")])
    assert sync.ledger.acquire_campaign_lock(sync.key, "run-a", dt.timedelta(minutes=10)) is None
    since = fresh_emulator.requests_log()[-1]["id"]
    sync.write_lock = CampaignWriteLock(sync.ledger, sync.key, wait=dt.timedelta(seconds=1))

    with pytest.raises(CampaignBusyError, match="is being written by run run-a since .* run run-b waited"):
        sync.apply("add", campaign_id, RunContext("run-b", START, END))
    assert [r for r in fresh_emulator.requests_log(since) if r["method"] == "POST"] == []

    sync.ledger.release_campaign_lock(sync.key, "run-a")  # the other run finished: the next attempt succeeds
    assert sync.apply("add", campaign_id, RunContext("run-b", START, END)).succeeded == 1


def test_an_expired_lease_is_taken_over_and_the_old_holder_learns_it_lost_the_lock(world):
    sync, _, _ = world
    ledger = sync.ledger
    assert ledger.acquire_campaign_lock(sync.key, "zombie", dt.timedelta(seconds=-1)) is None  # already expired
    assert ledger.acquire_campaign_lock(sync.key, "run-new", dt.timedelta(minutes=10)) is None
    assert ledger.renew_campaign_lock(sync.key, "zombie", dt.timedelta(minutes=10)) is False
    held = ledger.acquire_campaign_lock(sync.key, "zombie", dt.timedelta(minutes=10))
    assert held is not None and held.holder == "run-new"
