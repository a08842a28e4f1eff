"""The campaign catalog: every Dynamics campaign as last read by the catalog DAG."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from dynamics_campaign_sync.ledger import sql
from dynamics_campaign_sync.ledger.checks import text
from dynamics_campaign_sync.ledger.errors import LedgerError
from dynamics_campaign_sync.ledger.schema import campaign_owners
from dynamics_campaign_sync.ledger.schema import campaigns as table

#: Keys under which a campaign's id may arrive: ours, the Dataverse column, the client's ``Campaign.id``.
_ID_KEYS = ("campaign_id", "campaignid", "id")


def _row(campaign: Mapping[str, Any], refreshed_at: datetime) -> dict[str, Any]:
    campaign_id = next((campaign[key] for key in _ID_KEYS if campaign.get(key)), None)
    if campaign_id is None:
        raise LedgerError(f"campaign record has no id (one of {', '.join(_ID_KEYS)}): {dict(campaign)!r}")
    try:
        statecode, statuscode = int(campaign.get("statecode") or 0), int(campaign.get("statuscode") or 0)
    except (TypeError, ValueError) as error:
        raise LedgerError(
            f"campaign {campaign_id}: statecode/statuscode must be integers ({error})"
        ) from None
    return {
        "campaign_id": text(campaign_id, "campaign_id"),
        "name": str(campaign.get("name") or ""),
        "statecode": statecode,
        "statuscode": statuscode,
        "refreshed_at": refreshed_at,
    }


def upsert_campaigns(
    connection: Connection, campaigns: Iterable[Mapping[str, Any]], refreshed_at: datetime
) -> int:
    """Insert or refresh each campaign; return how many were written."""
    rows = list({row["campaign_id"]: row for row in (_row(c, refreshed_at) for c in campaigns)}.values())
    sql.upsert(
        connection,
        table,
        rows,
        key=["campaign_id"],
        update=["name", "statecode", "statuscode", "refreshed_at"],
    )
    return len(rows)


def all_campaigns(connection: Connection, *, with_owner: bool = False) -> list[dict[str, Any]]:
    """Every catalogued campaign, by name; ``with_owner`` adds the key of the spec that syncs it (``synced_by``)."""
    query = select(table).order_by(table.c.name, table.c.campaign_id)
    if with_owner:
        query = query.add_columns(campaign_owners.c.campaign_key.label("synced_by")).outerjoin(
            campaign_owners, campaign_owners.c.campaign_id == table.c.campaign_id)
    return [dict(row._mapping) for row in connection.execute(query)]
