"""Drift states in the ledger: deleted or removed in Dynamics, cleared, re-added — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from ledger_samples import CAMPAIGN, END, KEY, LEAD_LIST, START, people, person
from sqlalchemy import func, select

from dynamics_campaign_sync.ledger import Ledger, LedgerError
from dynamics_campaign_sync.ledger.schema import events

DELETED, TAKEN_OUT = "deleted_in_dynamics", "removed_in_dynamics"


def add(ledger: Ledger, *numbers: int, run_id: str = "run-1") -> None:
    intent_id = ledger.begin_intent(campaign_key=KEY, campaign_id=CAMPAIGN, list_id=LEAD_LIST, member_type="lead",
                                    action="add", run_id=run_id, interval_start=START, interval_end=END,
                                    people=people(*numbers), source_ids={person(n): f"crm-{n}" for n in numbers})
    ledger.complete_intent(intent_id, succeeded=[person(n) for n in numbers], failed={})


def event_count(ledger: Ledger) -> int:
    with ledger.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(events))


def test_noticed_drift_leaves_the_members_and_is_listed_with_when_which_run_and_why(ledger: Ledger) -> None:
    add(ledger, 1, 2, 3)
    events_before = event_count(ledger)
    changed = ledger.record_drift(CAMPAIGN, "run-2", noticed={
        person(1): (DELETED, {"drift": "the lead was deleted in Dynamics"}),
        person(2): (TAKEN_OUT, {"drift": "taken out of our list", "policy": "respect"}),
    })
    assert sorted(changed) == [person(1), person(2)]
    assert set(ledger.members(CAMPAIGN)) == {person(3)}  # never planned for removal again
    drifted = ledger.drifted(CAMPAIGN)
    assert {p: m.status for p, m in drifted.items()} == {person(1): DELETED, person(2): TAKEN_OUT}
    deleted = drifted[person(1)]
    assert deleted.is_drifted and not deleted.is_member
    assert (deleted.added_by_run, deleted.removed_by_run, deleted.source_person_id) == ("run-1", "run-2", "crm-1")
    assert deleted.removed_at is not None and deleted.reason == {"drift": "the lead was deleted in Dynamics"}
    assert event_count(ledger) == events_before  # drift is not our action: no event, no asset event
    # Nobody we do not hold as a member can be removed through an intent, drifted people included.
    with pytest.raises(LedgerError, match="that we did not add"):
        ledger.begin_intent(campaign_key=KEY, campaign_id=CAMPAIGN, list_id=LEAD_LIST, member_type="lead",
                            action="remove", run_id="run-3", interval_start=START, interval_end=END,
                            people=people(1))


def test_clearing_makes_a_taken_out_person_plain_removed_and_a_re_add_makes_them_a_member(ledger: Ledger) -> None:
    add(ledger, 1, 2)
    ledger.record_drift(CAMPAIGN, "run-2", noticed={person(1): (TAKEN_OUT, {"drift": "taken out"}),
                                                     person(2): (DELETED, {"drift": "deleted"})})
    changed = ledger.record_drift(CAMPAIGN, "run-3", noticed={}, cleared={
        person(1): {"drift_cleared": "stopped qualifying"}, person(2): {"drift_cleared": "stopped qualifying"}})
    assert changed == [person(1)]  # a deleted person's state is final
    [cleared] = ledger.membership(CAMPAIGN, [person(1)]).values()
    assert cleared.status == "removed" and cleared.removed_by_run == "run-2"
    assert cleared.reason == {"drift": "taken out", "drift_cleared": "stopped qualifying"}
    assert set(ledger.drifted(CAMPAIGN)) == {person(2)}

    add(ledger, 1, run_id="run-4")  # qualifies again: a normal add
    assert ledger.members(CAMPAIGN)[person(1)].added_by_run == "run-4"


def test_only_members_drift_and_repeating_a_record_changes_nothing(ledger: Ledger) -> None:
    add(ledger, 1)
    noticed = {person(1): (TAKEN_OUT, {"drift": "taken out"}), person(9): (DELETED, {"drift": "never ours"})}
    assert ledger.record_drift(CAMPAIGN, "run-2", noticed=noticed) == [person(1)]
    assert ledger.record_drift(CAMPAIGN, "run-2", noticed=noticed) == []
    assert ledger.record_drift(CAMPAIGN, "run-3", noticed={person(1): (DELETED, {"drift": "later"})}) == []
    assert ledger.drifted(CAMPAIGN)[person(1)].removed_by_run == "run-2"
    assert person(9) not in ledger.membership(CAMPAIGN, [person(9)])


def test_bad_drift_input_is_refused_naming_what_is_wrong(ledger: Ledger) -> None:
    add(ledger, 1)
    with pytest.raises(LedgerError, match="drift state of .*must be one of"):
        ledger.record_drift(CAMPAIGN, "run-2", noticed={person(1): ("gone", {"drift": "?"})})
    with pytest.raises(LedgerError, match="both noticed and cleared"):
        ledger.record_drift(CAMPAIGN, "run-2", noticed={person(1): (DELETED, {})}, cleared={person(1): {}})
    with pytest.raises(LedgerError, match="reason must be a mapping"):
        ledger.record_drift(CAMPAIGN, "run-2", noticed={person(1): (DELETED, "deleted")})
    assert set(ledger.members(CAMPAIGN)) == {person(1)}
