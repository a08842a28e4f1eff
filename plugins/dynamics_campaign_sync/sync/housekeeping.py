"""Housekeeping after an applied run: the qualification history stays bounded."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from dynamics_campaign_sync.log_privacy import private_logger
from dynamics_campaign_sync.spec import CampaignSpec

if TYPE_CHECKING:
    from dynamics_campaign_sync.ledger import Ledger

log = private_logger(__name__)
#: Days of full qualification history kept (audit, rules changed later); older rows are thinned per person.
HISTORY_KEPT_DAYS = 400


def thin_history(spec: CampaignSpec, ledger: Ledger, as_of: dt.datetime) -> int:
    """Bound the qualification history: keep every row of the last :data:`HISTORY_KEPT_DAYS` (or the
    rules' N days, if longer) before ``as_of``, and only each person's first qualification before that."""
    days = max(HISTORY_KEPT_DAYS, spec.qualification.days or 0, spec.removal.days or 0)
    thinned = ledger.thin_qualification_history(spec.key, older_than=as_of - dt.timedelta(days=days))
    if thinned:
        log.info("Qualification history: %d rows older than %d days thinned (each person's first is kept)",
                 thinned, days)
    return thinned
