"""Bad source rows end to end: dag.test() against the emulator leaves them out, names them by kind in the
summary XCom and the stored plan, and a guard with max_invalid_rows stops the run before any write."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import sync_world as world
from bad_source_rows import LONG_ID, person, write_tables
from test_campaign_sync_dag import SyncWorld, task_states

pytestmark = pytest.mark.e2e

SPEC = f"""
key: e2e_germany
title: E2E German companies of ten or more
owner: e2e-tests
campaign:
  id: {world.CAMPAIGN_ID}
member_types: [lead, contact]
schedule:
  cron: "0 6 * * *"
  start_date: 2026-01-01
rules:
  filters:
    - {{type: demographic, field: country, operator: is, value: de}}
    - {{type: demographic, field: employees, operator: gte, value: 10}}
qualification: every_time
"""
INVALID_BY_KIND = {"null_person_id": 1, "person_id_too_long": 1, "duplicate_person_id": 2,
                   "unknown_member_type": 1, "not_numeric:employees": 1}


def known(person_id: str, **values) -> dict:
    """A people row for someone the Dynamics seed knows (their lead or contact id and email)."""
    member_type, dynamics_id, email, _ = world.PEOPLE[person_id]
    return person(person_id, **{"member_type": member_type, "dynamics_id": dynamics_id, "email": email, **values})


def bad_source(path: Path) -> None:
    """P1, P2 (leads) and P6 (a contact) are good; everyone else who would qualify has a bad row."""
    rows = [
        known("P1"), known("P2"), known("P6"),
        known("P3", country="FR"),  # good, does not qualify
        {**known("P4"), "person_id": None},  # P4's lead, but no person id
        known("P5"), known("P5"),  # the same version twice
        known("P7", member_type="Contact "),
        known("P8", employees="n/a"),  # known only by email: no lead is created for a bad row
        person(LONG_ID, dynamics_id=None, email="too-long@example.com"),
    ]
    engine = sa.create_engine(f"sqlite:///{path}")
    write_tables(engine, pd.DataFrame(rows), pd.DataFrame(columns=["activity_id", "person_id"]))
    engine.dispose()


@pytest.fixture
def bad_world(airflow_db, fresh_emulator, tmp_path, monkeypatch) -> SyncWorld:
    """The end-to-end world with the source replaced by :func:`bad_source` and the spec by :data:`SPEC`."""
    synced = SyncWorld(fresh_emulator, tmp_path, monkeypatch)
    bad_source(synced.source_path)
    write_spec(tmp_path)
    return synced


def write_spec(tmp_path: Path, guard: str = "") -> None:
    (tmp_path / "specs" / "e2e_germany.yaml").write_text(SPEC + guard)


def test_bad_rows_are_left_out_and_counted_in_the_summary_and_the_guard_stops_on_too_many(bad_world, tmp_path):
    first = bad_world.run(day=0)
    assert first.state == "success", task_states(first)

    assert bad_world.owned_members() == {"lead": {world.dynamics_id("P1"), world.dynamics_id("P2")},
                                          "contact": {world.dynamics_id("P6")}}
    summary = first.get_task_instance("summary").xcom_pull(task_ids="summary")
    assert summary["invalid_rows"] == 6 and summary["invalid_rows_by_kind"] == INVALID_BY_KIND
    assert summary["qualified"] == 3 and summary["added"] == 3
    plan = bad_world.ledger().plan("e2e_germany", first.run_id)
    assert plan.details["invalid_rows"]["duplicate_person_id"] == {"count": 2, "examples": ["P5"]}
    assert plan.details["invalid_rows"]["null_person_id"]["examples"] == [f"dynamics_id={world.dynamics_id('P4')}"]

    write_spec(tmp_path, guard="guard: {max_invalid_rows: 5}\n")
    mark = bad_world.last_request_id()
    stopped = bad_world.run(day=1)
    assert stopped.state == "failed" and task_states(stopped)["guard"] == "failed"
    assert bad_world.write_requests(since=mark) == []
    assert bad_world.ledger().plan("e2e_germany", stopped.run_id).status == "blocked"
