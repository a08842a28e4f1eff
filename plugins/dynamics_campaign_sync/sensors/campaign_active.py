"""Sensor: the Dynamics campaign exists and accepts writes (Marketo's "campaign is not inactive")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException

from dynamics_campaign_sync.dataverse import Campaign, HttpError
from dynamics_campaign_sync.hooks.dynamics import DynamicsHook
from dynamics_campaign_sync.operators.base import FailsFastOnPermanentErrors
from dynamics_campaign_sync.sync.gate import blocked_reason, campaign_summary, parse_blocked_statuses
from dynamics_campaign_sync.triggers.campaign_state import DynamicsCampaignActiveTrigger


class DynamicsCampaignActiveSensor(FailsFastOnPermanentErrors, BaseSensorOperator):
    """Checks once that the campaign exists and is in a status that allows writes.

    If it is not, the sensor either fails at once (``fail_fast=True``: nothing downstream writes) or
    waits — deferred to the triggerer when ``deferrable`` (no worker slot held), else poking.
    A campaign that does not exist fails the task, naming the campaign and the organisation; so does any other
    permanent error (a refused credential, a missing privilege), without retries.
    Returns (XCom) a small summary of the campaign: id, name, state and status.
    """

    template_fields: Sequence[str] = ("campaign_id", "campaign_name")

    def __init__(
        self,
        *,
        campaign_id: str | None = None,
        campaign_name: str | None = None,
        dynamics_conn_id: str = DynamicsHook.default_conn_name,
        blocked_statuses: Sequence[str | int] = ("inactive",),
        fail_fast: bool = False,
        deferrable: bool = True,
        poke_interval: float = 300,
        timeout: float = 6 * 3600,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, timeout=timeout, **kwargs)
        if bool(campaign_id) == bool(campaign_name):
            raise ValueError(f"{self.task_id}: give exactly one of campaign_id and campaign_name")
        self.campaign_id = campaign_id
        self.campaign_name = campaign_name
        self.dynamics_conn_id = dynamics_conn_id
        self.blocked_statuses = parse_blocked_statuses(blocked_statuses)
        self.fail_fast = fail_fast
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> DynamicsHook:
        return DynamicsHook(self.dynamics_conn_id)

    def _campaign(self) -> Campaign:
        client = self.hook.client
        where = f"in {self.hook.config.org_url}"
        if self.campaign_id:
            try:
                return client.get_campaign(self.campaign_id)
            except HttpError as exc:
                if exc.status == 404:
                    raise AirflowFailException(f"campaign {self.campaign_id} was not found {where}") from None
                raise
        matches = client.find_campaigns_by_name(self.campaign_name)  # type: ignore[arg-type]
        if len(matches) != 1:
            found = ", ".join(c.id for c in matches) or "none"
            raise AirflowFailException(
                f"campaign name {self.campaign_name!r} must match exactly one campaign {where}; matches: {found}"
            )
        return matches[0]

    def poke(self, context: Any) -> PokeReturnValue:
        campaign = self._campaign()
        reason = blocked_reason(campaign, self.blocked_statuses)
        if reason is None:
            self.log.info(
                "Campaign %r (%s) is %s: writes allowed", campaign.name, campaign.id, campaign.status_name
            )
            return PokeReturnValue(is_done=True, xcom_value=campaign_summary(campaign)
                                   | {"dataverse": self.hook.client.stats.as_dict()})
        if self.fail_fast:
            raise AirflowFailException(f"{reason}: no member will be added or removed")
        self.log.warning("%s; waiting", reason)
        self._waiting_for = campaign.id
        return PokeReturnValue(is_done=False)

    def execute(self, context: Any) -> Any:
        first = self.poke(context)
        if first.is_done:
            return first.xcom_value
        if not self.deferrable:
            return super().execute(context)
        self.defer(
            trigger=DynamicsCampaignActiveTrigger(
                dynamics_conn_id=self.dynamics_conn_id,
                campaign_id=self._waiting_for,
                blocked_statuses=sorted(self.blocked_statuses),
                poll_interval=self.poke_interval,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("outcome") != "active":
            raise AirflowFailException(f"campaign check failed: {event.get('message')}")
        campaign = event["campaign"]
        self.log.info(
            "Campaign %r (%s) is now %s", campaign["name"], campaign["campaign_id"], campaign["status"]
        )
        return campaign
