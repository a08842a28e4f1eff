"""Our membership ledger: the people we added to Dynamics campaigns, and everything that keeps that true.

A pure layer (SQLAlchemy only, no Airflow): SQLite by default, PostgreSQL in production. How a sync task uses
it, so that a crash at any point loses nothing and records nothing twice::

    ledger = Ledger.from_url(url)
    ledger.migrate()
    for intent in ledger.pending_intents(campaign_key):       # left over by a crashed attempt
        outcome = send(intent)                                 # Dynamics add/remove is idempotent
        ledger.complete_intent(intent.intent_id, succeeded=outcome.ok, failed=outcome.errors)
    for chunk in chunks(to_add):
        intent_id = ledger.begin_intent(..., action="add", people=chunk)   # committed before sending
        outcome = send(chunk)
        ledger.complete_intent(intent_id, succeeded=outcome.ok, failed=outcome.errors)
    batches = ledger.event_batches(run_id=run_id, unpublished_only=True)  # ids go into the asset event
    ledger.mark_published([b.batch_id for b in batches], now)
"""

from __future__ import annotations

from dynamics_campaign_sync.ledger.errors import LedgerError
from dynamics_campaign_sync.ledger.ledger import Ledger
from dynamics_campaign_sync.ledger.migrations import LATEST_VERSION
from dynamics_campaign_sync.ledger.models import (
    CampaignOwner,
    EventBatch,
    Intent,
    Membership,
    OwnedList,
    Plan,
    PlanItem,
)
from dynamics_campaign_sync.ledger.owners import CampaignClaimedError

__all__ = [
    "LATEST_VERSION", "CampaignClaimedError", "CampaignOwner", "EventBatch", "Intent", "Ledger", "LedgerError",
    "Membership", "OwnedList", "Plan", "PlanItem",
]
