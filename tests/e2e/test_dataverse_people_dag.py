"""People from Dynamics itself (``source.people: dataverse``) through the whole sync DAG: ``dag.test()`` against
the emulator, on each ledger database. The first run reads the leads and contacts with change tracking; after a
lead is edited in Dynamics the next run reads only what changed and removes exactly that person."""

from __future__ import annotations

import pytest
import sync_world as world
import test_campaign_sync_dag as sync_dag_tests
from test_campaign_sync_dag import SyncWorld, task_states

pytestmark = pytest.mark.e2e
sync_world = sync_dag_tests.sync_world  # the fixture: its emulator, ledger (SQLite, PostgreSQL), source and specs
KEY = world.DYNAMICS_PEOPLE_KEY
ADDED = f"dynamics_campaign.{KEY}.added"
REMOVED = f"dynamics_campaign.{KEY}.removed"


@pytest.fixture
def dynamics_world(sync_world: SyncWorld, tmp_path) -> SyncWorld:
    sync_world.emulator.reset(world.dynamics_people_seed())
    world.write_dynamics_people_spec(tmp_path / "specs")
    return sync_world


def people_reads(dynamics_world: SyncWorld, since: int) -> dict[str, list[str]]:
    """The collection reads of leads and contacts since request ``since``: table -> request paths."""
    reads: dict[str, list[str]] = {"leads": [], "contacts": []}
    for request in dynamics_world.emulator.requests_log(since):
        table = request["path"].split("?")[0].rsplit("/", 1)[-1]
        if request["method"] == "GET" and table in reads:
            reads[table].append(request["path"])
    return reads


def test_dynamics_people_are_synced_and_a_change_in_dynamics_removes_exactly_that_person(dynamics_world):
    p1, p2, p4, p6 = (world.dynamics_id(p) for p in ("P1", "P2", "P4", "P6"))
    mark = dynamics_world.last_request_id()
    first = dynamics_world.run(KEY, day=0)
    assert first.state == "success", task_states(first)
    # Leads and contacts in Germany; P3 (France) is in the campaign through someone else's list, and P8 has no
    # lead in Dynamics, so neither is a person of this source.
    assert dynamics_world.owned_members() == {"lead": {p1, p2, p4}, "contact": {p6}}
    (added,) = dynamics_world.events(ADDED)
    assert added["run_id"] == first.run_id and added["extra"]["count"] == 4
    # A full read with change tracking, paged by page_size: 2 (five leads, two contacts).
    reads = people_reads(dynamics_world, mark)
    assert (len(reads["leads"]), len(reads["contacts"])) == (3, 1)
    assert not any("deltatoken" in path for path in reads["leads"] + reads["contacts"])

    # Someone edits P2 in Dynamics: the address moves to France.
    with dynamics_world.client() as client:
        client.transport.request("PATCH", f"leads({p2})", json_body={"address1_country": "France"})
    mark = dynamics_world.last_request_id()
    second = dynamics_world.run(KEY, day=1)
    assert second.state == "success", task_states(second)

    assert dynamics_world.owned_members() == {"lead": {p1, p4}, "contact": {p6}}
    plan = dynamics_world.ledger().plan(KEY, second.run_id)
    assert plan.counts["to_add"] == 0 and plan.counts["to_remove"] == 1
    (removed,) = dynamics_world.events(REMOVED)
    assert removed["run_id"] == second.run_id and removed["extra"]["count"] == 1
    assert len(dynamics_world.events(ADDED)) == 1
    summary = second.get_task_instance("summary").xcom_pull(task_ids="summary")
    assert (summary["qualified"], summary["added"], summary["removed"]) == (3, 0, 1)
    # Only what changed was read: one delta read per table, from the links the first run kept in the ledger.
    reads = people_reads(dynamics_world, mark)
    assert [len(paths) for paths in reads.values()] == [1, 1]
    assert all("$deltatoken=" in paths[0] for paths in reads.values())
    snapshot = dynamics_world.ledger().people_snapshot(f"{KEY}/leads")
    assert snapshot.records[p2]["address1_country"] == "France"
    assert set(snapshot.records) == {world.dynamics_id(p) for p in ("P1", "P2", "P3", "P4", "P5")}
    # The partner list holding P3 was not touched.
    with dynamics_world.client() as client:
        assert set(client.iter_list_member_ids(world.PARTNER_LIST_ID)) == {world.dynamics_id("P3")}
