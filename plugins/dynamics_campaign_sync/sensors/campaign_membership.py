"""Sensor: wait until given people are (or are no longer) members of a Dynamics campaign."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowFailException

from dynamics_campaign_sync.hooks.dynamics import DynamicsHook
from dynamics_campaign_sync.member_types import MemberType
from dynamics_campaign_sync.sync.membership_check import people_not_yet
from dynamics_campaign_sync.triggers.membership import CampaignMembershipTrigger


class CampaignMembershipSensor(BaseSensorOperator):
    """Waits until every person in ``person_ids`` is a member of the campaign (``present=True``) or
    none is (``present=False``), counting every list associated with the campaign.

    Pokes once; if it must wait and ``deferrable`` is on, the wait moves to the triggerer so no
    worker slot is held.
    """

    template_fields: Sequence[str] = ("campaign_id", "person_ids")

    def __init__(self, *, campaign_id: str, person_ids: Sequence[str] | str, member_type: str = "lead",
                 present: bool = True, dynamics_conn_id: str = DynamicsHook.default_conn_name,
                 deferrable: bool = True, poke_interval: float = 60, timeout: float = 3600, **kwargs: Any) -> None:
        super().__init__(poke_interval=poke_interval, timeout=timeout, **kwargs)
        if member_type not in set(MemberType):
            raise ValueError(f"{self.task_id}: member_type must be 'lead' or 'contact', got {member_type!r}")
        self.campaign_id = campaign_id
        self.person_ids = person_ids
        self.member_type = member_type
        self.present = present
        self.dynamics_conn_id = dynamics_conn_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> DynamicsHook:
        return DynamicsHook(self.dynamics_conn_id)

    def _people(self) -> list[str]:
        people = [self.person_ids] if isinstance(self.person_ids, str) else list(self.person_ids)
        if not people:
            raise AirflowFailException(f"{self.task_id}: no people to wait for")
        return people

    def poke(self, context: Any) -> bool:
        waiting = people_not_yet(self.hook.client, self.campaign_id, self.member_type, self._people(), self.present)
        state = "members" if self.present else "removed"
        self.log.info("%d of %d people not yet %s of campaign %s", len(waiting), len(self._people()), state,
                      self.campaign_id)
        return not waiting

    def execute(self, context: Any) -> None:
        if self.poke(context):
            return
        if not self.deferrable:
            super().execute(context)
            return
        self.defer(
            trigger=CampaignMembershipTrigger(
                dynamics_conn_id=self.dynamics_conn_id, campaign_id=self.campaign_id,
                member_type=self.member_type, person_ids=self._people(), present=self.present,
                poll_interval=self.poke_interval),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> None:
        if event.get("outcome") != "done":
            raise AirflowFailException(f"membership check failed: {event.get('message')}")
        self.log.info("All %d people are in the wanted state", len(self._people()))
