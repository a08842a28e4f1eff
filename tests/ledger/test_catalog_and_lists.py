"""The campaign catalog and the owned marketing lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ledger_samples import CAMPAIGN, CONTACT_LIST, LEAD_LIST, OTHER_CAMPAIGN, START

from dynamics_campaign_sync.ledger import Ledger, LedgerError

NEW_LIST = "33333333-3333-3333-3333-333333333333"


def test_catalog_upsert_inserts_then_refreshes(ledger: Ledger) -> None:
    written = ledger.upsert_campaigns(
        [
            {"campaignid": CAMPAIGN, "name": "Pricing", "statecode": 0, "statuscode": 2},
            {"id": OTHER_CAMPAIGN, "name": "Webinar", "statecode": 0, "statuscode": 0},
        ],
        START,
    )
    later = START + timedelta(hours=6)
    ledger.upsert_campaigns([{"campaign_id": CAMPAIGN, "name": "Pricing 2026", "statecode": 1, "statuscode": 6}], later)

    assert written == 2
    assert ledger.campaigns() == [
        {"campaign_id": CAMPAIGN, "name": "Pricing 2026", "statecode": 1, "statuscode": 6, "refreshed_at": later},
        {"campaign_id": OTHER_CAMPAIGN, "name": "Webinar", "statecode": 0, "statuscode": 0, "refreshed_at": START},
    ]


def test_catalog_record_without_id_is_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="campaign record has no id"):
        ledger.upsert_campaigns([{"name": "nameless"}], START)


def test_owned_list_round_trip_and_reverification(ledger: Ledger) -> None:
    owned = ledger.owned_list(CAMPAIGN, "lead")
    assert owned is not None
    assert (owned.list_id, owned.list_name, owned.association_verified_at) == (LEAD_LIST, "CS-leads-pricing", START)

    later = START + timedelta(days=1)
    again = ledger.save_owned_list(CAMPAIGN, "lead", LEAD_LIST, "CS-leads-pricing (renamed)", later)

    assert again.created_at == owned.created_at
    assert (again.list_name, again.association_verified_at) == ("CS-leads-pricing (renamed)", later)
    assert [(o.member_type, o.list_id) for o in ledger.owned_lists(CAMPAIGN)] == [
        ("contact", CONTACT_LIST), ("lead", LEAD_LIST),
    ]
    assert ledger.owned_lists(OTHER_CAMPAIGN) == []
    assert ledger.owned_list(OTHER_CAMPAIGN, "lead") is None


def test_a_list_belongs_to_one_campaign_only(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match=f"list {LEAD_LIST} is already owned for campaign {CAMPAIGN}"):
        ledger.save_owned_list(OTHER_CAMPAIGN, "lead", LEAD_LIST, "stolen", START)
    with pytest.raises(LedgerError, match="already owned"):
        ledger.save_owned_list(CAMPAIGN, "contact", LEAD_LIST, "wrong type", START)
    assert ledger.owned_lists(OTHER_CAMPAIGN) == []


def test_a_recreated_list_replaces_the_deleted_one(ledger: Ledger) -> None:
    later = START + timedelta(days=3)
    replaced = ledger.save_owned_list(CAMPAIGN, "lead", NEW_LIST, "CS-leads-pricing", later)

    assert (replaced.list_id, replaced.association_verified_at) == (NEW_LIST, later)
    assert ledger.owned_list(CAMPAIGN, "lead") == replaced
    # the old id is free again; nothing else may take the new one
    ledger.save_owned_list(OTHER_CAMPAIGN, "lead", LEAD_LIST, "another campaign's list", START)
    with pytest.raises(LedgerError, match=f"list {NEW_LIST} is already owned for campaign {CAMPAIGN}"):
        ledger.save_owned_list(OTHER_CAMPAIGN, "contact", NEW_LIST, "stolen", START)
