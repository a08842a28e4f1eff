"""Registers the listener that puts each campaign sync run's summary on the run as its note."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from dynamics_campaign_sync import run_notes


class CampaignSyncRunNotesPlugin(AirflowPlugin):
    name = "campaign_sync_run_notes"
    listeners = [run_notes]
