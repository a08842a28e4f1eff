"""A plan's details (the invalid source rows by kind, with example ids) beside its counts, on SQLite and
PostgreSQL — stored by the plan stage itself, and never holding an id the ledger could not store."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from bad_source_rows import EXPECTED_KINDS, LONG_ID, bad_activities, bad_people, bad_rows_spec, write_tables
from ledger_samples import END, KEY, START

from dynamics_campaign_sync.ledger import Ledger, LedgerError
from dynamics_campaign_sync.qualification import SqlSource
from dynamics_campaign_sync.spec import CampaignSpec
from dynamics_campaign_sync.sync.service import CampaignSync, RunContext
from support import client_for

DETAILS = {"invalid_rows": {"null_person_id": {"count": 3, "examples": ["dynamics_id=a", "dynamics_id=b"]},
                            "not_numeric:employees": {"count": 1, "examples": ["P7"]}}}


def record(ledger: Ledger, run_id: str, details: object = None, **counts: int) -> None:
    ledger.record_plan(campaign_key=KEY, run_id=run_id, interval_start=START, interval_end=END,
                       status="planned", counts={"invalid_rows": 4, **counts}, details=details)


def test_details_are_stored_kept_through_status_changes_and_replaced_with_the_plan(ledger: Ledger) -> None:
    record(ledger, "run-1", DETAILS)
    assert ledger.plan(KEY, "run-1").details == DETAILS
    ledger.update_plan_status(KEY, "run-1", "blocked", {"requests": 0})
    blocked = ledger.plan(KEY, "run-1")
    assert blocked.details == DETAILS and blocked.counts == {"invalid_rows": 4, "requests": 0}
    assert ledger.latest_plan(KEY, "blocked").details == DETAILS

    record(ledger, "run-1")  # planned again, this time from a clean source
    assert ledger.plan(KEY, "run-1").details == {}
    with ledger.engine.connect() as connection:  # stored as SQL NULL, not the JSON text null
        assert connection.scalar(sa.text("SELECT count(*) FROM run_plans WHERE details IS NULL")) == 1


@pytest.mark.parametrize(("details", "message"), [
    (["not", "a", "mapping"], "details must be a mapping"),
    ({"invalid_rows": {"x": {"count": float("nan")}}}, "details are not JSON"),
    ({"when": dt.datetime(2026, 3, 1)}, "details are not JSON"),
])
def test_details_that_are_not_a_json_object_are_refused_naming_the_plan(ledger: Ledger, details, message) -> None:
    with pytest.raises(LedgerError, match=f"plan of campaign {KEY}, run run-1: {message}"):
        record(ledger, "run-1", details)
    assert ledger.plan(KEY, "run-1") is None


def test_the_plan_stage_stores_the_invalid_rows_and_the_ledger_never_sees_an_overlong_id(
    ledger: Ledger, fresh_emulator, tmp_path
) -> None:
    client = client_for(fresh_emulator)
    campaign_id = client.create("campaigns", {"name": f"Bad rows {uuid.uuid4().hex[:6]}", "statecode": 0,
                                              "statuscode": 2})
    end = dt.datetime(2026, 3, 2, 6, tzinfo=dt.UTC)
    source = sa.create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    write_tables(source, bad_people(), bad_activities(end))
    spec = CampaignSpec.model_validate(bad_rows_spec(campaign_id))
    sync = CampaignSync(spec, client=client, ledger=ledger, source_factory=lambda: SqlSource(source))
    run = RunContext("scheduled__2026-03-02", end - dt.timedelta(days=1), end)
    try:
        sync.plan(campaign_id, run)  # records the qualified source ids too
    finally:
        client.close()
        source.dispose()

    stored = ledger.plan("bad_rows", run.run_id)
    report = stored.details["invalid_rows"]
    assert {kind: (entry["count"], set(entry["examples"])) for kind, entry in report.items()} == EXPECTED_KINDS
    assert stored.counts["invalid_rows"] == sum(count for count, _ in EXPECTED_KINDS.values())
    assert stored.counts["invalid_rows.person_id_too_long"] == 1
    remembered = ledger.last_qualified("bad_rows", ["P01", "D1", LONG_ID])
    assert set(remembered) == {"P01"}
