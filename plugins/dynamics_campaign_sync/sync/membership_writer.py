"""Sends adds and removes to Dynamics with write-ahead intents, so nothing is lost and nothing is done twice.

For each chunk: record the intent (committed), send it, record the answer — membership, events and
per-person failures in one ledger transaction. A crash between sending and recording leaves a pending
intent that the next attempt re-sends (Dynamics add/remove are idempotent) and then records, once.
Several chunks are in flight at once (:mod:`.concurrent_chunks`), each behind its own intent.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dynamics_campaign_sync.chunking import chunked
from dynamics_campaign_sync.dataverse import DataverseClient, MemberType
from dynamics_campaign_sync.dataverse.client import DEFAULT_MEMBER_CHUNK
from dynamics_campaign_sync.dataverse.models import MemberChangeResult
from dynamics_campaign_sync.ledger.models import Intent
from dynamics_campaign_sync.sync.concurrent_chunks import send_chunks

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
    """``concurrency`` chunks are in flight at once (default: the client's ``max_concurrency``), each behind its own
    intent (see :mod:`.concurrent_chunks`)."""

    def __init__(self, client: DataverseClient, ledger: Ledger, *, campaign_key: str, campaign_id: str,
                 chunk_size: int = DEFAULT_MEMBER_CHUNK, after_chunk: Callable[[], None] = lambda: None,
                 concurrency: int | None = None) -> None:
        self.after_chunk = after_chunk  # renews the campaign's write lock between chunks
        self.client = client
        self.ledger = ledger
        self.campaign_key = campaign_key
        self.campaign_id = campaign_id
        self.chunk_size = chunk_size
        self.concurrency = concurrency or client.config.max_concurrency

    def heal_pending(self, outcome: WriteOutcome) -> None:
        """Finish intents a crashed attempt left behind: re-send, then record."""
        def begin(intent: Intent) -> str:
            log.warning("Healing intent %s from run %s: %s of %d %ss sent before a crash was not recorded",
                        intent.intent_id, intent.run_id, intent.action, len(intent.people), intent.member_type)
            return intent.intent_id

        def send(intent: Intent) -> MemberChangeResult:
            return self.client.change_members(intent.action, intent.list_id, MemberType(intent.member_type),
                                              list(intent.people), chunk_size=self.chunk_size)

        def complete(_intent: Intent, intent_id: str, result: MemberChangeResult) -> None:
            self._record(intent_id, result, outcome)
            outcome.healed += len(result.succeeded)

        send_chunks(self.ledger.pending_intents(self.campaign_key), begin=begin, send=send, complete=complete,
                    cap=self.concurrency)

    def write(self, *, action: str, list_id: str, member_type: MemberType, run_id: str,
              interval: tuple[dt.datetime, dt.datetime], people: Mapping[str, Mapping[str, Any]],
              outcome: WriteOutcome) -> None:
        """Add or remove ``people`` (Dynamics id → reason, with ``source_person_id`` in the reason)."""
        ids = list(people)
        started = time.monotonic()
        chunks = list(chunked(ids, self.chunk_size))
        progress = {"chunks": 0, "people": 0}

        def begin(chunk: Sequence[str]) -> str:
            return self.ledger.begin_intent(
                campaign_key=self.campaign_key, campaign_id=self.campaign_id, list_id=list_id,
                member_type=member_type.value, action=action, run_id=run_id,
                interval_start=interval[0], interval_end=interval[1],
                people={p: dict(people[p]) for p in chunk},
                source_ids={p: people[p]["source_person_id"] for p in chunk if people[p].get("source_person_id")},
            )

        def send(chunk: Sequence[str]) -> MemberChangeResult:
            return self.client.change_members(action, list_id, member_type, chunk, chunk_size=self.chunk_size)

        def complete(chunk: Sequence[str], intent_id: str, result: MemberChangeResult) -> None:
            self._record(intent_id, result, outcome)
            outcome.succeeded += len(result.succeeded)
            outcome.failed.update(result.failed)
            progress["chunks"] += 1
            progress["people"] += len(chunk)
            rate = progress["people"] / max(time.monotonic() - started, 1e-6)
            stats = self.client.stats
            log.info("%s %ss: batch %d/%d, %d/%d people, %d failed, %.0f people/s, %d retries, "
                     "%.1fs throttled", action, member_type.value, progress["chunks"], len(chunks),
                     progress["people"], len(ids), len(outcome.failed), rate, stats.retries,
                     stats.throttle_wait_seconds)

        send_chunks(chunks, begin=begin, send=send, complete=complete, cap=self.concurrency)

    def _record(self, intent_id: str, result: MemberChangeResult, outcome: WriteOutcome) -> None:
        """Complete the intent with Dynamics' answer, and keep the campaign's write lock. Dynamics refused the failed
        people by name (a deleted record, say): an email that resolved to one of them is looked up again."""
        batch = self.ledger.complete_intent(intent_id, succeeded=result.succeeded, failed=result.failed)
        if result.failed:
            self.ledger.forget_person_ids(result.failed)
        self.after_chunk()
        if batch:
            outcome.batches.add(batch)
