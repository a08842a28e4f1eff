"""How many requests a client has in flight, and when it may send: adapted to Dataverse's service protection.

Up to ``max_concurrency`` requests go out at once. A service protection answer (429 with ``Retry-After``) pauses
every request, not only the one that got it — Dataverse extends the block of a caller that keeps sending while
blocked — and halves how many may be in flight (once per block), so the requests racing into the next block are
few; answers that are not throttled grow it back by one per round of answers, up to the cap. The retry policy
still decides whether and when the throttled request itself is sent again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Admission:
    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.limit = ceiling  # requests allowed in flight now
        self._in_flight = 0
        self._paused_until = 0.0  # time.monotonic() before which nothing is sent
        self._answers = 0  # answers since the limit last changed
        self._changed = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait for a free slot outside any pause; hold it while the request is out."""
        with self._changed:
            while (wait := self._paused_until - time.monotonic()) > 0 or self._in_flight >= self.limit:
                self._changed.wait(timeout=wait if wait > 0 else None)
            self._in_flight += 1
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()

    def throttled(self, retry_after: float) -> None:
        """Dataverse blocked us for ``retry_after`` seconds."""
        with self._changed:
            now = time.monotonic()
            if now >= self._paused_until:  # the first answer of this block: halve once
                self.limit, self._answers = max(1, self.limit // 2), 0
            self._paused_until = max(self._paused_until, now + retry_after)
            self._changed.notify_all()

    def answered(self) -> None:
        """A request was answered without throttling."""
        with self._changed:
            if self.limit >= self.ceiling:
                return
            self._answers += 1
            if self._answers >= self.limit:
                self.limit, self._answers = self.limit + 1, 0
                self._changed.notify_all()
