"""In-memory log of the requests the emulator answered, for tests that assert on traffic (``/_emulator/requests``)."""

from __future__ import annotations

import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any


class RequestLog:
    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)
        self._next_id = 1
        self._lock = threading.Lock()

    def add(self, entry: dict[str, Any]) -> int:
        with self._lock:
            entry = {"id": self._next_id, "time": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
            self._next_id += 1
            self._entries.append(entry)
            return entry["id"]

    def since(self, after: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries if after is None or e["id"] > after]

    def clear(self) -> None:
        # Ids keep counting up, so a client holding "since" from before the clear never sees stale entries.
        with self._lock:
            self._entries.clear()
