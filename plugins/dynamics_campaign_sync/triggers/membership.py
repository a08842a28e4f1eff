"""Trigger that waits until given people are (or are no longer) members of a Dynamics campaign."""

from __future__ import annotations

from typing import Any

from dynamics_campaign_sync.triggers.polling import DataversePollingTrigger


class CampaignMembershipTrigger(DataversePollingTrigger):
    """Fires ``{"outcome": "done", "waiting_for": []}`` once every person is in the wanted state."""

    def __init__(self, *, campaign_id: str, member_type: str, person_ids: list[str], present: bool,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.campaign_id = campaign_id
        self.member_type = member_type
        self.person_ids = list(person_ids)
        self.present = present

    def serialize_kwargs(self) -> dict[str, Any]:
        return {"campaign_id": self.campaign_id, "member_type": self.member_type,
                "person_ids": self.person_ids, "present": self.present}

    def check(self, client: Any) -> dict[str, Any] | None:
        from dynamics_campaign_sync.sync.membership_check import people_not_yet

        waiting = people_not_yet(client, self.campaign_id, self.member_type, self.person_ids, self.present)
        if waiting:
            self.log.info("Still waiting for %d of %d people", len(waiting), len(self.person_ids))
            return None
        return {"outcome": "done", "waiting_for": []}
