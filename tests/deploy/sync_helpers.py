"""The product as deployment tests see it: what a fresh metadata DB needs before the scheduler can run a
sync, and what a sync left behind — membership through the Dataverse Web API, writes in the emulator's log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlite_metadata

from deploy.airflow_processes import AirflowStack
from dynamics_campaign_sync.dag_factory import DATAVERSE_POOL
from dynamics_campaign_sync.dataverse import MemberType
from support import client_for

WRITE_METHODS = {"POST", "PATCH", "DELETE", "PUT"}


def prepare_metadata(stack: AirflowStack) -> None:
    """Migrate the metadata DB and create the pool every sync task runs in (else they are never started)."""
    url = stack.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    if url.startswith("sqlite:///"):
        sqlite_metadata.use_write_ahead_log(Path(url.removeprefix("sqlite:///")))
    stack.cli("db", "migrate")
    stack.cli("pools", "set", DATAVERSE_POOL, "4", "Dataverse calls")


def owned_members(emulator: Any, ledger: Any, campaign_id: str) -> dict[str, set[str]]:
    """Members of our owned lists (member type → Dynamics ids); each list must be associated with the campaign."""
    with client_for(emulator) as client:
        associated = {marketing_list.id for marketing_list in client.campaign_lists(campaign_id)}
        owned = {o.member_type: o.list_id for o in ledger.owned_lists(campaign_id)}
        assert set(owned.values()) <= associated, "an owned list is not associated with the campaign"
        return {member_type: set(client.iter_list_member_ids(list_id)) for member_type, list_id in owned.items()}


def lead_id_by_email(emulator: Any, email: str) -> str:
    with client_for(emulator) as client:
        return client.find_people_by_email(MemberType.LEAD, [email])[email].id


def last_request_id(emulator: Any) -> int:
    log = emulator.requests_log()
    return log[-1]["id"] if log else 0


def web_api_writes(emulator: Any, since: int) -> list[dict[str, Any]]:
    """Requests that could have changed Dataverse data since request ``since``."""
    return [r for r in emulator.requests_log(since)
            if r["path"].startswith("/api/data/") and r["method"] in WRITE_METHODS]
