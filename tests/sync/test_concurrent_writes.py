"""Member chunks sent side by side: the cap holds (as the emulator counts requests in flight), and every person is
added exactly once under injected errors, lost answers and a crash between the answer and its record — on a
SQLite and a PostgreSQL ledger."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from dynamics_campaign_sync.dataverse import MemberType, RetryPolicy
from dynamics_campaign_sync.ledger import Ledger
from dynamics_campaign_sync.ledger.schema import events, intents
from dynamics_campaign_sync.sync.membership_writer import MembershipWriter, WriteOutcome
from dynamics_campaign_sync.sync.service import CampaignSync, RunContext
from support import client_for, lead_campaign_sync

RUN = RunContext("manual__concurrent_writes", dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                 dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
CHUNK = 50


def seed_leads(emulator, count: int) -> list[str]:
    leads = [str(uuid.uuid4()) for _ in range(count)]
    emulator.seed({"leads": [{"leadid": lead, "lastname": f"C{n}"} for n, lead in enumerate(leads)]})
    return leads


@pytest.fixture
def world(fresh_emulator, ledger_factory):
    """A campaign with its owned lead list, a migrated ledger and a client that keeps up to 4 requests in flight.
    Which request meets which injected fault depends on the order requests arrive in, which varies with chunks side
    by side: the retry policy gets attempts enough that no chunk runs out of them."""
    policy = RetryPolicy(max_attempts=12, max_total_seconds=60, base_delay_seconds=0.01, max_delay_seconds=0.05)
    client = client_for(fresh_emulator, policy, max_concurrency=4)
    sync, campaign_id = lead_campaign_sync(client, ledger_factory(), "concurrent_writes", RUN)
    yield sync, campaign_id
    client.close()


def writer_for(sync: CampaignSync, campaign_id: str, **options) -> MembershipWriter:
    return MembershipWriter(sync.client, sync.ledger, campaign_key=sync.key, campaign_id=campaign_id,
                            chunk_size=CHUNK, **options)


def add_all(sync: CampaignSync, campaign_id: str, leads: list[str], **options) -> WriteOutcome:
    outcome = WriteOutcome()
    writer = writer_for(sync, campaign_id, **options)
    writer.heal_pending(outcome)
    writer.write(action="add", list_id=sync.ledger.owned_list(campaign_id, "lead").list_id,
                 member_type=MemberType.LEAD, run_id=RUN.run_id, interval=RUN.interval,
                 people={lead: {"source_person_id": f"S-{lead}"} for lead in leads}, outcome=outcome)
    return outcome


def assert_added_exactly_once(sync: CampaignSync, campaign_id: str, leads: list[str]) -> None:
    in_list = list(sync.client.iter_list_member_ids(sync.ledger.owned_list(campaign_id, "lead").list_id))
    assert sorted(in_list) == sorted(leads)
    assert set(sync.ledger.members(campaign_id)) == set(leads)
    with sync.ledger.engine.connect() as connection:
        logged, people = connection.execute(
            select(func.count(), func.count(events.c.person_id.distinct())).where(events.c.run_id == RUN.run_id)
        ).one()
        pending = connection.scalar(select(func.count()).select_from(intents).where(
            intents.c.campaign_key == sync.key, intents.c.completed_at.is_(None)))
    assert (logged, people, pending) == (len(leads), len(leads), 0)


def test_chunks_go_out_side_by_side_but_never_more_than_the_cap(world, fresh_emulator):
    sync, campaign_id = world
    leads = seed_leads(fresh_emulator, 12 * CHUNK)
    fresh_emulator.configure(faults=[{"path": "AddListMembersList", "slow_rate": 1, "slow_seconds": 0.4}])

    outcome = add_all(sync, campaign_id, leads, concurrency=3)

    peak = fresh_emulator.status()["concurrency"]["peak"]
    assert 1 < peak <= 3
    assert outcome.succeeded == len(leads) and not outcome.failed
    assert_added_exactly_once(sync, campaign_id, leads)


def test_the_client_cap_bounds_chunks_and_lookups_alike(world, fresh_emulator):
    sync, campaign_id = world
    leads = seed_leads(fresh_emulator, 10 * CHUNK)
    fresh_emulator.configure(faults=[{"path": "AddListMembersList|/leads", "slow_rate": 1, "slow_seconds": 0.3}])

    add_all(sync, campaign_id, leads)  # the writer's default: the client's max_concurrency (4)
    assert sync.client.existing_ids(MemberType.LEAD, leads, chunk_size=50) == set(leads)  # 10 lookups

    assert 1 < fresh_emulator.status()["concurrency"]["peak"] <= 4


def test_errors_and_lost_answers_under_concurrency_still_add_everyone_once(world, fresh_emulator):
    sync, campaign_id = world
    leads = seed_leads(fresh_emulator, 16 * CHUNK)
    fresh_emulator.configure(fault_seed=13, faults=[
        {"path": "AddListMembersList", "error_rate": 0.2, "lost_response_rate": 0.1}])
    since = fresh_emulator.requests_log()[-1]["id"]

    outcome = add_all(sync, campaign_id, leads)

    faults = [r["fault"] for r in fresh_emulator.requests_log(since) if "AddListMembersList" in r["path"]]
    assert "lost_response" in faults and "error" in faults, faults
    assert outcome.succeeded == len(leads) and not outcome.failed
    assert_added_exactly_once(sync, campaign_id, leads)


def test_service_protection_blocks_under_concurrency_still_add_everyone_once(world, fresh_emulator):
    sync, campaign_id = world
    leads = seed_leads(fresh_emulator, 10 * CHUNK)
    fresh_emulator.configure(limits={"requests_per_window": 3, "window_seconds": 1})
    since = fresh_emulator.requests_log()[-1]["id"]

    outcome = add_all(sync, campaign_id, leads)

    assert 429 in {r["status"] for r in fresh_emulator.requests_log(since)}
    assert sync.client.stats.throttled > 0 and outcome.succeeded == len(leads)
    assert_added_exactly_once(sync, campaign_id, leads)


def test_a_crash_with_chunks_in_flight_leaves_their_intents_pending_and_the_retry_heals_them(
        world, fresh_emulator, monkeypatch):
    sync, campaign_id = world
    leads = seed_leads(fresh_emulator, 12 * CHUNK)
    fresh_emulator.configure(faults=[{"path": "AddListMembersList", "slow_rate": 1, "slow_seconds": 0.2}])
    original, completed = Ledger.complete_intent, []

    def crash_on_the_third(self, intent_id, **kwargs):
        if len(completed) == 2:
            completed.append(intent_id)
            raise RuntimeError("simulated crash after Dynamics answered, before the ledger recorded it")
        completed.append(intent_id)
        return original(self, intent_id, **kwargs)

    monkeypatch.setattr(Ledger, "complete_intent", crash_on_the_third)
    with pytest.raises(RuntimeError, match="simulated crash"):
        add_all(sync, campaign_id, leads)
    pending = sync.ledger.pending_intents(sync.key)
    # The crashed chunk, and the chunks in flight at that moment: answered and recorded before the error is raised.
    assert [intent.intent_id for intent in pending] == [completed[2]]
    assert len(completed) <= 2 + 4 + 1 and len(completed) < 12

    monkeypatch.setattr(Ledger, "complete_intent", original)
    outcome = add_all(sync, campaign_id, leads)

    assert outcome.healed == CHUNK
    assert_added_exactly_once(sync, campaign_id, leads)
