"""Event batches: one per run, campaign and action while open; closed by publication."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from ledger_samples import CAMPAIGN, CONTACT_LIST, END, KEY, LEAD_LIST, START, people, person

from dynamics_campaign_sync.ledger import Ledger, LedgerError


def add(ledger: Ledger, *numbers: int, run_id: str = "run-1", member_type: str = "lead") -> str | None:
    intent_id = ledger.begin_intent(
        campaign_key=KEY, campaign_id=CAMPAIGN, list_id=LEAD_LIST if member_type == "lead" else CONTACT_LIST,
        member_type=member_type, action="add", run_id=run_id, interval_start=START, interval_end=END,
        people=people(*numbers),
    )
    return ledger.complete_intent(intent_id, succeeded=[person(n) for n in numbers], failed={})


def test_chunks_of_one_run_share_a_batch_until_it_is_published(ledger: Ledger) -> None:
    first = add(ledger, 1, 2)
    second = add(ledger, 3, member_type="contact")
    assert first == second

    [batch] = ledger.event_batches(campaign_key=KEY, unpublished_only=True)
    assert (batch.batch_id, batch.count, batch.action, batch.run_id) == (first, 3, "add", "run-1")
    assert (batch.campaign_id, batch.interval_start, batch.interval_end, batch.published_at) == (
        CAMPAIGN, START, END, None,
    )

    published_at = END + timedelta(minutes=5)
    ledger.mark_published([first], published_at)
    ledger.mark_published([first], published_at + timedelta(hours=1))  # the first publication time stays

    assert ledger.event_batches(unpublished_only=True) == []
    assert ledger.event_batches(run_id="run-1")[0].published_at == published_at

    late = add(ledger, 4)
    assert late not in (None, first)
    assert [b.count for b in ledger.event_batches(run_id="run-1")] == [3, 1]
    assert [b.batch_id for b in ledger.event_batches(unpublished_only=True)] == [late]


def test_batch_events_list_the_people_with_type_and_reason(ledger: Ledger) -> None:
    batch_id = add(ledger, 1)
    add(ledger, 2, member_type="contact")

    found = ledger.batch_events(batch_id)

    assert [(e["person_id"], e["member_type"], e["action"], e["reason"]) for e in found] == [
        (person(1), "lead", "add", {"matched": ["visited pricing 3x"]}),
        (person(2), "contact", "add", {"matched": ["visited pricing 3x"]}),
    ]
    assert all(e["campaign_key"] == KEY and e["run_id"] == "run-1" and e["interval_end"] == END for e in found)


def test_batches_filter_by_run_and_action(ledger: Ledger) -> None:
    added = add(ledger, 1, 2)
    remove = ledger.begin_intent(
        campaign_key=KEY, campaign_id=CAMPAIGN, list_id=LEAD_LIST, member_type="lead", action="remove",
        run_id="run-2", interval_start=END, interval_end=END + timedelta(days=1), people=people(1),
    )
    removed = ledger.complete_intent(remove, succeeded=[person(1)], failed={})

    def ids(**filters: Any) -> list[str]:
        return [b.batch_id for b in ledger.event_batches(**filters)]

    assert ids() == [added, removed]
    assert ids(action="remove") == [removed]
    assert ids(run_id="run-1") == [added]
    assert ids(campaign_key="another-spec") == []


def test_unknown_batches_are_errors(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="unknown event batch 'missing'"):
        ledger.batch_events("missing")
    with pytest.raises(LedgerError, match="unknown event batches as published: missing"):
        ledger.mark_published(["missing"], END)
