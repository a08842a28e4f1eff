"""The names Airflow knows a campaign sync by: its DAG id and its two assets.

One home for them, so the dashboard, the downstream DAGs and ``make run`` name a sync without importing the DAG
factory (and with it every operator, sensor and trigger).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from airflow.sdk import Asset

DAG_ID_PREFIX = "campaign_sync__"
TRIGGERED_SUFFIX = "__triggered"
ASSET_GROUP = "dynamics_campaign"
Change = Literal["added", "removed"]


def sync_dag_id(campaign_key: str) -> str:
    """The sync DAG of a campaign (a placeholder for a broken spec keeps it while its file declares the key)."""
    return f"{DAG_ID_PREFIX}{campaign_key}"


def triggered_dag_id(campaign_key: str) -> str:
    """The triggered DAG of a trigger campaign (new activity adds people between batch runs)."""
    return f"{sync_dag_id(campaign_key)}{TRIGGERED_SUFFIX}"


def invalid_spec_dag_id(file_stem: str) -> str:
    """The placeholder DAG of a broken spec file that declares no usable key."""
    return f"{DAG_ID_PREFIX}invalid__{''.join(c if c.isalnum() else '_' for c in file_stem.lower())}"


def asset_name(campaign_key: str, change: Change) -> str:
    """``dynamics_campaign.<key>.added`` / ``.removed``: the "Added to / Removed from Microsoft Campaign" trigger."""
    return f"{ASSET_GROUP}.{campaign_key}.{change}"


def asset_uri(campaign_key: str, change: Change) -> str:
    return f"dynamics-campaign://{campaign_key}/{change}"


def membership_asset(campaign_key: str, change: Change) -> Asset:
    from airflow.sdk import Asset

    return Asset(name=asset_name(campaign_key, change), uri=asset_uri(campaign_key, change), group=ASSET_GROUP)


def added_asset(campaign_key: str) -> Asset:
    return membership_asset(campaign_key, "added")


def removed_asset(campaign_key: str) -> Asset:
    return membership_asset(campaign_key, "removed")
