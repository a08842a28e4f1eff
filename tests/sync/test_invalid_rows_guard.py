"""The plan stage reports invalid source rows and the guard stops a run on too many of them (max_invalid_rows,
absolute or a percentage of the rows read) — against the emulator, a real ledger and a SQLite source."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import replace

import pytest
import sqlalchemy as sa
from bad_source_rows import EXPECTED_KINDS, bad_activities, bad_people, bad_rows_spec, write_tables

from dynamics_campaign_sync.qualification import SqlSource
from dynamics_campaign_sync.spec import CampaignSpec
from dynamics_campaign_sync.sync.service import CampaignSync, GuardError, RunContext
from support import client_for

END = dt.datetime(2026, 3, 2, 6, tzinfo=dt.UTC)
RUN = RunContext("scheduled__2026-03-02", END - dt.timedelta(days=1), END)
INVALID = sum(count for count, _ in EXPECTED_KINDS.values())


def spec_for(campaign_id: str, max_invalid_rows: int | str | None) -> CampaignSpec:
    return CampaignSpec.model_validate(bad_rows_spec(campaign_id, qualification="every_time",
                                                     guard={"max_invalid_rows": max_invalid_rows}))


@pytest.fixture
def world(fresh_emulator, tmp_path, ledger_factory):
    """A campaign in Dynamics, a ledger (SQLite, PostgreSQL) and a source with bad rows; builds a sync for a
    guard limit."""
    client = client_for(fresh_emulator)
    campaign_id = client.create("campaigns", {"name": f"Bad rows {uuid.uuid4().hex[:6]}", "statecode": 0,
                                              "statuscode": 2})
    source = sa.create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    write_tables(source, bad_people(), bad_activities(END))
    ledger = ledger_factory()
    ledger.migrate()

    def sync(max_invalid_rows: int | str | None) -> CampaignSync:
        return CampaignSync(spec_for(campaign_id, max_invalid_rows), client=client, ledger=ledger,
                            source_factory=lambda: SqlSource(source))

    yield sync, campaign_id
    client.close()
    source.dispose()


def test_the_plan_stores_the_invalid_rows_and_logs_their_kinds_with_example_ids(world, caplog):
    make_sync, campaign_id = world
    sync = make_sync(None)
    with caplog.at_level(logging.WARNING, logger="dynamics_campaign_sync.sync.service"):
        result = sync.plan(campaign_id, RUN)

    assert result["counts"]["qualified"] == 12 and result["counts"]["invalid_rows"] == INVALID
    stored = sync.ledger.plan(sync.key, RUN.run_id)
    report = stored.details["invalid_rows"]
    assert {kind: (entry["count"], set(entry["examples"])) for kind, entry in report.items()} == EXPECTED_KINDS
    assert stored.counts["invalid_rows.duplicate_person_id"] == 2
    assert stored.counts["invalid_rows.not_numeric:employees"] == 1
    assert "Left out 1 invalid source rows: not_numeric:employees (e.g. N1)" in caplog.text
    assert "guid-of-null" in caplog.text and "2026-07-01" not in caplog.text  # ids, never row values
    assert sync.guard(RUN, override=False) is True  # no limit set: reported, not stopped


def test_the_guard_stops_above_max_invalid_rows_naming_the_kinds_and_not_at_it(world):
    make_sync, campaign_id = world
    at_limit = make_sync(INVALID)
    at_limit.plan(campaign_id, RUN)
    assert at_limit.guard(RUN, override=False) is True

    over = make_sync(INVALID - 1)
    run = RunContext("scheduled__2026-03-02-again", RUN.interval_start, RUN.interval_end)
    over.plan(campaign_id, run)
    with pytest.raises(GuardError) as stopped:
        over.guard(run, override=False)
    message = str(stopped.value)
    assert f"{INVALID} invalid source rows" in message and f"max_invalid_rows {INVALID - 1}" in message
    assert "null_person_id 2" in message and "activity_null_person_id 3" in message
    assert "Nothing was written" in message
    assert over.ledger.plan(over.key, run.run_id).status == "blocked"


def test_a_percentage_is_of_the_rows_read(world):
    make_sync, campaign_id = world
    counts = {"invalid_rows": 10, "invalid_rows.null_person_id": 10, "people_scanned": 900,
              "activity_rows_read": 100}
    assert make_sync("1%").guard_problems(counts) == []
    problems = make_sync("1%").guard_problems({**counts, "invalid_rows": 11, "invalid_rows.null_person_id": 11})
    assert problems == ["11 invalid source rows (null_person_id 11) exceed max_invalid_rows 1% "
                        "(= 10 of 1000 rows read)"]


def test_a_dry_run_records_the_report_and_the_guard_problem_without_stopping(world):
    make_sync, campaign_id = world
    sync = make_sync("1%")
    sync.plan(campaign_id, replace(RUN, dry_run=True))
    stored = sync.ledger.plan(sync.key, RUN.run_id)
    assert stored.status == "dry_run" and stored.details["invalid_rows"]["unknown_member_type"]["count"] == 2
    [problem] = sync.guard_problems(dict(stored.counts))
    assert problem.startswith(f"{INVALID} invalid source rows (") and "max_invalid_rows 1%" in problem
