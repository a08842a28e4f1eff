"""Plans and failures name people still to be created as ``new:<source id>``; source ids can be long."""

from __future__ import annotations

from ledger_samples import END, KEY, START

from dynamics_campaign_sync.ledger import Ledger

#: An email used as the source's person id, longer than a GUID.
NEW_PERSON = "new:" + "firstname.lastname-with-a-long-tail@subsidiary.example.com"


def test_plan_items_and_failures_keep_long_new_person_ids(ledger: Ledger) -> None:
    ledger.record_plan(campaign_key=KEY, run_id="run-1", interval_start=START, interval_end=END, status="planned",
                       counts={"to_add": 1}, items=[(NEW_PERSON, "lead", "add", {"email": "x@example.com"})])
    assert [i.person_id for i in ledger.plan_items(KEY, "run-1", action="add")] == [NEW_PERSON]
    ledger.record_failures(KEY, "run-1", "add", {NEW_PERSON: "lead not created: HTTP 400"})
    assert ledger.failures(KEY, "run-1") == {NEW_PERSON: "lead not created: HTTP 400"}
    ledger.record_failures(KEY, "run-1", "add", {}, succeeded=[NEW_PERSON])  # a retry created the lead
    assert ledger.failures(KEY, "run-1") == {}
