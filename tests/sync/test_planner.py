"""The plan rules on their own: who is added, removed, left alone, and why."""

from __future__ import annotations

import datetime as dt

import pytest

from dynamics_campaign_sync.sync.planner import Candidate, CurrentMember, build_plan, removal_due

AS_OF = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def candidate(source: str, dynamics: str | None, member_type: str = "lead", email: str | None = None) -> Candidate:
    return Candidate(source, member_type, dynamics, email, {"matched": [1]})


def member(person: str, source: str, days_ago: int = 10, member_type: str = "lead") -> CurrentMember:
    return CurrentMember(person, member_type, source, AS_OF - dt.timedelta(days=days_ago))


def plan(**overrides):
    arguments = dict(candidates=[], eligible_source_ids=set(), unresolved={}, our_members={},
                     in_owned_lists={}, in_other_lists={}, removal_policy="mirror", removal_days=None,
                     last_qualified={}, as_of=AS_OF)
    arguments.update(overrides)
    return build_plan(**arguments)


def test_adds_only_eligible_people_not_already_in_our_list():
    result = plan(
        candidates=[candidate("s1", "d1"), candidate("s2", "d2"), candidate("s3", "d3"),
                    candidate("s4", None, email="new@example.com")],
        eligible_source_ids={"s1", "s2", "s4"},  # s3 qualified but the qualification rule holds it back
        in_owned_lists={"lead": {"d2"}},
    )
    assert [(e.person_id, e.reason["source_person_id"]) for e in result.adds] == [("d1", "s1"), ("new:s4", "s4")]
    assert result.adds[1].reason["email"] == "new@example.com"
    assert result.counts["to_add"] == 2 and result.counts["to_create"] == 1 and result.counts["eligible"] == 3


def test_mirror_removes_our_unqualified_members_still_in_our_list_only():
    result = plan(
        candidates=[candidate("s1", "d1")], eligible_source_ids={"s1"},
        our_members={"d1": member("d1", "s1"), "d2": member("d2", "s2"), "d3": member("d3", "s3")},
        in_owned_lists={"lead": {"d1", "d2", "d9"}},  # d9 was put there by hand; d3 was taken out by hand
        in_other_lists={"lead": {"d7", "d1"}},
    )
    assert [e.person_id for e in result.removes] == ["d2"]
    assert result.counts["already_gone"] == 1
    assert result.counts["not_ours"] == 2  # d9 (by hand) and d7 (another list); d1 qualifies


def test_never_policy_removes_nobody():
    result = plan(our_members={"d2": member("d2", "s2")}, in_owned_lists={"lead": {"d2"}}, removal_policy="never")
    assert result.removes == []


def test_after_days_waits_until_the_person_has_been_unqualified_long_enough():
    members = {"d1": member("d1", "s1"), "d2": member("d2", "s2")}
    last = {"s1": AS_OF - dt.timedelta(days=3), "s2": AS_OF - dt.timedelta(days=20)}
    result = plan(our_members=members, in_owned_lists={"lead": {"d1", "d2"}}, removal_policy="after_days",
                  removal_days=14, last_qualified=last)
    assert [e.person_id for e in result.removes] == ["d2"]


@pytest.mark.parametrize(("days_unqualified", "due"), [(13, False), (14, True), (15, True)])
def test_after_days_boundary_is_inclusive(days_unqualified, due):
    m = member("d1", "s1", days_ago=100)
    assert removal_due("after_days", 14, m, AS_OF - dt.timedelta(days=days_unqualified), AS_OF) is due


def test_after_days_falls_back_to_the_add_time_when_no_qualification_was_recorded():
    assert removal_due("after_days", 14, member("d1", "s1", days_ago=30), None, AS_OF)
    assert not removal_due("after_days", 14, member("d1", "s1", days_ago=2), None, AS_OF)


def test_a_member_matched_by_source_id_still_counts_as_qualified():
    # The source learnt the Dynamics id later: same person, same source id.
    result = plan(candidates=[candidate("s1", None, email="a@example.com")], eligible_source_ids=set(),
                  our_members={"d1": member("d1", "s1")}, in_owned_lists={"lead": {"d1"}})
    assert result.removes == []
