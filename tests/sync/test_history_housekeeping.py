"""The summary stage bounds the qualification history without cutting into what the spec's rules look at."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from dynamics_campaign_sync.ledger import Ledger
from dynamics_campaign_sync.ledger.schema import qualification_history as table
from dynamics_campaign_sync.spec import load_spec
from dynamics_campaign_sync.spec.models import QualificationRule, RemovalPolicy
from dynamics_campaign_sync.sync.service import HISTORY_KEPT_DAYS, CampaignSync

REPO = Path(__file__).resolve().parents[2]
AS_OF = dt.datetime(2027, 6, 1, 6, tzinfo=dt.UTC)
PERSON = "lead-1"


@pytest.fixture
def ledger(ledger_factory):
    ledger = ledger_factory()
    ledger.migrate()
    return ledger


def sync_with(ledger: Ledger, **rules) -> CampaignSync:
    spec = load_spec(REPO / "dags/campaigns/pricing_page_intent.yaml").model_copy(update=rules)
    return CampaignSync(spec, client=None, ledger=ledger)


def qualified_days_ago(ledger: Ledger, key: str) -> list[int]:
    with ledger.engine.connect() as connection:
        times = connection.scalars(select(table.c.qualified_at).where(table.c.campaign_key == key))
        return sorted(((AS_OF - when).days for when in times), reverse=True)


@pytest.mark.parametrize(("rules", "kept_days"), [
    ({}, HISTORY_KEPT_DAYS),
    ({"qualification": QualificationRule(rule="every_n_days", days=500)}, 500),
    ({"removal": RemovalPolicy(policy="after_days", days=460)}, 460),
])
def test_rows_beyond_the_kept_days_are_thinned_to_the_first(ledger: Ledger, rules: dict, kept_days: int) -> None:
    sync = sync_with(ledger, **rules)
    ages = [700, 480, 450, 300, 10]
    for age in ages:
        ledger.record(sync.key, [PERSON], AS_OF - dt.timedelta(days=age), f"run-{age}")
    thinned = sync.thin_history(AS_OF)
    expected = [700] + [age for age in ages[1:] if age <= kept_days]
    assert qualified_days_ago(ledger, sync.key) == expected
    assert thinned == len(ages) - len(expected)
