"""The campaign gate: may we write to this campaign now?

Marketo's advice is "make sure the campaign is not inactive"; Dynamics keeps Completed and Canceled
campaigns Active by state, so each spec lists the statuses that block writes. Inactive always blocks.
"""

from __future__ import annotations

from collections.abc import Iterable

from dynamics_campaign_sync.campaign_status import CAMPAIGN_STATUS_CODES, campaign_status_code
from dynamics_campaign_sync.dataverse.models import Campaign

INACTIVE = CAMPAIGN_STATUS_CODES["inactive"]


def parse_blocked_statuses(values: Iterable[str | int]) -> frozenset[int]:
    """Status names (``"completed"``, ``"Ready To Launch"``) or codes → codes; Inactive is always included."""
    return frozenset({INACTIVE, *(campaign_status_code(value) for value in values)})


def blocked_reason(campaign: Campaign, blocked: frozenset[int]) -> str | None:
    """Why writes to ``campaign`` are blocked, or None when they are allowed."""
    if not campaign.is_active:
        return f"campaign {campaign.name!r} ({campaign.id}) is inactive"
    if campaign.statuscode in blocked:
        return f"campaign {campaign.name!r} ({campaign.id}) has status {campaign.status_name}, which this sync blocks"
    return None


def campaign_summary(campaign: Campaign) -> dict[str, object]:
    """Small JSON for XCom and trigger events."""
    return {
        "campaign_id": campaign.id,
        "name": campaign.name,
        "statecode": campaign.statecode,
        "statuscode": campaign.statuscode,
        "status": campaign.status_name,
    }
