"""Fault injection: seeded, reproducible 500/503 answers, slow answers, dropped connections and lost responses.

A dropped connection never reaches the Web API; a lost response does: the request is carried out, then the
connection closes before the answer is sent — what a client sees when its timeout fires on a long ``$batch``.

Each rule matches a path regex (``re.search`` on path and query) and optionally a method. Rules apply to the
Web API only, unless a rule sets ``token_endpoint``. Every rule draws from its own random generator seeded from
``fault_seed`` and the rule's position, so the same sequence of matching requests meets the same faults on every
run, whatever other traffic does. ``max_faults`` spends a rule after that many faults: with a rate of 1 it
hits exactly the first matching request(s), as a test of "the first answer is lost, the retry gets through" needs.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FaultRule:
    path: str = ".*"
    method: str | None = None
    error_rate: float = 0.0
    error_statuses: list[int] = field(default_factory=lambda: [500, 503])
    retry_after: int | None = None  # sent with injected 503s when set
    slow_rate: float = 0.0
    slow_seconds: float = 1.0
    drop_rate: float = 0.0
    lost_response_rate: float = 0.0  # carried out, then the connection closes without an answer
    token_endpoint: bool = False
    max_faults: int | None = None  # the rule is spent after injecting this many faults (None: never)

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
        for name in ("error_rate", "slow_rate", "drop_rate", "lost_response_rate"):
            if not 0.0 <= float(getattr(rule, name)) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if rule.max_faults is not None and (isinstance(rule.max_faults, bool) or not isinstance(rule.max_faults, int)
                                            or rule.max_faults < 1):
            raise ValueError(f"max_faults must be a whole number of at least 1, got {rule.max_faults!r}")
        if not rule.error_statuses or any(s not in (500, 502, 503, 504) for s in rule.error_statuses):
            raise ValueError("error_statuses must list some of 500, 502, 503, 504")
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

    @property
    def kind(self) -> str | None:
        if self.drop:
            return "drop"
        if self.lose_response and not self.status:
            return "lost_response"
        if self.status:
            return "error"
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
            self._faults_left = [r.max_faults for r in rules]

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
                # Always draw the same numbers per match, so outcomes depend only on the match sequence.
                drop, error, slow, pick = rng.random(), rng.random(), rng.random(), rng.random()
                # Drawn only by rules that use it, so older seeded rules keep their sequences.
                lose = bool(rule.lost_response_rate) and rng.random() < rule.lost_response_rate
                if self._faults_left[index] == 0:
                    continue  # spent: it still draws, so a spent rule leaves the others' sequences alone
                if self._apply(rule, decision, drop=drop, error=error, slow=slow, pick=pick, lose=lose):
                    if self._faults_left[index] is not None:
                        self._faults_left[index] -= 1
        return decision

    @staticmethod
    def _apply(rule: FaultRule, decision: FaultDecision, *, drop: float, error: float, slow: float, pick: float,
               lose: bool) -> bool:
        """Add the rule's faults for these draws to ``decision``; True when it added any."""
        faulted = False
        if slow < rule.slow_rate:
            decision.delay += float(rule.slow_seconds)
            faulted = True
        if drop < rule.drop_rate:
            decision.drop = faulted = True
        elif error < rule.error_rate and decision.status is None:
            decision.status = rule.error_statuses[int(pick * len(rule.error_statuses))]
            if decision.status == 503:
                decision.retry_after = rule.retry_after
            faulted = True
        if lose:
            decision.lose_response = faulted = True
        return faulted
