"""Write-ahead intents: crash healing, idempotent completion, failures, and "remove only what we added"."""

from __future__ import annotations

from typing import Any

import pytest
from ledger_samples import CAMPAIGN, CONTACT_LIST, END, KEY, LEAD_LIST, OTHER_CAMPAIGN, START, people, person
from sqlalchemy import event, func, select

from dynamics_campaign_sync.ledger import Ledger, LedgerError
from dynamics_campaign_sync.ledger.schema import events


def intent(action: str, *numbers: int, run_id: str = "run-1", **overrides: Any) -> dict[str, Any]:
    """Arguments of ``begin_intent`` for lead ``numbers`` of :data:`CAMPAIGN`, with ``overrides``."""
    arguments: dict[str, Any] = {
        "campaign_key": KEY, "campaign_id": CAMPAIGN, "list_id": LEAD_LIST, "member_type": "lead",
        "action": action, "run_id": run_id, "interval_start": START, "interval_end": END,
        "people": people(*numbers),
    }
    return {**arguments, **overrides}


def begin(ledger: Ledger, action: str, *numbers: int, run_id: str = "run-1", **overrides: Any) -> str:
    return ledger.begin_intent(**intent(action, *numbers, run_id=run_id, **overrides))


def event_count(ledger: Ledger) -> int:
    with ledger.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(events))


def test_a_crash_before_complete_is_healed_by_the_retry(ledger: Ledger) -> None:
    intent_id = begin(ledger, "add", 1, 2, 3, source_ids={person(1): "crm-1"})
    # the task dies here, after Dynamics accepted the request but before the ledger heard about it

    [pending] = ledger.pending_intents(KEY)
    assert pending.intent_id == intent_id
    assert (pending.action, pending.member_type, pending.list_id, pending.run_id) == ("add", "lead", LEAD_LIST, "run-1")
    assert pending.people == people(1, 2, 3)
    assert pending.source_ids == {person(1): "crm-1"}
    assert (pending.interval_start, pending.interval_end) == (START, END)
    assert ledger.members(CAMPAIGN) == {}

    batch_id = ledger.complete_intent(intent_id, succeeded=list(pending.people), failed={})

    assert batch_id is not None
    assert ledger.pending_intents(KEY) == []
    members = ledger.members(CAMPAIGN)
    assert set(members) == {person(1), person(2), person(3)}
    assert members[person(1)].source_person_id == "crm-1"
    assert members[person(1)].added_by_run == "run-1"
    assert members[person(1)].reason == {"matched": ["visited pricing 3x"]}
    assert event_count(ledger) == 3


def test_completing_twice_is_a_no_op_returning_the_same_batch(ledger: Ledger) -> None:
    intent_id = begin(ledger, "add", 1, 2)
    first = ledger.complete_intent(intent_id, succeeded=[person(1), person(2)], failed={})

    again = ledger.complete_intent(intent_id, succeeded=[person(1), person(2)], failed={})

    assert again == first
    assert event_count(ledger) == 2
    [batch] = ledger.event_batches(campaign_key=KEY)
    assert batch.count == 2


def test_failed_people_are_recorded_and_not_made_members(ledger: Ledger) -> None:
    intent_id = begin(ledger, "add", 1, 2, 3)

    batch_id = ledger.complete_intent(
        intent_id, succeeded=[person(1), person(2)], failed={person(3): "0x80040217: lead does not exist"}
    )

    assert set(ledger.members(CAMPAIGN)) == {person(1), person(2)}
    assert ledger.membership(CAMPAIGN, [person(3)]) == {}
    assert ledger.failures(KEY, "run-1") == {person(3): "0x80040217: lead does not exist"}
    assert [e["person_id"] for e in ledger.batch_events(batch_id)] == [person(1), person(2)]

    retry = begin(ledger, "add", 3)
    assert ledger.complete_intent(retry, succeeded=[person(3)], failed={}) == batch_id  # same open batch
    assert ledger.failures(KEY, "run-1") == {}
    assert person(3) in ledger.members(CAMPAIGN)


def test_nothing_succeeded_returns_no_batch(ledger: Ledger) -> None:
    intent_id = begin(ledger, "add", 1)
    assert ledger.complete_intent(intent_id, succeeded=[], failed={person(1): "throttled"}) is None
    assert ledger.complete_intent(intent_id, succeeded=[], failed={}) is None
    assert ledger.event_batches() == []
    assert ledger.pending_intents(KEY) == []


