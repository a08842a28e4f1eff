"""Ledgers for the tests: a real SQLite file per test, and the same suite on PostgreSQL when it is reachable
(``ledger_factory``, shared with other test folders through ``ledger_databases``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ledger_databases import ledger_factory  # noqa: F401 - a fixture, offered to this folder's tests
from ledger_samples import CAMPAIGN, CONTACT_LIST, LEAD_LIST, START

from dynamics_campaign_sync.ledger import Ledger


@pytest.fixture
def ledger(ledger_factory: Callable[[], Ledger]) -> Ledger:  # noqa: F811 - the imported fixture
    """A migrated ledger with owned lead and contact lists for :data:`CAMPAIGN`."""
    ledger = ledger_factory()
    ledger.migrate()
    ledger.save_owned_list(CAMPAIGN, "lead", LEAD_LIST, "CS-leads-pricing", START)
    ledger.save_owned_list(CAMPAIGN, "contact", CONTACT_LIST, "CS-contacts-pricing", START)
    return ledger
