"""Sends adds and removes to Dynamics with write-ahead intents, so nothing is lost and nothing is done twice.

For each chunk: record the intent (committed), send it, record the answer — membership, events and
per-person failures in one ledger transaction. A crash between sending and recording leaves a pending
intent that the next attempt re-sends (Dynamics add/remove are idempotent) and then records, once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dynamics_campaign_sync.chunking import chunked
from dynamics_campaign_sync.dataverse import DataverseClient, MemberType
from dynamics_campaign_sync.dataverse.client import DEFAULT_MEMBER_CHUNK

if TYPE_CHECKING:
    from dynamics_campaign_sync.ledger import Ledger

log = logging.getLogger(__name__)


@dataclass
class WriteOutcome:
    """What one task changed: people sent and accepted, per-person failures, requests made."""

    succeeded: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    healed: int = 0
    batches: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {"succeeded": self.succeeded, "failed": len(self.failed), "healed": self.healed,
                "event_batches": sorted(self.batches)}


class MembershipWriter:
    def __init__(self, client: DataverseClient, ledger: Ledger, *, campaign_key: str, campaign_id: str,
                 chunk_size: int = DEFAULT_MEMBER_CHUNK, after_chunk: Callable[[], None] = lambda: None) -> None:
        self.after_chunk = after_chunk  # renews the campaign's write lock between chunks
        self.client = client
        self.ledger = ledger
        self.campaign_key = campaign_key
        self.campaign_id = campaign_id
        self.chunk_size = chunk_size

    def heal_pending(self, outcome: WriteOutcome) -> None:
        """Finish intents a crashed attempt left behind: re-send, then record."""
        for intent in self.ledger.pending_intents(self.campaign_key):
            people = list(intent.people)
            log.warning("Healing intent %s from run %s: %s of %d %ss sent before a crash was not recorded",
                        intent.intent_id, intent.run_id, intent.action, len(people), intent.member_type)
            result = self.client.change_members(intent.action, intent.list_id, MemberType(intent.member_type), people,
                                                chunk_size=self.chunk_size)
            batch = self.ledger.complete_intent(intent.intent_id, succeeded=result.succeeded, failed=result.failed)
            self.after_chunk()
            outcome.healed += len(result.succeeded)
            if batch:
                outcome.batches.add(batch)

    def write(self, *, action: str, list_id: str, member_type: MemberType, run_id: str,
              interval: tuple[dt.datetime, dt.datetime], people: Mapping[str, Mapping[str, Any]],
              outcome: WriteOutcome) -> None:
        """Add or remove ``people`` (Dynamics id → reason, with ``source_person_id`` in the reason)."""
        ids = list(people)
        started = time.monotonic()
        chunks = list(chunked(ids, self.chunk_size))
        for number, chunk in enumerate(chunks, start=1):
            intent_id = self.ledger.begin_intent(
                campaign_key=self.campaign_key, campaign_id=self.campaign_id, list_id=list_id,
                member_type=member_type.value, action=action, run_id=run_id,
                interval_start=interval[0], interval_end=interval[1],
                people={p: dict(people[p]) for p in chunk},
                source_ids={p: people[p]["source_person_id"] for p in chunk if people[p].get("source_person_id")},
            )
            result = self.client.change_members(action, list_id, member_type, chunk, chunk_size=self.chunk_size)
            batch = self.ledger.complete_intent(intent_id, succeeded=result.succeeded, failed=result.failed)
            self.after_chunk()
            if batch:
                outcome.batches.add(batch)
            outcome.succeeded += len(result.succeeded)
            outcome.failed.update(result.failed)
            done = sum(len(c) for c in chunks[:number])
            rate = done / max(time.monotonic() - started, 1e-6)
            stats = self.client.stats
            log.info("%s %ss: batch %d/%d, %d/%d people, %d failed, %.0f people/s, %d retries, "
                     "%.1fs throttled", action, member_type.value, number, len(chunks), done, len(ids),
                     len(outcome.failed), rate, stats.retries, stats.throttle_wait_seconds)
