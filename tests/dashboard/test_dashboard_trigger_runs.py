"""Triggered runs on the dashboard, through Airflow's real API app: a trigger campaign whose ledger holds a triggered
run that added someone, a batch run, and a triggered run that added nobody — each listed with its mode, the triggered
one that added someone with its "activity → member" latency as the ledger recorded it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import test_dashboard_api as dashboard_api
from dashboard.conftest import _run, synced_world
from dashboard_world import SyncedLedger
from test_dashboard_api import LIST, Airflow

pytestmark = pytest.mark.e2e
# The API tests' fixtures, built on this module's synced_ledger below.
airflow, analyst = dashboard_api.airflow, dashboard_api.analyst
KEY = "e2e_demo_requests"


@pytest.fixture(scope="module")
def synced_ledger(airflow_db, emulator, tmp_path_factory) -> Iterator[SyncedLedger]:
    """P1 (Germany) and P3 (France) ask for a demo: a triggered run adds P1. A batch run re-checks everyone. P3 asks
    again: a triggered run that adds nobody."""
    from e2e import sync_world as world

    def specs(folder: Path) -> None:
        folder.mkdir()
        (folder / f"{KEY}.yaml").write_text(world.trigger_spec(KEY))

    with synced_world(emulator, tmp_path_factory.mktemp("dashboard-trigger"), specs) as (synced, source_url):
        source = sa.create_engine(source_url)
        triggered = f"campaign_sync__{KEY}__triggered"
        world.insert_activities(source, [("P1", "form_fill", world.DEMO), ("P3", "form_fill", world.DEMO)])
        _run("campaign_sync.py", triggered)
        _run("campaign_sync.py", f"campaign_sync__{KEY}", run_after=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        world.insert_activities(source, [("P3", "form_fill", world.DEMO)])
        _run("campaign_sync.py", triggered)
        source.dispose()
    yield synced


def test_triggered_runs_show_beside_batch_runs_with_their_latency(airflow: Airflow, analyst: str,
                                                                  synced_ledger: SyncedLedger) -> None:
    ledger = synced_ledger.ledger()
    detail = airflow.get(f"{LIST}/{KEY}", analyst).json()
    runs = detail["runs"]  # newest first
    assert [(r["mode"], r["status"]) for r in runs] == [("trigger", "applied"), ("batch", "applied"),
                                                       ("trigger", "applied")]
    assert [r["counts"]["added"] for r in runs] == [0, 0, 1]

    adding = runs[2]
    plan = ledger.plan(KEY, adding["run_id"])
    first_activity = dt.datetime.fromisoformat(plan.details["trigger"]["first_event_time"])
    _, events = ledger.events_page(KEY)
    (added,) = [e for e in events if e["run_id"] == adding["run_id"] and e["action"] == "add"]
    assert adding["latency_seconds"] == round((added["recorded_at"] - first_activity).total_seconds(), 1) >= 0
    # A batch run has no activity to be late for; a triggered run that added nobody has no member to time.
    assert runs[0]["latency_seconds"] is None and runs[1]["latency_seconds"] is None

    overview = airflow.get(LIST, analyst).json()
    (row,) = [c for c in overview["campaigns"] if c["key"] == KEY]
    assert row["last_run"]["run_id"] == runs[0]["run_id"] and row["last_run"]["mode"] == "trigger"
    ledger.close()
