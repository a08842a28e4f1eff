"""Membership filters through the real plan stage: "member of list" read from a Dynamics marketing list (paged)
and "member of campaign sync" read from the ledger's memberships of another spec — against the emulator, on
both ledgers, with a SQLite source."""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa
from bad_source_rows import person, write_tables

from dynamics_campaign_sync.dataverse import MemberType
from dynamics_campaign_sync.qualification import SqlSource
from dynamics_campaign_sync.spec import CampaignSpec
from dynamics_campaign_sync.sync.membership_facts import MembershipListError
from dynamics_campaign_sync.sync.service import CampaignSync, RunContext
from support import client_for

START = dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC)
END = START + dt.timedelta(days=1)
RUN = RunContext("scheduled__2026-03-02", START, END)


def spec(key: str, campaign_id: str, filters: list[dict], logic: str = "all") -> CampaignSpec:
    return CampaignSpec.model_validate({
        "key": key, "title": key, "owner": "tests@example.com", "campaign": {"id": campaign_id},
        "member_types": ["lead"], "schedule": {"cron": "0 6 * * *", "start_date": "2026-01-01"},
        "qualification": "every_time", "rules": {"filters": filters, "logic": logic},
    })


@pytest.fixture
def world(fresh_emulator, tmp_path, ledger_factory):
    """Four leads in Dynamics and in the source (L2's id in upper case there); a static list holding L1-L3,
    read two members a page; the webinar campaign sync, already run, has L3 in its campaign."""
    client = client_for(fresh_emulator, max_page_size=2)
    suffix = uuid.uuid4().hex[:6]
    leads = [client.create_lead(email=f"m{n}-{suffix}@example.com") for n in range(1, 5)]
    vip = client.create_static_list(f"VIP accounts {suffix}", MemberType.LEAD)
    client.add_members(vip.id, MemberType.LEAD, leads[:3])
    campaigns = [client.create("campaigns", {"name": f"{name} {suffix}", "statecode": 0, "statuscode": 2})
                 for name in ("Webinar", "VIP nurture")]
    rows = [person(f"S{n}", dynamics_id=lead.upper() if n == 2 else lead, job_title="Webinar" if n == 3 else None)
            for n, lead in enumerate(leads, start=1)]
    source = sa.create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    write_tables(source, pd.DataFrame(rows), pd.DataFrame(columns=["activity_id", "person_id"]))
    ledger = ledger_factory()
    ledger.migrate()

    def sync(spec_: CampaignSpec) -> CampaignSync:
        return CampaignSync(spec_, client=client, ledger=ledger, source_factory=lambda: SqlSource(source))

    webinar = sync(spec("webinar", campaigns[0], [
        {"type": "demographic", "field": "job_title", "operator": "is", "value": "Webinar"}]))
    webinar.ensure_lists(campaigns[0], RUN)
    webinar.plan(campaigns[0], RUN)
    assert webinar.guard(RUN, override=False)
    assert webinar.apply("add", campaigns[0], RUN).succeeded == 1
    yield sync, campaigns[1], leads, vip
    client.close()
    source.dispose()


@pytest.mark.parametrize("by", ["name", "id"])
def test_in_the_list_and_not_already_in_the_webinar_campaign(world, fresh_emulator, by):
    make_sync, campaign_id, leads, vip = world
    ref = {"name": vip.name} if by == "name" else {"id": vip.id}
    nurture = make_sync(spec("vip_nurture", campaign_id, [
        {"type": "member_of_list", **ref}, {"type": "member_of_campaign_sync", "spec": "webinar"}],
        "1 and not 2"))
    since = fresh_emulator.requests_log()[-1]["id"]

    result = nurture.plan(campaign_id, RUN)

    assert set(result["preview"]["add"]) == {leads[0], leads[1]}  # L3 is in the webinar campaign, L4 in no list
    member_reads = [r for r in fresh_emulator.requests_log(since) if "listmembers" in r["path"]]
    assert len(member_reads) == 2  # three members, two a page: every page, once per run
    texts = nurture.ledger.plan(nurture.key, RUN.run_id)
    assert texts is not None and texts.counts["qualified"] == 2


def test_a_list_name_that_matches_no_list_stops_the_plan_naming_it(world):
    make_sync, campaign_id, _, _ = world
    nurture = make_sync(spec("vip_nurture", campaign_id, [
        {"type": "member_of_list", "name": "No such list"}]))
    with pytest.raises(MembershipListError, match="no marketing lists are named 'No such list'"):
        nurture.plan(campaign_id, RUN)