def test_remove_only_changes_people_we_added(ledger: Ledger) -> None:
    ledger.complete_intent(begin(ledger, "add", 1, 2), succeeded=[person(1), person(2)], failed={})

    with pytest.raises(LedgerError, match=f"did not add: {person(9)}"):
        begin(ledger, "remove", 1, 9, run_id="run-2")
    with pytest.raises(LedgerError, match="did not add"):
        begin(ledger, "remove", 1, run_id="run-2", member_type="contact", list_id=CONTACT_LIST)

    first = begin(ledger, "remove", 1, run_id="run-2")
    duplicate = begin(ledger, "remove", 1, run_id="run-2")  # e.g. a retry that began the chunk again
    batch_id = ledger.complete_intent(first, succeeded=[person(1)], failed={})
    assert ledger.complete_intent(duplicate, succeeded=[person(1)], failed={}) is None

    assert set(ledger.members(CAMPAIGN)) == {person(2)}
    removed = ledger.membership(CAMPAIGN, [person(1)])[person(1)]
    assert (removed.status, removed.removed_by_run, removed.added_by_run) == ("removed", "run-2", "run-1")
    assert [(e["person_id"], e["action"]) for e in ledger.batch_events(batch_id)] == [(person(1), "remove")]
    with pytest.raises(LedgerError, match="did not add"):
        begin(ledger, "remove", 1, run_id="run-3")


def test_adding_a_member_again_records_no_second_event(ledger: Ledger) -> None:
    ledger.complete_intent(begin(ledger, "add", 1), succeeded=[person(1)], failed={})
    batch = ledger.complete_intent(begin(ledger, "add", 1, 2, run_id="run-2"),
                                   succeeded=[person(1), person(2)], failed={})
    assert [e["person_id"] for e in ledger.batch_events(batch)] == [person(2)]
    assert ledger.members(CAMPAIGN)[person(1)].added_by_run == "run-1"


def test_readding_a_removed_person_makes_them_a_member_again(ledger: Ledger) -> None:
    ledger.complete_intent(begin(ledger, "add", 1), succeeded=[person(1)], failed={})
    ledger.complete_intent(begin(ledger, "remove", 1, run_id="run-2"), succeeded=[person(1)], failed={})
    ledger.complete_intent(begin(ledger, "add", 1, run_id="run-3"), succeeded=[person(1)], failed={})
    again = ledger.members(CAMPAIGN)[person(1)]
    assert (again.added_by_run, again.removed_at, again.removed_by_run) == ("run-3", None, None)


def test_intents_only_write_through_the_campaigns_owned_list(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="not the owned lead list"):
        begin(ledger, "add", 1, list_id=CONTACT_LIST)
    with pytest.raises(LedgerError, match=f"campaign {OTHER_CAMPAIGN}.*it has none"):
        begin(ledger, "add", 1, campaign_id=OTHER_CAMPAIGN)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"action": "delete"}, "action must be one of"),
        ({"member_type": "account"}, "member_type must be one of"),
        ({"people": {}}, "names nobody"),
        ({"interval_start": END, "interval_end": START}, "is after interval_end"),
        ({"run_id": ""}, "run_id must be a non-empty string"),
    ],
)
def test_bad_intents_are_refused(ledger: Ledger, arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(LedgerError, match=message):
        ledger.begin_intent(**{**intent("add", 1), **arguments})
    assert ledger.pending_intents(KEY) == []


def test_completion_must_account_for_exactly_the_intents_people(ledger: Ledger) -> None:
    intent_id = begin(ledger, "add", 1, 2)
    with pytest.raises(LedgerError, match=f"not part of the intent: {person(7)}"):
        ledger.complete_intent(intent_id, succeeded=[person(1), person(7)], failed={person(2): "x"})
    with pytest.raises(LedgerError, match=f"no outcome given for 1 people: {person(2)}"):
        ledger.complete_intent(intent_id, succeeded=[person(1)], failed={})
    with pytest.raises(LedgerError, match="both succeeded and failed"):
        ledger.complete_intent(intent_id, succeeded=[person(1), person(2)], failed={person(2): "x"})
    with pytest.raises(LedgerError, match="unknown intent 'nope'"):
        ledger.complete_intent("nope", succeeded=[], failed={})
    assert [i.intent_id for i in ledger.pending_intents(KEY)] == [intent_id]  # nothing half-written


def test_completing_a_thousand_people_takes_a_handful_of_statements(ledger: Ledger) -> None:
    numbers = range(1, 1001)
    ledger.complete_intent(begin(ledger, "add", *numbers), succeeded=[person(n) for n in numbers], failed={})
    removal = begin(ledger, "remove", *numbers, run_id="run-2")
    statements: list[str] = []

    def count(*_args: Any) -> None:
        statements.append(_args[2])

    event.listen(ledger.engine, "before_cursor_execute", count)
    try:
        batch = ledger.complete_intent(
            removal, succeeded=[person(n) for n in range(1, 1000)], failed={person(1000): "locked list"}
        )
    finally:
        event.remove(ledger.engine, "before_cursor_execute", count)

    assert len(statements) <= 20, statements
    assert len(ledger.batch_events(batch)) == 999
    assert list(ledger.members(CAMPAIGN)) == [person(1000)]
