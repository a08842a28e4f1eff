"""Run plans, dry runs, and the "only a newer interval may write" bookkeeping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ledger_samples import END, KEY, START, person
from sqlalchemy import func, select

from dynamics_campaign_sync.ledger import Ledger, LedgerError, PlanItem
from dynamics_campaign_sync.ledger.schema import plan_items

DAY = timedelta(days=1)


def plan(ledger: Ledger, run_id: str, day: int, status: str = "planned", **counts: int) -> None:
    ledger.record_plan(
        campaign_key=KEY, run_id=run_id, interval_start=START + day * DAY, interval_end=START + (day + 1) * DAY,
        status=status, counts=counts,
    )


def test_a_dry_run_plan_keeps_its_items(ledger: Ledger) -> None:
    ledger.record_plan(
        campaign_key=KEY, run_id="manual-1", interval_start=START, interval_end=END, status="dry_run",
        counts={"qualified": 3, "to_add": 2, "to_remove": 1, "not_ours": 4},
        items=[
            (person(1), "lead", "add", {"matched": ["title"]}),
            (person(2), "contact", "add", None),
            (person(3), "lead", "remove", {"no_longer": ["title"]}),
        ],
    )

    stored = ledger.plan(KEY, "manual-1")
    assert stored is not None
    assert (stored.status, stored.interval_start, stored.interval_end) == ("dry_run", START, END)
    assert stored.counts == {"qualified": 3, "to_add": 2, "to_remove": 1, "not_ours": 4}
    assert stored.finished_at is not None
    assert ledger.plan_items(KEY, "manual-1", action="remove") == [
        PlanItem(person(3), "lead", "remove", {"no_longer": ["title"]}),
    ]
    assert [i.person_id for i in ledger.plan_items(KEY, "manual-1")] == [person(1), person(2), person(3)]
    assert len(ledger.plan_items(KEY, "manual-1", limit=2)) == 2
    assert ledger.newest_applied_interval(KEY) is None  # a dry run applies nothing


def test_recording_a_plan_again_replaces_it(ledger: Ledger) -> None:
    ledger.record_plan(campaign_key=KEY, run_id="run-1", interval_start=START, interval_end=END,
                       status="planned", counts={"to_add": 2},
                       items=[(person(1), "lead", "add", None), (person(2), "lead", "add", None)])
    first = ledger.plan(KEY, "run-1")
    ledger.record_plan(campaign_key=KEY, run_id="run-1", interval_start=START, interval_end=END,
                       status="planned", counts={"to_add": 1}, items=[(person(3), "lead", "add", None)])

    again = ledger.plan(KEY, "run-1")
    assert again.created_at == first.created_at
    assert again.counts == {"to_add": 1}
    assert again.finished_at is None
    assert [i.person_id for i in ledger.plan_items(KEY, "run-1")] == [person(3)]


def test_status_updates_merge_counts(ledger: Ledger) -> None:
    plan(ledger, "run-1", 0, to_add=5, to_remove=1)
    ledger.update_plan_status(KEY, "run-1", "applied", {"failed": 1, "to_add": 4})

    stored = ledger.plan(KEY, "run-1")
    assert stored.status == "applied"
    assert stored.counts == {"to_add": 4, "to_remove": 1, "failed": 1}
    assert stored.finished_at is not None
    with pytest.raises(LedgerError, match="no plan recorded for campaign 'pricing-page-visitors', run 'nope'"):
        ledger.update_plan_status(KEY, "nope", "applied")


def test_newest_applied_interval_and_latest_plan(ledger: Ledger) -> None:
    plan(ledger, "scheduled-day-5", 5, "applied")
    plan(ledger, "backfill-day-2", 2, "applied")
    plan(ledger, "backfill-day-9", 9, "dry_run")
    plan(ledger, "backfill-day-3", 3, "superseded")

    assert ledger.newest_applied_interval(KEY) == (START + 5 * DAY, START + 6 * DAY)
    assert ledger.newest_applied_interval("another-spec") is None
    assert ledger.latest_plan(KEY).run_id == "backfill-day-3"
    assert ledger.latest_plan(KEY, status="applied").run_id == "backfill-day-2"
    assert ledger.latest_plan(KEY, status="blocked") is None


def test_claim_interval_lets_only_newer_intervals_write(ledger: Ledger) -> None:
    plan(ledger, "day-5", 5)
    assert ledger.claim_interval(KEY, "day-5") is True
    assert ledger.claim_interval(KEY, "day-5") is True  # a retry of the same run

    plan(ledger, "backfill-day-3", 3)
    assert ledger.claim_interval(KEY, "backfill-day-3") is False
    assert ledger.plan(KEY, "backfill-day-3").status == "superseded"

    plan(ledger, "day-6", 6)
    assert ledger.claim_interval(KEY, "day-6") is True
    assert ledger.newest_applied_interval(KEY) == (START + 6 * DAY, START + 7 * DAY)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([(person(1), "lead", "add", None), (person(1), "lead", "remove", None)], "appears twice"),
        ([(person(1), "account", "add", None)], f"member_type of {person(1)} must be one of"),
        ([(person(1), "lead", "upsert", None)], f"action for {person(1)} must be one of"),
    ],
)
def test_bad_plan_items_are_refused(ledger: Ledger, items: list, message: str) -> None:
    with pytest.raises(LedgerError, match=message):
        ledger.record_plan(campaign_key=KEY, run_id="run-1", interval_start=START, interval_end=END,
                           status="dry_run", counts={}, items=items)
    assert ledger.plan(KEY, "run-1") is None


def test_bad_status_and_counts_are_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="status must be one of"):
        plan(ledger, "run-1", 0, "done")
    with pytest.raises(LedgerError, match="count 'to_add' must be an integer"):
        ledger.record_plan(campaign_key=KEY, run_id="run-1", interval_start=START, interval_end=END,
                           status="planned", counts={"to_add": "many"})


def test_a_plan_of_100k_items_is_recorded(ledger: Ledger) -> None:
    items = [(person(n), "lead" if n % 2 else "contact", "add", {"matched": ["r1", "r2"]}) for n in range(100_000)]
    ledger.record_plan(campaign_key=KEY, run_id="big", interval_start=START, interval_end=END,
                       status="dry_run", counts={"to_add": len(items)}, items=items)

    with ledger.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(plan_items)) == 100_000
    assert ledger.plan_items(KEY, "big", limit=1) == [PlanItem(person(0), "contact", "add", {"matched": ["r1", "r2"]})]
