"""The campaign gate: may we write to this campaign now?

Marketo's advice is "make sure the campaign is not inactive"; Dynamics keeps Completed and Canceled
campaigns Active by state, so each spec lists the statuses that block writes. Inactive always blocks.
"""

from __future__ import annotations

from collections.abc import Iterable

from dynamics_campaign_sync.dataverse.models import CAMPAIGN_STATUSES, Campaign

_STATUS_CODES = {name: code for code, name in CAMPAIGN_STATUSES.items()}
INACTIVE = _STATUS_CODES["inactive"]


def parse_blocked_statuses(values: Iterable[str | int]) -> frozenset[int]:
    """Status names (``"completed"``, ``"Ready To Launch"``) or codes → codes; Inactive is always included."""
    codes = {INACTIVE}
    for value in values:
        if isinstance(value, int) or str(value).isdigit():
            code = int(value)
            if code not in CAMPAIGN_STATUSES:
                raise ValueError(f"unknown campaign status code {code}; known: {sorted(CAMPAIGN_STATUSES)}")
        else:
            name = str(value).strip().lower().replace(" ", "_").replace("-", "_")
            if name == "cancelled":
                name = "canceled"
            if name not in _STATUS_CODES:
                raise ValueError(f"unknown campaign status {value!r}; known: {', '.join(_STATUS_CODES)}")
            code = _STATUS_CODES[name]
        codes.add(code)
    return frozenset(codes)


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
