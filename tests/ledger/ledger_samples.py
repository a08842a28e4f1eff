"""Sample ids and times shared by the ledger tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

CAMPAIGN = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
OTHER_CAMPAIGN = "9b2c1a44-0d6e-4c43-8f61-1c0b6a7e2f10"
LEAD_LIST = "11111111-1111-1111-1111-111111111111"
CONTACT_LIST = "22222222-2222-2222-2222-222222222222"
KEY = "pricing-page-visitors"
START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(days=1)


def person(number: int) -> str:
    """A GUID-shaped person id."""
    return f"00000000-0000-4000-8000-{number:012d}"


def people(*numbers: int, rule: str = "visited pricing 3x") -> dict[str, dict[str, list[str]]]:
    """``{person_id: reason}`` for an intent."""
    return {person(number): {"matched": [rule]} for number in numbers}


def create_version_1_tables(connection) -> None:
    """The ledger's tables as schema version 1 created them (later versions' tables and columns left out)."""
    from sqlalchemy import text

    from dynamics_campaign_sync.ledger.deltas import delta_links, snapshot_rows
    from dynamics_campaign_sync.ledger.schema import (
        campaign_locks,
        campaign_owners,
        email_person_ids,
        metadata,
        trigger_watermarks,
    )

    later_tables = {campaign_owners, campaign_locks, trigger_watermarks, email_person_ids, delta_links, snapshot_rows}
    metadata.create_all(connection, tables=[t for t in metadata.sorted_tables if t not in later_tables])
    for table, column in (("event_batches", "confirmed_at"), ("run_plans", "details"),
                          ("qualification_history", "counted"), ("run_plans", "mode")):
        connection.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    if connection.dialect.name == "postgresql":  # version 1 had GUID-wide source ids and short states
        connection.execute(text("ALTER TABLE qualification_history ALTER COLUMN person_id TYPE VARCHAR(36)"))
        connection.execute(text("ALTER TABLE memberships ALTER COLUMN status TYPE VARCHAR(16)"))
