"""The qualification rule counts only the matches it let through (Marketo's "once every N days"), on both ledgers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dynamics_campaign_sync.spec import load_spec
from dynamics_campaign_sync.spec.models import QualificationRule
from dynamics_campaign_sync.sync.service import CampaignSync, RunContext

REPO = Path(__file__).resolve().parents[2]
FIRST = dt.datetime(2026, 5, 1, 6, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def test_a_blocked_match_does_not_restart_the_every_n_days_clock(ledger_factory) -> None:
    ledger = ledger_factory()
    ledger.migrate()
    spec = load_spec(REPO / "dags/campaigns/pricing_page_intent.yaml").model_copy(
        update={"qualification": QualificationRule(rule="every_n_days", days=3)})
    sync = CampaignSync(spec, client=None, ledger=ledger)

    allowed_days = []
    for day in range(8):  # the person matches every day
        end = FIRST + day * DAY
        run = RunContext(run_id=f"run-{day}", interval_start=end - DAY, interval_end=end)
        if sync.apply_qualification_rule(["lead-1"], run, record=True):
            allowed_days.append(day)

    assert allowed_days == [0, 3, 6]
    # The blocked matches still say when the person last qualified (for "removed after N days unqualified").
    assert ledger.last_qualified(spec.key, ["lead-1"]) == {"lead-1": FIRST + 7 * DAY}
    assert ledger.last_qualified(spec.key, ["lead-1"], counted_only=True) == {"lead-1": FIRST + 6 * DAY}


def test_a_dry_run_records_nothing(ledger_factory) -> None:
    ledger = ledger_factory()
    ledger.migrate()
    spec = load_spec(REPO / "dags/campaigns/pricing_page_intent.yaml")
    sync = CampaignSync(spec, client=None, ledger=ledger)
    run = RunContext(run_id="dry", interval_start=FIRST - DAY, interval_end=FIRST)
    assert sync.apply_qualification_rule(["lead-1"], run, record=False) == {"lead-1"}
    assert ledger.last_qualified(spec.key, ["lead-1"]) == {}
