"""Campaign owners: one spec per campaign, claimed before the first write, taken over only explicitly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from ledger_samples import CAMPAIGN, KEY, OTHER_CAMPAIGN, START, create_version_1_tables, person
from sqlalchemy import insert, select, text

from dynamics_campaign_sync.ledger import LATEST_VERSION, CampaignClaimedError, Ledger
from dynamics_campaign_sync.ledger.schema import memberships, schema_version

RENAMED = "pricing-page-visitors-v2"


def test_the_first_claim_wins_and_repeating_it_changes_nothing(ledger: Ledger) -> None:
    assert ledger.campaign_owner(CAMPAIGN) is None
    first = ledger.claim_campaign(CAMPAIGN, KEY, "run-1")
    again = ledger.claim_campaign(CAMPAIGN, KEY, "run-2")
    assert again == first == ledger.campaign_owner(CAMPAIGN)
    assert (first.campaign_key, first.claimed_by_run, first.previous_key) == (KEY, "run-1", None)
    assert ledger.check_campaign_owner(CAMPAIGN, KEY) == first
    assert ledger.check_campaign_owner(OTHER_CAMPAIGN, RENAMED) is None  # unclaimed: anyone may plan


def test_another_spec_is_refused_with_a_message_naming_both_and_the_way_out(ledger: Ledger) -> None:
    ledger.claim_campaign(CAMPAIGN, KEY, "run-1")
    for attempt in (lambda: ledger.claim_campaign(CAMPAIGN, RENAMED, "run-9"),
                    lambda: ledger.check_campaign_owner(CAMPAIGN, RENAMED)):
        with pytest.raises(CampaignClaimedError) as refused:
            attempt()
        message = str(refused.value)
        assert f"campaign {CAMPAIGN} is synced by spec {KEY!r}" in message
        assert f"spec {RENAMED!r} may not write to it" in message
        assert "take_over_campaign=true" in message
        assert refused.value.owner.campaign_key == KEY
    assert ledger.campaign_owner(CAMPAIGN).campaign_key == KEY
    assert ledger.claim_campaign(OTHER_CAMPAIGN, RENAMED, "run-9").campaign_key == RENAMED  # other campaigns: free


def test_an_explicit_take_over_moves_the_campaign_and_remembers_the_old_spec(ledger: Ledger) -> None:
    ledger.claim_campaign(CAMPAIGN, KEY, "run-1")
    taken = ledger.claim_campaign(CAMPAIGN, RENAMED, "run-9", take_over=True)
    assert (taken.campaign_key, taken.claimed_by_run, taken.previous_key) == (RENAMED, "run-9", KEY)
    with pytest.raises(CampaignClaimedError):  # the old spec, if it comes back, is now the intruder
        ledger.claim_campaign(CAMPAIGN, KEY, "run-10")
    # Repeating the take-over (a retried task) keeps the record of who it was taken from.
    assert ledger.claim_campaign(CAMPAIGN, RENAMED, "run-9", take_over=True) == taken


def test_migrating_a_version_1_ledger_gives_each_campaign_the_spec_that_added_first_and_widens_person_ids(
    ledger_factory: Callable[[], Ledger],
) -> None:
    ledger = ledger_factory()
    with ledger.engine.begin() as connection:  # the schema as version 1 left it
        create_version_1_tables(connection)
        if connection.dialect.name == "postgresql":  # version 1 had GUID-wide person ids here
            for table in ("plan_items", "failures"):
                connection.execute(text(f"ALTER TABLE {table} ALTER COLUMN person_id TYPE VARCHAR(36)"))
        connection.execute(insert(schema_version).values(version=1, description="v1", applied_at=START))

        def member(campaign: str, number: int, key: str, days: int, status: str = "member") -> dict:
            return {"campaign_id": campaign, "person_id": person(number), "member_type": "lead",
                    "campaign_key": key, "status": status, "added_at": START + timedelta(days=days),
                    "added_by_run": f"run-{days}"}

        connection.execute(insert(memberships), [
            member(CAMPAIGN, 1, RENAMED, 5), member(CAMPAIGN, 2, KEY, 2), member(CAMPAIGN, 3, KEY, 9),
            member(OTHER_CAMPAIGN, 4, "retired-spec", 1, status="removed"),  # everyone removed: still its campaign
        ])

    assert ledger.migrate() == LATEST_VERSION
    owner = ledger.campaign_owner(CAMPAIGN)
    assert (owner.campaign_key, owner.claimed_at, owner.claimed_by_run) == (KEY, START + timedelta(days=2),
                                                                             "schema migration 2")
    assert ledger.campaign_owner(OTHER_CAMPAIGN).campaign_key == "retired-spec"
    assert ledger.campaign_owner("5d1c7f57-3f9e-4c0b-9a7e-1d2b3c4d5e6f") is None
    with ledger.engine.connect() as connection:
        assert connection.scalars(select(schema_version.c.version).order_by("version")).all() == list(
            range(1, LATEST_VERSION + 1))
    # Version 3: plans and failures take new:<source id> longer than a GUID (PostgreSQL enforced the width).
    long_id = "new:" + "x" * 60
    ledger.record_failures(KEY, "run-1", "add", {long_id: "refused"})
    assert ledger.failures(KEY, "run-1") == {long_id: "refused"}
    # Version 4: the qualification history takes source ids up to the contract's 400 characters.
    email_like = "someone.with.a.long.name@" + "sub." * 8 + "example.com"
    ledger.record(KEY, [email_like, "y" * 400], START, "run-1")
    assert set(ledger.last_qualified(KEY, [email_like, "y" * 400])) == {email_like, "y" * 400}
