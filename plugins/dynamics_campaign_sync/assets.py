"""The "Added to / Removed from Microsoft Campaign" triggers, as Airflow assets (one pair per campaign spec)."""

from __future__ import annotations

from airflow.sdk import Asset


def added_asset(campaign_key: str) -> Asset:
    return Asset(name=f"dynamics_campaign.{campaign_key}.added", uri=f"dynamics-campaign://{campaign_key}/added",
                 group="dynamics_campaign")


def removed_asset(campaign_key: str) -> Asset:
    return Asset(name=f"dynamics_campaign.{campaign_key}.removed",
                 uri=f"dynamics-campaign://{campaign_key}/removed", group="dynamics_campaign")
