"""The one retry policy for every Dataverse call, token acquisition included.

Transient failures (no response, timeouts, 429, 5xx, an unreadable body, a token service that is down) are
retried; everything else — a refused credential, a bad request — is raised at once.
A ``Retry-After`` from the service wins over our own backoff, because service protection limits
extend the penalty for callers that come back early. Retries are bounded both by attempts and by
total time, and a wait that would overrun the time budget is not started.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import tenacity

from dynamics_campaign_sync.dataverse.errors import DataverseConfigError, DataverseError, HttpError
from dynamics_campaign_sync.log_privacy import private_logger

log = private_logger(__name__)  # people's emails are masked in task logs
T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    """Whether an identical request may succeed later: each typed error knows (see ``is_transient``); anything
    else is a bug, not a bad moment. Pure, so it can be tested on its own."""
    return isinstance(exc, DataverseError) and exc.is_transient


@dataclass
class RequestStats:
    """Counters a task reports in its summary: how much we asked of Dataverse and how it pushed back."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    throttle_wait_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1

    def count_retry(self, exc: BaseException, wait: float) -> None:
        with self._lock:
            self.retries += 1
            if isinstance(exc, HttpError) and exc.is_throttled:
                self.throttled += 1
                self.throttle_wait_seconds += wait

    def as_dict(self) -> dict[str, float | int]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "throttle_wait_seconds": round(self.throttle_wait_seconds, 3),
        }


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a request is retried. The defaults here are the only ones: a connection's extras
    of the same names override them (see ``hooks/dynamics.py``), and a client given none uses these."""

    max_attempts: int = 6
    max_total_seconds: float = 300.0
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise DataverseConfigError(f"max_attempts must be at least 1, got {self.max_attempts}")
        for name in ("max_total_seconds", "base_delay_seconds", "max_delay_seconds"):
            if getattr(self, name) < 0:
                raise DataverseConfigError(f"{name} must not be negative, got {getattr(self, name)}")

    def wait_seconds(self, exc: BaseException | None, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1``: the server's Retry-After, else jittered backoff."""
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return max(0.0, float(retry_after))
        backoff = min(self.max_delay_seconds, self.base_delay_seconds * 2 ** (attempt - 1))
        return backoff * random.uniform(0.5, 1.0)

    def call(self, fn: Callable[[], T], *, describe: str, stats: RequestStats | None = None) -> T:
        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.wait_seconds(exc, state.attempt_number)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            seconds = state.next_action.sleep if state.next_action else 0.0
            if stats is not None and exc is not None:
                stats.count_retry(exc, seconds)
            kind = "throttled" if isinstance(exc, HttpError) and exc.is_throttled else "transient failure"
            log.warning(
                "Dataverse %s on %s (attempt %d/%d): %s; waiting %.1fs",
                kind,
                describe,
                state.attempt_number,
                self.max_attempts,
                exc,
                seconds,
            )

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_retryable),
            stop=tenacity.stop_after_attempt(self.max_attempts)
            | tenacity.stop_before_delay(self.max_total_seconds),
            wait=wait,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(fn)
