"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no timezone-aware timestamp: it stores text. :class:`UTCDateTime` stores naive UTC there and
``timestamptz`` on PostgreSQL, and always hands back aware UTC datetimes, so callers never see the difference.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, TypeDecorator

from dynamics_campaign_sync.ledger.checks import as_utc


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in as an aware datetime and comes out as an aware UTC datetime."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value, "timestamp")
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Small JSON documents (reasons, counts); Python ``None`` is stored as SQL NULL, not the JSON text ``null``.
JSONDocument = JSON(none_as_null=True)
