"""The gate and membership sensors against the emulator: poke once, defer only when they must wait,
and their triggers finish the wait once Dynamics changes."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import sync_world as world
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from dynamics_campaign_sync.dataverse import MemberType
from dynamics_campaign_sync.sensors.campaign_active import DynamicsCampaignActiveSensor
from dynamics_campaign_sync.sensors.campaign_membership import CampaignMembershipSensor
from support import client_for, emulator_connection

pytestmark = pytest.mark.e2e


@pytest.fixture
def dynamics(fresh_emulator, monkeypatch):
    fresh_emulator.reset(world.seed_document())
    monkeypatch.setenv("AIRFLOW_CONN_DYNAMICS_DEFAULT", json.dumps(emulator_connection(fresh_emulator)))
    return fresh_emulator


async def first_event(trigger, while_waiting):
    """Run a trigger until its first event, doing ``while_waiting`` once it has polled at least once."""
    events = trigger.run()
    task = asyncio.ensure_future(events.__anext__())
    await asyncio.sleep(0.3)
    assert not task.done(), "the trigger fired before anything changed"
    await asyncio.to_thread(while_waiting)
    event = await asyncio.wait_for(task, timeout=20)
    await events.aclose()
    return event.payload


def test_gate_passes_an_active_campaign_and_returns_it(dynamics):
    sensor = DynamicsCampaignActiveSensor(task_id="gate", campaign_name="E2E Launch")
    assert sensor.execute({})["campaign_id"] == world.CAMPAIGN_ID


def test_gate_fails_fast_on_an_inactive_campaign_and_names_a_missing_one(dynamics):
    with pytest.raises(AirflowFailException, match="E2E Retired.*inactive"):
        DynamicsCampaignActiveSensor(task_id="gate", campaign_id=world.INACTIVE_CAMPAIGN_ID, fail_fast=True).execute({})
    missing = str(uuid.uuid4())
    with pytest.raises(AirflowFailException, match=f"{missing} was not found in {dynamics.org_url}"):
        DynamicsCampaignActiveSensor(task_id="gate", campaign_id=missing).execute({})


def test_gate_defers_until_the_campaign_is_activated(dynamics):
    sensor = DynamicsCampaignActiveSensor(task_id="gate", campaign_id=world.INACTIVE_CAMPAIGN_ID, poke_interval=0.1)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    classpath, kwargs = trigger.serialize()
    assert classpath.endswith("DynamicsCampaignActiveTrigger") and "secret" not in json.dumps(kwargs)

    def activate():
        with client_for(dynamics) as client:
            client.transport.request("PATCH", f"campaigns({world.INACTIVE_CAMPAIGN_ID})",
                                     json_body={"statecode": 0, "statuscode": 2}, headers={"If-Match": "*"})

    event = asyncio.run(first_event(trigger, activate))
    assert event["outcome"] == "active" and event["campaign"]["campaign_id"] == world.INACTIVE_CAMPAIGN_ID
    assert sensor.execute_complete({}, event)["status"] == "launched"


def test_membership_sensor_waits_until_people_are_members(dynamics):
    people = [world.dynamics_id("P1"), world.dynamics_id("P3")]  # P3 is in the campaign via the partner list
    sensor = CampaignMembershipSensor(task_id="wait", campaign_id=world.CAMPAIGN_ID, person_ids=people,
                                      poke_interval=0.1)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})

    def add_p1():
        with client_for(dynamics) as client:
            client.add_members(world.PARTNER_LIST_ID, MemberType.LEAD, [world.dynamics_id("P1")])

    assert asyncio.run(first_event(deferred.value.trigger, add_p1))["outcome"] == "done"
    # Now both are members: a fresh sensor pokes once and is done without deferring.
    assert CampaignMembershipSensor(task_id="again", campaign_id=world.CAMPAIGN_ID, person_ids=people).execute({}) is None
    # And waiting for their removal defers again.
    with pytest.raises(TaskDeferred):
        CampaignMembershipSensor(task_id="gone", campaign_id=world.CAMPAIGN_ID, person_ids=people,
                                 present=False).execute({})
