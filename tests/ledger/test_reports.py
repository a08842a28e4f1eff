"""The ledger's read-only reports for the dashboard: paged and filtered events, membership over time, a run's
failures with who failed, and one person across campaigns — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ledger_samples import CAMPAIGN, END, KEY, LEAD_LIST, START, person

from dynamics_campaign_sync.ledger import Ledger, LedgerError
from dynamics_campaign_sync.ledger.reports import EventFilter


def write(ledger: Ledger, action: str, numbers: range | list[int], run_id: str, day: int = 0,
          failed: dict[str, str] | None = None) -> None:
    """One intent of ``numbers`` (reasons carry source id and email), completed; ``failed`` people refused."""
    reasons = {person(n): {"matched": [1], "source_person_id": f"S{n}", "email": f"p{n}@example.com"}
               for n in numbers}
    intent_id = ledger.begin_intent(
        campaign_key=KEY, campaign_id=CAMPAIGN, list_id=LEAD_LIST, member_type="lead", action=action,
        run_id=run_id, interval_start=START + timedelta(days=day), interval_end=END + timedelta(days=day),
        people=reasons,
    )
    failed = failed or {}
    ledger.complete_intent(intent_id, succeeded=[p for p in reasons if p not in failed], failed=failed)


def test_events_page_through_all_of_them_with_the_total(ledger: Ledger) -> None:
    write(ledger, "add", range(1, 58), "run-1")
    total, first = ledger.events_page(KEY, limit=50)
    assert total == 57 and len(first) == 50
    total, rest = ledger.events_page(KEY, limit=50, offset=50)
    assert total == 57 and len(rest) == 7
    shown = [row["person_id"] for row in first + rest]
    assert sorted(shown) == sorted(person(n) for n in range(1, 58)) and len(set(shown)) == 57


def test_events_filter_by_action_day_and_search(ledger: Ledger) -> None:
    write(ledger, "add", range(1, 6), "run-1")
    write(ledger, "remove", [2, 3], "run-2", day=1)
    assert ledger.events_page(KEY, EventFilter(action="remove"))[0] == 2
    total, [found] = ledger.events_page(KEY, EventFilter(search="P4@EXAMPLE.com"))
    assert total == 1 and found["person_id"] == person(4)
    assert ledger.events_page(KEY, EventFilter(search="S3"))[0] == 2  # its add and its remove
    assert ledger.events_page(KEY, EventFilter(search=person(5)[-12:]))[0] == 1
    assert ledger.events_page(KEY, EventFilter(search="100%_"))[0] == 0  # LIKE wildcards are literal
    day = found["recorded_at"].date()
    assert ledger.events_page(KEY, EventFilter(since=day, until=day))[0] == 7
    assert ledger.events_page(KEY, EventFilter(since=day + timedelta(days=1)))[0] == 0
    assert ledger.events_page(KEY, EventFilter(until=day - timedelta(days=1)))[0] == 0
    with pytest.raises(LedgerError, match="action"):
        ledger.events_page(KEY, EventFilter(action="delete"))
    with pytest.raises(LedgerError, match="limit"):
        ledger.events_page(KEY, limit=0)


def test_membership_over_time_is_cumulative_adds_minus_removes(ledger: Ledger) -> None:
    write(ledger, "add", range(1, 6), "run-1")
    write(ledger, "add", [6], "run-2", day=1)
    write(ledger, "remove", [1, 2], "run-2", day=1)
    write(ledger, "remove", [3], "run-3", day=3)
    assert ledger.membership_over_time(KEY) == [
        {"date": "2026-03-02", "added": 5, "removed": 0, "members": 5},
        {"date": "2026-03-03", "added": 1, "removed": 2, "members": 4},
        {"date": "2026-03-05", "added": 0, "removed": 1, "members": 3},
    ]
    assert len(ledger.members(CAMPAIGN)) == 3
    assert ledger.membership_over_time("other-campaign") == []


def test_run_failures_name_the_person_and_keep_dynamics_error(ledger: Ledger) -> None:
    error = "0x80040217: lead With Id = 7 Does Not Exist"
    ledger.record_plan(campaign_key=KEY, run_id="run-1", interval_start=START, interval_end=END, status="applied",
                       counts={"to_add": 2, "failed": 1},
                       items=[(person(7), "lead", "add", {"source_person_id": "S7", "email": "p7@example.com"}),
                              (person(8), "lead", "add", {"source_person_id": "S8"})])
    write(ledger, "add", [7, 8], "run-1", failed={person(7): error})
    [failure] = ledger.run_failures(KEY, "run-1")
    assert (failure["person_id"], failure["action"], failure["error"]) == (person(7), "add", error)
    assert failure["reason"]["email"] == "p7@example.com" and failure["member_type"] == "lead"
    assert ledger.run_failures(KEY, "run-2") == []


def test_person_report_finds_one_person_by_email_source_id_or_dynamics_id(ledger: Ledger) -> None:
    ledger.record(KEY, ["S1", "S2"], START, "run-1")
    ledger.record_plan(campaign_key=KEY, run_id="run-1", interval_start=START, interval_end=END, status="applied",
                       counts={"to_add": 2}, items=[(person(1), "lead", "add", {"source_person_id": "S1"}),
                                                    (person(2), "lead", "add", {"source_person_id": "S2"})])
    write(ledger, "add", [1, 2], "run-1")
    write(ledger, "remove", [1], "run-2", day=1)
    for who in ("p1@example.com", "S1", person(1)):
        report = ledger.person_report(who)
        assert person(1) in report["dynamics_ids"] and "S1" in report["source_ids"], who
        assert [e["action"] for e in report["events"]] == ["remove", "add"], who
        assert [(q["person_id"], q["run_id"]) for q in report["qualifications"]] == [("S1", "run-1")], who
        assert [(i["person_id"], i["run_id"]) for i in report["plan_items"]] == [(person(1), "run-1")], who
        assert [(m["person_id"], m["status"]) for m in report["memberships"]] == [(person(1), "removed")], who
    nobody = ledger.person_report("nobody@example.com")
    assert nobody["events"] == nobody["memberships"] == nobody["qualifications"] == []
