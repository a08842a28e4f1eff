"""Campaign owners: the one spec (by key) that syncs each campaign.

Two specs on one campaign would share its owned lists and its ledger members, so each would remove the people
the other added. A sync claims its campaign before its first write; a campaign claimed by another spec is
refused unless the run explicitly takes it over (the old spec was renamed or replaced).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from dynamics_campaign_sync.errors import PermanentError
from dynamics_campaign_sync.ledger import sql
from dynamics_campaign_sync.ledger.errors import LedgerError
from dynamics_campaign_sync.ledger.models import CampaignOwner
from dynamics_campaign_sync.ledger.schema import campaign_owners as table


class CampaignClaimedError(LedgerError, PermanentError):
    """The campaign is synced by another spec (permanent: until a person hands it over)."""

    def __init__(self, campaign_id: str, campaign_key: str, owner: CampaignOwner) -> None:
        super().__init__(
            f"campaign {campaign_id} is synced by spec {owner.campaign_key!r} (claimed {owner.claimed_at:%Y-%m-%d} "
            f"by run {owner.claimed_by_run}), so spec {campaign_key!r} may not write to it: one spec per campaign, "
            f"or each would remove the people the other added. If {campaign_key!r} replaces "
            f"{owner.campaign_key!r}, remove the old spec and trigger this DAG once with take_over_campaign=true"
        )
        self.owner = owner


def owner(connection: Connection, campaign_id: str) -> CampaignOwner | None:
    row = connection.execute(select(table).where(table.c.campaign_id == campaign_id)).first()
    return CampaignOwner.from_row(row) if row else None


def check(connection: Connection, campaign_id: str, campaign_key: str) -> CampaignOwner | None:
    """The campaign's owner; raises :class:`CampaignClaimedError` if that is another spec."""
    current = owner(connection, campaign_id)
    if current is not None and current.campaign_key != campaign_key:
        raise CampaignClaimedError(campaign_id, campaign_key, current)
    return current


def claim(
    connection: Connection, *, campaign_id: str, campaign_key: str, run_id: str, take_over: bool, now: datetime
) -> CampaignOwner:
    """Make ``campaign_key`` the campaign's owner: first claim, repeat (no change) or explicit take-over."""
    sql.lock(connection, "campaign_owner", campaign_id)
    current = owner(connection, campaign_id)
    if current is None:
        connection.execute(insert(table).values(
            campaign_id=campaign_id, campaign_key=campaign_key, claimed_at=now, claimed_by_run=run_id))
    elif current.campaign_key != campaign_key:
        if not take_over:
            raise CampaignClaimedError(campaign_id, campaign_key, current)
        connection.execute(update(table).where(table.c.campaign_id == campaign_id).values(
            campaign_key=campaign_key, claimed_at=now, claimed_by_run=run_id, previous_key=current.campaign_key))
    result = owner(connection, campaign_id)
    assert result is not None
    return result
