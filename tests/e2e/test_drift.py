"""Drift end to end: people changed in Dynamics behind our back (lead deleted, member taken out of our list by
hand) are noticed by the next run, recorded in the ledger and handled as the spec says — dag.test() against the
emulator, changes made through the Web API."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
import sync_world as world
import test_campaign_sync_dag as sync_dag_tests
from test_campaign_sync_dag import ADDED, REMOVED, SyncWorld, task_states

from dynamics_campaign_sync.dataverse import MemberType

pytestmark = pytest.mark.e2e
sync_world = sync_dag_tests.sync_world  # the fixture: its emulator, ledger, source and specs
KEY = "e2e_germany"
P1, P4 = world.dynamics_id("P1"), world.dynamics_id("P4")


def run_ok(sync_world: SyncWorld, day: int, conf: dict | None = None):
    run = sync_world.run(day=day, conf=conf)
    assert run.state == "success", task_states(run)
    return run


def summary(run) -> dict:
    return run.get_task_instance("summary").xcom_pull(task_ids="summary")


def status(sync_world: SyncWorld, person_id: str) -> str:
    return sync_world.ledger().membership(world.CAMPAIGN_ID, [person_id])[person_id].status


def requests_naming(sync_world: SyncWorld, person_id: str, since: int) -> list[dict]:
    return [r for r in sync_world.emulator.requests_log(since) if person_id in unquote(r["path"]).lower()]


def take_out_by_hand(sync_world: SyncWorld, person_id: str) -> None:
    """What someone in Dynamics does: ``DELETE listmembers(<id>)`` on our owned lead list."""
    lead_list = sync_world.ledger().owned_list(world.CAMPAIGN_ID, "lead").list_id
    with sync_world.client() as client:
        [row] = client.iter_records("listmembers", **{
            "$select": "listmemberid",
            "$filter": f"_listid_value eq {lead_list} and _entityid_value eq {person_id}"})
        client.transport.request("DELETE", f"listmembers({row['listmemberid']})")


def test_a_lead_deleted_in_dynamics_is_recorded_once_and_never_written_or_asked_about_again(sync_world):
    run_ok(sync_world, day=0)
    with sync_world.client() as client:
        client.transport.request("DELETE", f"leads({P4})")  # Dynamics drops its list memberships with it

    mark = sync_world.last_request_id()
    noticed = run_ok(sync_world, day=1)  # P4 still qualifies in the source
    assert status(sync_world, P4) == "deleted_in_dynamics"
    drifted = sync_world.ledger().drifted(world.CAMPAIGN_ID)[P4]
    assert drifted.removed_by_run == noticed.run_id and "deleted in Dynamics" in drifted.reason["drift"]
    assert sync_world.write_requests(since=mark) == []  # no add for them (nor anything else: nobody changed)
    assert sync_world.ledger().failures(KEY, noticed.run_id) == {}
    existence = [r for r in requests_naming(sync_world, P4, mark) if r["path"].startswith("/api/data/v9.2/leads?")]
    assert len(existence) == 1  # one batched existence check
    counts = sync_world.ledger().plan(KEY, noticed.run_id).counts
    assert counts["deleted_in_dynamics"] == 1 and counts["removed_in_dynamics"] == 0 and counts["to_add"] == 0
    result = summary(noticed)
    assert result["deleted_in_dynamics"] == 1 and result["failed"] == 0
    assert sync_world.events(REMOVED) == []  # drift is not our action

    mark = sync_world.last_request_id()
    third = run_ok(sync_world, day=2)
    assert requests_naming(sync_world, P4, mark) == []
    assert sync_world.write_requests(since=mark) == []
    assert summary(third)["deleted_in_dynamics"] == 0 and summary(third)["failed"] == 0
    assert status(sync_world, P4) == "deleted_in_dynamics"


def test_a_member_taken_out_by_hand_is_respected_until_they_stop_qualifying_and_qualify_again(sync_world):
    run_ok(sync_world, day=0)
    with sync_world.client() as client:  # RemoveListMembersList, as a user's bulk action sends it
        client.remove_members(sync_world.ledger().owned_list(world.CAMPAIGN_ID, "lead").list_id,
                              MemberType.LEAD, [P1])

    preview = run_ok(sync_world, day=1, conf={"dry_run": True})
    assert sync_world.ledger().plan(KEY, preview.run_id).counts["removed_in_dynamics"] == 1
    assert status(sync_world, P1) == "member"  # a dry run only reports what it would record

    mark = sync_world.last_request_id()
    noticed = run_ok(sync_world, day=1)
    assert status(sync_world, P1) == "removed_in_dynamics"
    assert summary(noticed)["removed_in_dynamics"] == 1 and summary(noticed)["added"] == 0
    assert P1 not in sync_world.owned_members()["lead"]
    assert sync_world.write_requests(since=mark) == [] and sync_world.events(REMOVED) == []

    world.write_source(sync_world.source_path, countries={"P1": "FR"})
    stopped = run_ok(sync_world, day=2)
    assert status(sync_world, P1) == "removed" and summary(stopped)["drift_cleared"] == 1

    world.write_source(sync_world.source_path)
    again = run_ok(sync_world, day=3)
    assert P1 in sync_world.owned_members()["lead"]
    membership = sync_world.ledger().members(world.CAMPAIGN_ID)[P1]
    assert membership.added_by_run == again.run_id and "rule" not in membership.reason  # a normal add
    assert sync_world.events(ADDED)[-1]["extra"]["count"] == 1


def test_restore_re_adds_a_member_taken_out_by_hand_while_they_qualify(sync_world, tmp_path):
    spec = world.SPEC.format(key=KEY, campaign_id=world.CAMPAIGN_ID) + "drift:\n  removed_in_dynamics: restore\n"
    (tmp_path / "specs" / "e2e_germany.yaml").write_text(spec)
    first = run_ok(sync_world, day=0)
    take_out_by_hand(sync_world, P1)
    assert P1 not in sync_world.owned_members()["lead"]

    restored = run_ok(sync_world, day=1)
    assert P1 in sync_world.owned_members()["lead"]
    membership = sync_world.ledger().members(world.CAMPAIGN_ID)[P1]
    assert membership.added_by_run == restored.run_id and "restore" in membership.reason["rule"]
    counts = sync_world.ledger().plan(KEY, restored.run_id).counts
    assert counts["removed_in_dynamics"] == 1 and counts["restored"] == 1 and counts["to_add"] == 1
    assert summary(restored)["restored"] == 1 and summary(restored)["added"] == 1
    [event] = [e for e in sync_world.events(ADDED) if e["run_id"] == restored.run_id]
    assert event["extra"]["count"] == 1 and first.run_id != restored.run_id
