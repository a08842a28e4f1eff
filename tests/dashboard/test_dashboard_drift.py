"""Drifted people on the dashboard, through Airflow's real API app: a ledger filled by real syncs in which one
lead was deleted in Dynamics and one member was taken out of our list by hand between two runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import test_dashboard_api as dashboard_api
from dashboard.conftest import _run, synced_world
from dashboard_world import DAY, KEY, SyncedLedger
from test_dashboard_api import LIST, Airflow

pytestmark = pytest.mark.e2e
# The API tests' fixtures, built on this module's synced_ledger below.
airflow, analyst = dashboard_api.airflow, dashboard_api.analyst


@pytest.fixture(scope="module")
def synced_ledger(airflow_db, emulator, tmp_path_factory) -> Iterator[SyncedLedger]:
    """This module's world: day 0 adds five people; then P4's lead is deleted and P1 is taken out of our lead
    list in Dynamics; day 1 notices both."""
    from e2e import sync_world as world

    from dynamics_campaign_sync.dataverse import MemberType
    from support import client_for

    with synced_world(emulator, tmp_path_factory.mktemp("dashboard-drift"), world.write_specs) as (synced, _):
        sync = f"campaign_sync__{KEY}"
        _run("campaign_sync.py", sync, logical_date=DAY[0])
        lead_list = synced.ledger().owned_list(world.CAMPAIGN_ID, "lead").list_id
        with client_for(emulator) as client:
            client.transport.request("DELETE", f"leads({world.dynamics_id('P4')})")
            client.remove_members(lead_list, MemberType.LEAD, [world.dynamics_id("P1")])
        _run("campaign_sync.py", sync, logical_date=DAY[1])
    yield synced


def test_drifted_people_are_listed_per_campaign_with_state_when_and_why(airflow: Airflow, analyst: str,
                                                                          synced_ledger: SyncedLedger) -> None:
    from e2e import sync_world as world

    ledger = synced_ledger.ledger()
    noticed_by = ledger.latest_plan(KEY).run_id
    detail = airflow.get(f"{LIST}/{KEY}", analyst).json()

    listed = {p["person_id"]: p for p in detail["drift"]}
    p1, p4 = world.dynamics_id("P1"), world.dynamics_id("P4")
    assert set(listed) == {p1, p4} == set(ledger.drifted(world.CAMPAIGN_ID))
    assert listed[p4]["state"] == "deleted_in_dynamics" and "deleted in Dynamics" in listed[p4]["why"]
    assert listed[p1]["state"] == "removed_in_dynamics" and "by someone else" in listed[p1]["why"]
    for person, source in ((p1, "P1"), (p4, "P4")):
        row = listed[person]
        assert row["member_type"] == "lead" and row["source_person_id"] == source
        assert row["noticed_by_run"] == noticed_by and row["noticed_at"] and row["added_at"]
    assert detail["members"]["drifted"] == {"deleted_in_dynamics": 1, "removed_in_dynamics": 1}
    assert detail["last_run"]["counts"]["deleted_in_dynamics"] == 1
    assert detail["last_run"]["counts"]["removed_in_dynamics"] == 1
    # The people counted as "already gone" are named, with why, beside the explained count.
    gone = {p["person_id"]: p for p in detail["last_run"]["details"]["already_gone"]}
    assert set(gone) == {p1, p4} and detail["last_run"]["counts"]["already_gone"] == 2
    assert gone[p1]["source_person_id"] == "P1" and gone[p1]["why"] == "no longer in our list in Dynamics"
    assert "already_gone" in detail["count_meanings"]

    [row] = [c for c in airflow.get(LIST, analyst).json()["campaigns"] if c["key"] == KEY]
    assert row["members"]["drifted"] == detail["members"]["drifted"]
    assert row["members"]["lead"] == 2  # P2 and the lead created for P8; P1 and P4 are no longer counted
    ledger.close()
