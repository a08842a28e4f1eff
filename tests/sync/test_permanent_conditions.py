"""Conditions only a person can clear say so (``is_permanent``), so Airflow fails the task instead of retrying
it: a locked owned list (against the emulator), a campaign another spec owns (real ledgers, SQLite and
PostgreSQL), a plan over the guard's limits. A lock someone else holds is not one of them: it is let go."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from dynamics_campaign_sync.dataverse import MemberType
from dynamics_campaign_sync.errors import is_permanent
from dynamics_campaign_sync.ledger import CampaignClaimedError, Ledger
from dynamics_campaign_sync.sync.owned_lists import OwnedListError, ensure_owned_list, owned_list_name
from dynamics_campaign_sync.sync.service import GuardError
from dynamics_campaign_sync.sync.write_lock import CampaignBusyError
from support import client_for


@pytest.fixture
def ledger(ledger_factory: Callable[[], Ledger]) -> Ledger:
    ledger = ledger_factory()
    ledger.migrate()
    return ledger


def test_a_locked_owned_list_is_a_permanent_error(fresh_emulator, ledger):
    with client_for(fresh_emulator) as client:
        campaign_id = client.create("campaigns", {"name": f"Locked {uuid.uuid4().hex[:6]}", "statecode": 0,
                                                  "statuscode": 2})
        client.create("lists", {"listname": owned_list_name(campaign_id, MemberType.LEAD), "type": False,
                                "createdfromcode": 4, "lockstatus": True})
        with pytest.raises(OwnedListError, match="it is locked") as locked:
            ensure_owned_list(client, ledger, campaign_id, MemberType.LEAD)
    assert is_permanent(locked.value)


def test_a_campaign_another_spec_owns_is_a_permanent_error(ledger):
    campaign_id = str(uuid.uuid4())
    ledger.claim_campaign(campaign_id, "someone_else", "run-1")
    with pytest.raises(CampaignClaimedError) as refused:
        ledger.claim_campaign(campaign_id, "mine", "run-2")
    assert is_permanent(refused.value)


def test_a_guard_stop_is_permanent_and_a_busy_campaign_or_a_bug_is_not():
    assert is_permanent(GuardError("e2e_germany: 120 removes is more than max_removes 100"))
    assert not is_permanent(CampaignBusyError("another run of e2e_germany holds the write lock"))
    assert not is_permanent(RuntimeError("a bug"))
