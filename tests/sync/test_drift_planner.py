"""Drift in the plan, state by state: members deleted in Dynamics or taken out of our list by someone else."""

from __future__ import annotations

import datetime as dt

import pytest

from dynamics_campaign_sync.sync.planner import (
    Candidate,
    CurrentMember,
    DriftFacts,
    build_plan,
    missing_members,
)

AS_OF = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
LIST_SINCE = {"lead": AS_OF - dt.timedelta(days=100), "contact": AS_OF - dt.timedelta(days=100)}


def candidate(source: str, dynamics: str, member_type: str = "lead") -> Candidate:
    return Candidate(source, member_type, dynamics, None, {"matched": [1]})


def member(person: str, source: str, status: str = "member", days_ago: int = 10) -> CurrentMember:
    return CurrentMember(person, "lead", source, AS_OF - dt.timedelta(days=days_ago), status)


def plan(drift: DriftFacts | None = None, **overrides):
    arguments = dict(candidates=[], eligible_source_ids=set(), unresolved={}, our_members={},
                     in_owned_lists={"lead": set()}, in_other_lists={}, removal_policy="mirror", removal_days=None,
                     last_qualified={}, as_of=AS_OF,
                     drift=drift or DriftFacts(list_since=LIST_SINCE))
    arguments.update(overrides)
    return build_plan(**arguments)


def test_a_member_whose_record_is_gone_is_deleted_in_dynamics_and_gets_no_add_even_if_qualified():
    result = plan(candidates=[candidate("s1", "d1")], eligible_source_ids={"s1"},
                  our_members={"d1": member("d1", "s1")},
                  drift=DriftFacts(deleted=frozenset({"d1"}), list_since=LIST_SINCE))
    assert [(e.person_id, e.action) for e in result.drift] == [("d1", "deleted_in_dynamics")]
    assert "deleted in Dynamics" in result.drift[0].reason["drift"]
    assert result.adds == [] and result.removes == []
    assert result.counts["deleted_in_dynamics"] == 1 and result.counts["removed_in_dynamics"] == 0


def test_a_member_deleted_earlier_is_never_planned_again_and_not_noticed_twice():
    result = plan(candidates=[candidate("s1", "d1")], eligible_source_ids={"s1"},
                  drift=DriftFacts(drifted={"d1": member("d1", "s1", "deleted_in_dynamics")}, list_since=LIST_SINCE))
    assert result.adds == [] and result.drift == [] and result.cleared == []
    assert result.counts["deleted_in_dynamics"] == 0


def test_respect_a_member_taken_out_by_hand_is_recorded_and_not_re_added_while_qualifying():
    result = plan(candidates=[candidate("s1", "d1")], eligible_source_ids={"s1"},
                  our_members={"d1": member("d1", "s1")})
    assert [(e.person_id, e.action) for e in result.drift] == [("d1", "removed_in_dynamics")]
    assert result.drift[0].reason["policy"] == "respect"
    assert result.adds == [] and result.counts["removed_in_dynamics"] == 1 and result.counts["restored"] == 0
    assert result.counts["already_gone"] == 1  # the old count keeps meaning "ours, but not in our list"

    later = plan(candidates=[candidate("s1", "d1")], eligible_source_ids={"s1"},
                 drift=DriftFacts(drifted={"d1": member("d1", "s1", "removed_in_dynamics")}, list_since=LIST_SINCE))
    assert later.adds == [] and later.cleared == [] and later.drift == []


def test_respect_state_is_cleared_once_a_run_sees_them_not_qualifying():
    result = plan(drift=DriftFacts(drifted={"d1": member("d1", "s1", "removed_in_dynamics")},
                                   list_since=LIST_SINCE))
    assert [(e.person_id, e.action) for e in result.cleared] == [("d1", "cleared")]
    assert result.counts["drift_cleared"] == 1 and result.adds == []


def test_an_older_interval_does_not_clear_drift():
    result = plan(drift=DriftFacts(drifted={"d1": member("d1", "s1", "removed_in_dynamics")},
                                   list_since=LIST_SINCE, may_clear=False))
    assert result.cleared == []


def test_restore_re_adds_a_member_taken_out_while_they_qualify_even_when_the_rule_holds_them_back():
    drifted = DriftFacts(drifted={"d2": member("d2", "s2", "removed_in_dynamics")}, list_since=LIST_SINCE)
    result = plan(candidates=[candidate("s1", "d1"), candidate("s2", "d2"), candidate("s3", "d3")],
                  eligible_source_ids=set(),  # "once": they all qualified before
                  our_members={"d1": member("d1", "s1"), "d3": member("d3", "s3")},
                  in_owned_lists={"lead": {"d3"}}, drift=drifted, drift_policy="restore")
    assert [(e.person_id, e.action) for e in result.drift] == [("d1", "removed_in_dynamics")]
    assert sorted(e.person_id for e in result.adds) == ["d1", "d2"]
    assert all("restore" in e.reason["rule"] and e.reason["matched"] == [1] for e in result.adds)
    assert result.counts["restored"] == 2 and result.counts["to_add"] == 2


def test_restore_leaves_a_member_taken_out_who_no_longer_qualifies_out():
    result = plan(our_members={"d1": member("d1", "s1")}, drift_policy="restore")
    assert [e.action for e in result.drift] == ["removed_in_dynamics"] and result.adds == []
    assert result.removes == []  # not in our list: nothing of ours to remove


def test_no_drift_for_a_write_in_flight_a_re_created_list_or_a_list_not_read():
    members = {"d1": member("d1", "s1"), "d2": member("d2", "s2", days_ago=200),
               "c3": CurrentMember("c3", "contact", "s3", AS_OF - dt.timedelta(days=1))}
    facts = DriftFacts(in_flight=frozenset({"d1"}), list_since=LIST_SINCE)
    # d1: a crashed removal is healed first; d2: added before our lead list was (re-)created; c3: no contact list read.
    assert missing_members(members, {"lead": set()}, facts) == {}
    result = plan(candidates=[candidate("s2", "d2")], eligible_source_ids={"s2"}, our_members=members,
                  in_owned_lists={"lead": set()}, drift=facts)
    assert result.drift == [] and [e.person_id for e in result.adds] == ["d2"]  # re-added to the new list


@pytest.mark.parametrize("policy", ["respect", "restore"])
def test_a_drifted_member_who_qualifies_again_after_being_cleared_is_a_normal_add(policy):
    # Cleared drift is plain "removed" in the ledger: neither a member nor drifted, so the usual rules apply.
    result = plan(candidates=[candidate("s1", "d1")], eligible_source_ids={"s1"}, drift_policy=policy)
    assert [e.person_id for e in result.adds] == ["d1"] and "rule" not in result.adds[0].reason
    held_back = plan(candidates=[candidate("s1", "d1")], eligible_source_ids=set(), drift_policy=policy)
    assert held_back.adds == []  # the qualification rule ("once") still decides
