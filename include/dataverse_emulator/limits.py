"""Service protection limits, per caller (application id), over a sliding window.

Three facets, as documented for Dataverse: number of requests and combined execution time within the window,
and concurrent requests. A request counts toward the number from the moment it is admitted (requests still
in flight included), its execution time once it has finished. Over a limit the caller gets 429 with ``Retry-After`` (whole seconds). A caller that
keeps sending while blocked has its block extended: each such request doubles the wait, up to a cap.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from .errors import LIMIT_CONCURRENCY, LIMIT_EXECUTION_TIME, LIMIT_REQUESTS


@dataclass
class LimitSettings:
    requests_per_window: int = 6000
    window_seconds: float = 300.0
    max_concurrent: int = 52
    execution_seconds_per_window: float = 1200.0
    max_retry_after_seconds: float = 300.0  # cap for a growing block

    def to_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


@dataclass
class Rejection:
    code: str
    message: str
    retry_after: int


@dataclass
class _Caller:
    arrivals: deque[float] = field(default_factory=deque)  # when each admitted request arrived
    history: deque[tuple[float, float]] = field(default_factory=deque)  # (finished at, execution seconds)
    executing: float = 0.0
    concurrent: int = 0
    blocked_until: float = 0.0
    block_seconds: float = 0.0
    block_code: str = ""
    block_message: str = ""


@dataclass
class Ticket:
    caller: str
    started: float


class Limiter:
    def __init__(self, settings: LimitSettings) -> None:
        self.settings = settings
        self._callers: dict[str, _Caller] = {}
        self._lock = threading.Lock()
        #: The most requests of one caller in flight at once since the last (re)configuration or reset.
        self.peak_concurrent = 0

    def configure(self, settings: LimitSettings) -> None:
        with self._lock:
            self.settings = settings
            self._callers.clear()
            self.peak_concurrent = 0

    def reset(self) -> None:
        with self._lock:
            self._callers.clear()
            self.peak_concurrent = 0

    def _trim(self, state: _Caller, now: float) -> None:
        horizon = now - self.settings.window_seconds
        while state.arrivals and state.arrivals[0] <= horizon:
            state.arrivals.popleft()
        while state.history and state.history[0][0] <= horizon:
            state.executing -= state.history.popleft()[1]

    def admit(self, caller: str) -> Ticket | Rejection:
        """Start a request for ``caller``, or say why it must wait."""
        s = self.settings
        now = time.monotonic()
        with self._lock:
            state = self._callers.setdefault(caller, _Caller())
            self._trim(state, now)
            if state.blocked_until > now:
                # Still blocked and sending anyway: the wait grows.
                state.block_seconds = min(max(state.block_seconds * 2, 1.0), s.max_retry_after_seconds)
                state.blocked_until = now + state.block_seconds
                return Rejection(state.block_code, state.block_message, math.ceil(state.block_seconds))
            if state.concurrent >= s.max_concurrent:
                return Rejection(LIMIT_CONCURRENCY,
                                 f"Number of concurrent requests exceeded the limit of {s.max_concurrent}.", 1)
            over = None
            if len(state.arrivals) >= s.requests_per_window:
                over = (LIMIT_REQUESTS, f"Number of requests exceeded the limit of {s.requests_per_window} over "
                                        f"time window of {_num(s.window_seconds)} seconds.")
            elif state.executing >= s.execution_seconds_per_window:
                over = (LIMIT_EXECUTION_TIME,
                        f"Combined execution time of incoming requests exceeded limit of "
                        f"{s.execution_seconds_per_window * 1000:,.0f} milliseconds over time window of "
                        f"{_num(s.window_seconds)} seconds. Decrease number of concurrent requests or reduce the "
                        "duration of requests and try again later.")
            if over:
                # Wait until enough of the window has passed for the oldest request to drop out.
                oldest = state.arrivals[0] if over[0] == LIMIT_REQUESTS else (
                    state.history[0][0] if state.history else None)
                wait = oldest + s.window_seconds - now if oldest is not None else 1.0
                state.block_seconds = min(max(wait, 1.0), s.max_retry_after_seconds)
                state.blocked_until = now + state.block_seconds
                state.block_code, state.block_message = over
                return Rejection(over[0], over[1], math.ceil(state.block_seconds))
            state.concurrent += 1
            state.arrivals.append(now)
            self.peak_concurrent = max(self.peak_concurrent, state.concurrent)
            return Ticket(caller, now)

    def release(self, ticket: Ticket) -> None:
        now = time.monotonic()
        with self._lock:
            state = self._callers.setdefault(ticket.caller, _Caller())
            state.concurrent = max(0, state.concurrent - 1)
            duration = now - ticket.started
            state.history.append((now, duration))
            state.executing += duration

    def remaining(self, caller: str) -> tuple[int, float]:
        """Requests and execution milliseconds left in the window (for the x-ms-ratelimit-* headers)."""
        now = time.monotonic()
        with self._lock:
            state = self._callers.setdefault(caller, _Caller())
            self._trim(state, now)
            return (max(0, self.settings.requests_per_window - len(state.arrivals)),
                    max(0.0, (self.settings.execution_seconds_per_window - state.executing) * 1000))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
