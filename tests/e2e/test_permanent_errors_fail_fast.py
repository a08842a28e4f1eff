"""Failures no retry can cure fail the task at once, through Airflow itself: dag.test() against the emulator
runs a campaign sync whose owned list is locked in Dynamics, and the gate meets a refused credential. A failure
that may pass (the service unavailable) still gets the task's retries."""

from __future__ import annotations

import json

import pytest
import sync_world as world
import test_campaign_sync_dag as sync_dag_tests
from airflow.sdk.exceptions import AirflowFailException
from test_campaign_sync_dag import SyncWorld, task_states

from dynamics_campaign_sync.dataverse import MemberType
from dynamics_campaign_sync.sensors.campaign_active import DynamicsCampaignActiveSensor
from dynamics_campaign_sync.sync.owned_lists import owned_list_name
from support import emulator_connection

pytestmark = pytest.mark.e2e
sync_world = sync_dag_tests.sync_world  # the fixture: its emulator, ledger, source and specs
#: The sync DAG's tasks get three retries (dag_factory's default_args): a retried task ends on try 4.
TRIES_WITH_RETRIES = 4


def lock_the_owned_lead_list(sync_world: SyncWorld) -> None:
    """Dynamics holds a list bearing our owned list's name, locked by someone: ensure_lists adopts it by name
    and cannot write to it (an OwnedListError) until a person unlocks it."""
    seed = world.seed_document()
    seed["lists"].append({"listid": world.guid("list:locked-owned"),
                          "listname": owned_list_name(world.CAMPAIGN_ID, MemberType.LEAD),
                          "type": False, "createdfromcode": 4, "lockstatus": True, "statecode": 0})
    sync_world.emulator.reset(seed)


def test_a_locked_owned_list_fails_the_run_on_its_first_try(sync_world, capfd):
    lock_the_owned_lead_list(sync_world)
    run = sync_world.run()

    ensure = run.get_task_instance("ensure_lists")
    assert (run.state, ensure.state, ensure.try_number) == ("failed", "failed", 1), task_states(run)
    assert run.get_task_instance("add").state == "upstream_failed"
    assert not [r for r in sync_world.write_requests() if "ListMembers" in r["path"]]
    out, err = capfd.readouterr()  # task logs reach the console under dag.test()
    assert "cannot be written: it is locked" in out + err


def test_a_service_outage_still_uses_the_task_retries(sync_world, monkeypatch):
    # One attempt per request (the connection's retry extra), so the outage reaches Airflow on every try.
    monkeypatch.setenv("AIRFLOW_CONN_DYNAMICS_DEFAULT",
                       json.dumps(emulator_connection(sync_world.emulator, max_attempts=1)))
    sync_world.emulator.configure(faults=[{"path": r"/api/data/v9\.2/lists", "error_rate": 1,
                                           "error_statuses": [503]}])
    run = sync_world.run()

    ensure = run.get_task_instance("ensure_lists")
    assert (run.state, ensure.state, ensure.try_number) == ("failed", "failed", TRIES_WITH_RETRIES)


def test_the_gate_fails_at_once_on_a_refused_credential(fresh_emulator, monkeypatch):
    fresh_emulator.reset(world.seed_document())
    wrong = "not-the-registered-secret-42"
    connection = emulator_connection(fresh_emulator) | {"password": wrong}
    monkeypatch.setenv("AIRFLOW_CONN_DYNAMICS_DEFAULT", json.dumps(connection))

    with pytest.raises(AirflowFailException, match="invalid_client") as failed:
        DynamicsCampaignActiveSensor(task_id="gate", campaign_id=world.CAMPAIGN_ID).execute({})
    assert wrong not in str(failed.value)
