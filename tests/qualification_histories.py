"""Qualification histories for tests: the protocol the engine's once / every-N-days rules read through, and two
small implementations (a dict, a SQLite table) that the ledger's own history is checked against.

The product keeps its history in the ledger; these live with the tests that use them.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from dynamics_campaign_sync.utc import aware_utc

_BATCH = 500  # ids per SQL statement, well under SQLite's parameter limit


class QualificationHistory(Protocol):
    """Past qualifications per campaign and person."""

    def last_qualified(
        self, campaign_key: str, person_ids: Sequence[str], *, before: dt.datetime | None = None,
        counted_only: bool = False,
    ) -> dict[str, dt.datetime]:
        """The latest qualification time (UTC) of each person who has one; only times < ``before`` if given;
        only matches the rule let through with ``counted_only``."""
        ...

    def record(
        self, campaign_key: str, person_ids: Sequence[str], qualified_at: dt.datetime, run_id: str, *,
        counted: bool = True,
    ) -> None:
        """Remember that these people qualified at ``qualified_at`` (recording twice is harmless); ``counted=False``
        for matches the rule blocked."""
        ...


def _utc(value: dt.datetime) -> dt.datetime:
    return aware_utc(value, "a qualification time")


class InMemoryQualificationHistory:
    """A history kept in a dict, for tests and single-process runs."""

    def __init__(self) -> None:
        self._times: dict[tuple[str, str], set[dt.datetime]] = {}
        self.runs: dict[tuple[str, str, dt.datetime], str] = {}

    def last_qualified(
        self, campaign_key: str, person_ids: Sequence[str], *, before: dt.datetime | None = None
    ) -> dict[str, dt.datetime]:
        limit = _utc(before) if before is not None else None
        latest = {}
        for pid in person_ids:
            times = [t for t in self._times.get((campaign_key, pid), ()) if limit is None or t < limit]
            if times:
                latest[pid] = max(times)
        return latest

    def record(
        self, campaign_key: str, person_ids: Sequence[str], qualified_at: dt.datetime, run_id: str
    ) -> None:
        when = _utc(qualified_at)
        for pid in person_ids:
            self._times.setdefault((campaign_key, pid), set()).add(when)
            self.runs.setdefault((campaign_key, pid, when), run_id)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS qualification_history (
    campaign_key TEXT NOT NULL,
    person_id TEXT NOT NULL,
    qualified_at TEXT NOT NULL,  -- UTC, ISO-8601 with offset: text order is time order
    run_id TEXT NOT NULL,
    PRIMARY KEY (campaign_key, person_id, qualified_at)
)
"""


def _to_text(value: dt.datetime) -> str:
    return _utc(value).isoformat(timespec="microseconds")


class SqliteQualificationHistory:
    """A history in a SQLite table ``qualification_history`` (a file path or ``:memory:``)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._connection = sqlite3.connect(str(path))
        with self._connection:
            self._connection.execute(_SCHEMA)

    def close(self) -> None:
        self._connection.close()

    def last_qualified(
        self, campaign_key: str, person_ids: Sequence[str], *, before: dt.datetime | None = None
    ) -> dict[str, dt.datetime]:
        ids = list(dict.fromkeys(person_ids))
        limit = _to_text(before) if before is not None else None
        latest: dict[str, dt.datetime] = {}
        for offset in range(0, len(ids), _BATCH):
            batch = ids[offset : offset + _BATCH]
            marks = ",".join("?" * len(batch))
            sql = (
                "SELECT person_id, MAX(qualified_at) FROM qualification_history "
                f"WHERE campaign_key = ? AND person_id IN ({marks})"
                + (" AND qualified_at < ?" if limit is not None else "")
                + " GROUP BY person_id"
            )
            params = [campaign_key, *batch, *([limit] if limit is not None else [])]
            for pid, text in self._connection.execute(sql, params):
                latest[pid] = dt.datetime.fromisoformat(text)
        return latest

    def record(
        self, campaign_key: str, person_ids: Sequence[str], qualified_at: dt.datetime, run_id: str
    ) -> None:
        when = _to_text(qualified_at)
        with self._connection:
            self._connection.executemany(
                "INSERT OR IGNORE INTO qualification_history VALUES (?, ?, ?, ?)",
                ((campaign_key, pid, when, run_id) for pid in person_ids),
            )
