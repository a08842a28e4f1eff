"""Fault injection: seeded, reproducible 5xx answers, slow answers, dropped connections, lost responses and
broken bodies.

A dropped connection never reaches the Web API; a lost response does: the request is carried out, then the
connection closes before the answer is sent — what a client sees when its timeout fires on a long ``$batch``.
A broken body is carried out too, and answered with its real status but a body cut in half (``truncated``) or
replaced by a proxy's HTML page (``html``) — what a client sees when a gateway mangles an answer.

Each rule matches a path regex (``re.search`` on path and query) and optionally a method. Rules apply to the
Web API only, unless a rule sets ``token_endpoint``. A rule with ``times`` retires after that many matching
requests, so "fail twice, then answer" is exact. Every rule draws from its own random generator seeded from
``fault_seed`` and the rule's position, so the same sequence of matching requests meets the same faults on every
run, whatever other traffic does.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from .httputil import Response

#: How a broken body looks: the first half of the real body, or an HTML page where JSON was due.
BROKEN_BODY_STYLES = ("truncated", "html")
_HTML_PAGE = (b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
              b"<body><h1>The page is temporarily unavailable</h1></body></html>")


@dataclass
class FaultRule:
    path: str = ".*"
    method: str | None = None
    error_rate: float = 0.0
    error_statuses: list[int] = field(default_factory=lambda: [500, 503])
    retry_after: int | None = None  # sent with injected errors when set
    slow_rate: float = 0.0
    slow_seconds: float = 1.0
    drop_rate: float = 0.0
    lost_response_rate: float = 0.0  # carried out, then the connection closes without an answer
    broken_body_rate: float = 0.0  # carried out, then answered with a broken body (``broken_body`` says how)
    broken_body: str = "truncated"
    times: int | None = None  # the rule retires after this many matching requests
    token_endpoint: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault rule field(s): {', '.join(sorted(unknown))}")
        rule = cls(**data)
        try:
            re.compile(rule.path)
        except re.error as err:
            raise ValueError(f"fault rule path {rule.path!r} is not a valid regular expression: {err}") from None
        for name in ("error_rate", "slow_rate", "drop_rate", "lost_response_rate", "broken_body_rate"):
            if not 0.0 <= float(getattr(rule, name)) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if not rule.error_statuses or any(s not in (500, 502, 503, 504) for s in rule.error_statuses):
            raise ValueError("error_statuses must list some of 500, 502, 503, 504")
        if rule.broken_body not in BROKEN_BODY_STYLES:
            raise ValueError(f"broken_body must be one of {', '.join(BROKEN_BODY_STYLES)}, got {rule.broken_body!r}")
        if rule.times is not None and (isinstance(rule.times, bool) or not isinstance(rule.times, int)
                                       or rule.times < 1):
            raise ValueError(f"times must be a whole number of at least 1, got {rule.times!r}")
        return rule

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class FaultDecision:
    delay: float = 0.0
    drop: bool = False
    status: int | None = None
    retry_after: int | None = None
    lose_response: bool = False
    broken_body: str | None = None  # one of BROKEN_BODY_STYLES

    @property
    def kind(self) -> str | None:
        if self.drop:
            return "drop"
        if self.lose_response and not self.status:
            return "lost_response"
        if self.status:
            return "error"
        if self.broken_body:
            return "broken_body"
        if self.delay:
            return "slow"
        return None


class FaultInjector:
    def __init__(self, rules: list[FaultRule], seed: int) -> None:
        self._lock = threading.Lock()
        self.configure(rules, seed)

    def configure(self, rules: list[FaultRule], seed: int) -> None:
        with self._lock:
            self.rules = list(rules)
            self.seed = seed
            self._patterns = [re.compile(r.path) for r in rules]
            self._rngs = [random.Random(f"{seed}:{i}") for i in range(len(rules))]
            self._matched = [0] * len(rules)

    def reseed(self) -> None:
        self.configure(self.rules, self.seed)

    def decide(self, method: str, target: str, *, token_endpoint: bool) -> FaultDecision:
        decision = FaultDecision()
        with self._lock:
            for index, (rule, pattern, rng) in enumerate(zip(self.rules, self._patterns, self._rngs, strict=True)):
                if token_endpoint and not rule.token_endpoint:
                    continue
                if rule.method and rule.method.upper() != method.upper():
                    continue
                if not pattern.search(target):
                    continue
                if rule.times is not None and self._matched[index] >= rule.times:
                    continue
                self._matched[index] += 1
                # Always draw the same numbers per match, so outcomes depend only on the match sequence.
                drop, error, slow, pick = rng.random(), rng.random(), rng.random(), rng.random()
                if slow < rule.slow_rate:
                    decision.delay += float(rule.slow_seconds)
                if drop < rule.drop_rate:
                    decision.drop = True
                elif error < rule.error_rate and decision.status is None:
                    decision.status = rule.error_statuses[int(pick * len(rule.error_statuses))]
                    decision.retry_after = rule.retry_after
                # Drawn only by rules that use them, so older seeded rules keep their sequences.
                if rule.lost_response_rate and rng.random() < rule.lost_response_rate:
                    decision.lose_response = True
                if rule.broken_body_rate and rng.random() < rule.broken_body_rate:
                    decision.broken_body = decision.broken_body or rule.broken_body
        return decision


def break_body(response: Response, style: str) -> Response:
    """The answer as a mangling gateway would pass it on: same status, body cut in half or swapped for HTML.
    Only answers with a body can break; the others are returned as they are."""
    if not response.body:
        return response
    if style == "html":
        headers = response.headers.copy()
        headers["Content-Type"] = "text/html; charset=utf-8"
        return Response(response.status, _HTML_PAGE, headers)
    return Response(response.status, response.body[: len(response.body) // 2], response.headers)
