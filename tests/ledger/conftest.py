"""A migrated ledger with owned lists, on each database of the suite-wide ``ledger_url`` fixture
(see tests/ledger_databases.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ledger_samples import CAMPAIGN, CONTACT_LIST, LEAD_LIST, START

from dynamics_campaign_sync.ledger import Ledger


@pytest.fixture
def ledger(ledger_factory: Callable[[], Ledger]) -> Ledger:
    """A migrated ledger with owned lead and contact lists for :data:`CAMPAIGN`."""
    ledger = ledger_factory()
    ledger.migrate()
    ledger.save_owned_list(CAMPAIGN, "lead", LEAD_LIST, "CS-leads-pricing", START)
    ledger.save_owned_list(CAMPAIGN, "contact", CONTACT_LIST, "CS-contacts-pricing", START)
    return ledger
