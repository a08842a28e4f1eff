"""Trigger that waits until a Dynamics campaign accepts writes."""

from __future__ import annotations

from typing import Any

from dynamics_campaign_sync.triggers.polling import DataversePollingTrigger


class DynamicsCampaignActiveTrigger(DataversePollingTrigger):
    """Fires ``{"outcome": "active", "campaign": {...}}`` once the campaign is active and not in a
    blocked status, or ``{"outcome": "error", "message": ...}`` if it cannot be read."""

    def __init__(self, *, campaign_id: str, blocked_statuses: list[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.campaign_id = campaign_id
        self.blocked_statuses = list(blocked_statuses)

    def serialize_kwargs(self) -> dict[str, Any]:
        return {"campaign_id": self.campaign_id, "blocked_statuses": self.blocked_statuses}

    def check(self, client: Any) -> dict[str, Any] | None:
        from dynamics_campaign_sync.sync.gate import blocked_reason, campaign_summary

        campaign = client.get_campaign(self.campaign_id)
        reason = blocked_reason(campaign, frozenset(self.blocked_statuses))
        if reason is None:
            return {"outcome": "active", "campaign": campaign_summary(campaign)}
        self.log.info("Waiting: %s; next check in %.0fs", reason, self.poll_interval)
        return None
