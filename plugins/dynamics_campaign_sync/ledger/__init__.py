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

:mod:`.ledger` is the facade; it opens the transactions and hands each to the module that owns the rows:
:mod:`.intents`, :mod:`.events`, :mod:`.membership`, :mod:`.lists`, :mod:`.owners`, :mod:`.plans`,
:mod:`.failures`, :mod:`.history`, :mod:`.locks`, :mod:`.watermarks`, :mod:`.deltas`, :mod:`.email_ids` and
:mod:`.catalog`; the dashboard's read-only queries are :mod:`.overview` and :mod:`.reports`. Beneath them:
:mod:`.schema` and :mod:`.migrations` (the tables, versioned), :mod:`.columns`, :mod:`.sql` (dialect-specific
statements), :mod:`.engine`, :mod:`.checks` (argument checks), :mod:`.models` (the row views handed out) and
:mod:`.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dynamics_campaign_sync.lazy_exports import lazy_exports

if TYPE_CHECKING:  # explicit re-exports for type checkers; at run time __getattr__ serves them
    from dynamics_campaign_sync.ledger.errors import LedgerError as LedgerError
    from dynamics_campaign_sync.ledger.ledger import Ledger as Ledger
    from dynamics_campaign_sync.ledger.migrations import LATEST_VERSION as LATEST_VERSION
    from dynamics_campaign_sync.ledger.models import CampaignOwner as CampaignOwner
    from dynamics_campaign_sync.ledger.models import EventBatch as EventBatch
    from dynamics_campaign_sync.ledger.models import Intent as Intent
    from dynamics_campaign_sync.ledger.models import Membership as Membership
    from dynamics_campaign_sync.ledger.models import OwnedList as OwnedList
    from dynamics_campaign_sync.ledger.models import Plan as Plan
    from dynamics_campaign_sync.ledger.models import PlanItem as PlanItem
    from dynamics_campaign_sync.ledger.owners import CampaignClaimedError as CampaignClaimedError

# Imported on first use: importing the package (say, for an exception class) must not load SQLAlchemy's schema.
_EXPORTS = {
    "LedgerError": "errors", "Ledger": "ledger", "LATEST_VERSION": "migrations", "CampaignOwner": "models",
    "EventBatch": "models", "Intent": "models", "Membership": "models", "OwnedList": "models", "Plan": "models",
    "PlanItem": "models", "CampaignClaimedError": "owners",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
