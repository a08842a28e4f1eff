"""The sync stages refuse a campaign another spec owns, before touching Dynamics (no client is needed)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dynamics_campaign_sync.ledger import CampaignClaimedError, Ledger
from dynamics_campaign_sync.spec import load_spec
from dynamics_campaign_sync.sync.service import CampaignSync, RunContext

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = "0f8fad5b-d9cb-469f-a165-70867728950e"
START = dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC)


class NoDynamics:
    """Any use of the client fails the test: a refused stage must stop before it."""

    def __getattr__(self, name: str):
        raise AssertionError(f"the client was used ({name}) for a campaign another spec owns")


@pytest.fixture
def ledger(ledger_factory):
    ledger = ledger_factory()
    ledger.migrate()
    return ledger


def run(take_over: bool = False, dry_run: bool = False) -> RunContext:
    return RunContext("run-2", START, START + dt.timedelta(days=1), take_over=take_over, dry_run=dry_run)


def test_every_stage_refuses_a_campaign_another_spec_owns(ledger: Ledger) -> None:
    ledger.claim_campaign(CAMPAIGN, "someone_else", "run-1")
    sync = CampaignSync(load_spec(REPO / "dags/campaigns/pricing_page_intent.yaml"), client=NoDynamics(),
                        ledger=ledger, source_factory=lambda: pytest.fail("the source was read"))
    for stage in (lambda: sync.claim_campaign(CAMPAIGN, run()),
                  lambda: sync.plan(CAMPAIGN, run(dry_run=True)),
                  lambda: sync.apply("add", CAMPAIGN, run()),
                  lambda: sync.apply("remove", CAMPAIGN, run(take_over=True))):  # only ensure_lists takes over
        with pytest.raises(CampaignClaimedError, match="synced by spec 'someone_else'"):
            stage()
    assert ledger.campaign_owner(CAMPAIGN).campaign_key == "someone_else"

    sync.claim_campaign(CAMPAIGN, run(take_over=True))
    assert ledger.campaign_owner(CAMPAIGN).campaign_key == sync.key
    sync.check_campaign_owner(CAMPAIGN)  # now ours: no error
