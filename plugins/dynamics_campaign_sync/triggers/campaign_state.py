"""Trigger that polls Dynamics until a campaign accepts writes (runs in the triggerer, not a worker)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class DynamicsCampaignActiveTrigger(BaseTrigger):
    """Fires ``{"outcome": "active", "campaign": {...}}`` once the campaign is active and not in a
    blocked status, or ``{"outcome": "error", "message": ...}`` if it cannot be read (deleted, no privilege)."""

    def __init__(
        self,
        *,
        dynamics_conn_id: str,
        campaign_id: str,
        blocked_statuses: list[int],
        poll_interval: float = 60.0,
    ) -> None:
        super().__init__()
        self.dynamics_conn_id = dynamics_conn_id
        self.campaign_id = campaign_id
        self.blocked_statuses = list(blocked_statuses)
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "dynamics_conn_id": self.dynamics_conn_id,
                "campaign_id": self.campaign_id,
                "blocked_statuses": self.blocked_statuses,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from dynamics_campaign_sync.dataverse import DataverseClient, DataverseError
        from dynamics_campaign_sync.hooks.dynamics import DynamicsHook, config_from_connection
        from dynamics_campaign_sync.sync.gate import blocked_reason, campaign_summary

        connection = await DynamicsHook.aget_connection(self.dynamics_conn_id)
        client = DataverseClient(config_from_connection(connection))
        blocked = frozenset(self.blocked_statuses)
        try:
            while True:
                try:
                    # The client is synchronous; a worker thread keeps the triggerer's loop free.
                    campaign = await asyncio.to_thread(client.get_campaign, self.campaign_id)
                except DataverseError as exc:
                    yield TriggerEvent({"outcome": "error", "message": str(exc)})
                    return
                reason = blocked_reason(campaign, blocked)
                if reason is None:
                    yield TriggerEvent({"outcome": "active", "campaign": campaign_summary(campaign)})
                    return
                self.log.info("Waiting: %s; next check in %.0fs", reason, self.poll_interval)
                await asyncio.sleep(self.poll_interval)
        finally:
            client.close()
