"""Owned lists exactly once: lost answers to the list's creation and to its association, retries, re-runs, and
the lists that runs before deterministic ids left behind — against the emulator (real HTTPS) and real ledgers
(SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from dynamics_campaign_sync.dataverse import DataverseClient, MemberType
from dynamics_campaign_sync.ledger import Ledger
from dynamics_campaign_sync.sync.owned_lists import ensure_owned_list, owned_list_id, owned_list_name
from support import client_for

#: The first creation of a list is carried out and its answer lost, whether it is sent as a POST (a list with
#: an id Dataverse chooses) or as a create-only PATCH (a list with our id).
LOST_CREATION = [{"path": r"/lists$", "method": "POST", "lost_response_rate": 1, "times": 1},
                 {"path": r"/lists\(", "method": "PATCH", "lost_response_rate": 1, "times": 1}]
LOST_ASSOCIATION = [{"path": r"campaignlist_association/\$ref", "method": "POST", "lost_response_rate": 1,
                     "times": 1}]


@pytest.fixture
def ledger(ledger_factory: Callable[[], Ledger]) -> Ledger:
    ledger = ledger_factory()
    ledger.migrate()
    return ledger


@pytest.fixture
def client(fresh_emulator):
    with client_for(fresh_emulator) as client:
        yield client


@pytest.fixture
def campaign_id(client: DataverseClient) -> str:
    return client.create("campaigns", {"name": f"Owned lists {uuid.uuid4().hex[:6]}", "statecode": 0,
                                       "statuscode": 2})


def lists_named(client: DataverseClient, name: str) -> list[str]:
    """Ids of the lists with this name in Dynamics, read through the Web API."""
    return [r["listid"] for r in client.iter_records("lists", **{"$select": "listid",
                                                                 "$filter": f"listname eq '{name}'"})]


def links(client: DataverseClient, campaign_id: str) -> list[str]:
    """Ids of the lists associated with the campaign, one entry per link."""
    return [lst.id for lst in client.campaign_lists(campaign_id)]


def writes_since(emulator, since: int) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in emulator.requests_log(since)
            if r["method"] != "GET" and r["path"].startswith("/api/data/")]


def old_scheme_list(client: DataverseClient, name: str, created_on: str) -> str:
    """A list as runs before deterministic ids created it: our name, an id Dataverse chose."""
    return client.create("lists", {"listname": name, "type": False, "createdfromcode": 4,
                                   "overriddencreatedon": created_on})


@pytest.mark.parametrize("member_type", list(MemberType))
def test_a_lost_answer_to_the_creation_leaves_one_list_and_repeating_creates_nothing(
        member_type, fresh_emulator, client, ledger, campaign_id):
    name = owned_list_name(campaign_id, member_type)
    fresh_emulator.configure(faults=LOST_CREATION)

    first = ensure_owned_list(client, ledger, campaign_id, member_type)

    lost = [r for r in fresh_emulator.requests_log() if r["fault"] == "lost_response"]
    assert len(lost) == 1, "the creation's answer must have been lost for this test to mean anything"
    named = lists_named(client, name)
    assert len(named) == 1, f"{len(named)} lists named {name} in Dynamics"
    assert named == [owned_list_id(campaign_id, member_type)]
    assert first.marketing_list.id == owned_list_id(campaign_id, member_type) and first.created
    assert first.marketing_list.member_type is member_type and first.repairs == []
    assert links(client, campaign_id) == [first.marketing_list.id]
    assert ledger.owned_list(campaign_id, member_type.value).list_id == first.marketing_list.id

    since = fresh_emulator.requests_log()[-1]["id"]
    again = [ensure_owned_list(client, ledger, campaign_id, member_type) for _ in range(2)]
    assert [(c.marketing_list.id, c.created, c.repairs) for c in again] == [
        (first.marketing_list.id, False, [])] * 2
    assert writes_since(fresh_emulator, since) == []  # nothing created, nothing associated again
    assert lists_named(client, name) == [first.marketing_list.id]


def test_a_lost_answer_to_the_association_leaves_one_link(fresh_emulator, client, ledger, campaign_id):
    fresh_emulator.configure(faults=LOST_ASSOCIATION)

    check = ensure_owned_list(client, ledger, campaign_id, MemberType.LEAD)

    refs = [(r["status"], r["fault"]) for r in fresh_emulator.requests_log() if r["path"].endswith("/$ref")]
    assert refs == [(0, "lost_response"), (412, None)]  # made, answer lost; the resent link refused as a duplicate
    assert links(client, campaign_id) == [check.marketing_list.id]
    assert check.repairs == [] and check.created
    assert ensure_owned_list(client, ledger, campaign_id, MemberType.LEAD).marketing_list == check.marketing_list
    assert links(client, campaign_id) == [check.marketing_list.id]


def test_a_deleted_list_is_replaced_once_under_a_lost_answer_and_its_id_is_not_brought_back(
        fresh_emulator, client, ledger, campaign_id):
    name = owned_list_name(campaign_id, MemberType.LEAD)
    deleted = ensure_owned_list(client, ledger, campaign_id, MemberType.LEAD).marketing_list.id
    client.transport.request("DELETE", f"lists({deleted})")
    fresh_emulator.configure(faults=LOST_CREATION)

    check = ensure_owned_list(client, ledger, campaign_id, MemberType.LEAD)

    replacement = owned_list_id(campaign_id, MemberType.LEAD, replacing=deleted)
    assert replacement != deleted and check.created
    assert lists_named(client, name) == [replacement] and links(client, campaign_id) == [replacement]
    assert [deleted in repair and "deleted" in repair for repair in check.repairs] == [True]
    assert ledger.owned_list(campaign_id, "lead").list_id == replacement


def test_a_list_an_earlier_run_created_under_our_name_is_reused(fresh_emulator, client, ledger, campaign_id):
    name = owned_list_name(campaign_id, MemberType.LEAD)
    old = old_scheme_list(client, name, "2025-01-01T00:00:00Z")

    check = ensure_owned_list(client, ledger, campaign_id, MemberType.LEAD)

    assert (check.marketing_list.id, check.created, check.repairs) == (old, False, [])
    assert lists_named(client, name) == [old]
    assert links(client, campaign_id) == [old]
    assert ledger.owned_list(campaign_id, "lead").list_id == old


def test_two_lists_under_our_name_one_is_chosen_the_same_way_every_time_and_the_other_never_written(
        fresh_emulator, client, ledger, campaign_id):
    """What the old lost answer left: an orphan list (the lost creation) and the list the run went on with,
    associated with the campaign, whose id a crash kept from the ledger."""
    name = owned_list_name(campaign_id, MemberType.LEAD)
    orphan = old_scheme_list(client, name, "2025-01-01T00:00:00Z")
    used = old_scheme_list(client, name, "2025-01-01T00:00:05Z")
    client.associate_list(campaign_id, used)
    since = fresh_emulator.requests_log()[-1]["id"]

    checks = [ensure_owned_list(client, ledger, campaign_id, MemberType.LEAD) for _ in range(2)]

    assert [c.marketing_list.id for c in checks] == [used, used]  # the associated one, though younger
    for check in checks:
        assert len(check.repairs) == 1 and orphan in check.repairs[0] and "never written" in check.repairs[0]
    assert not any(orphan in path for _, path in writes_since(fresh_emulator, since))
    assert writes_since(fresh_emulator, since) == []  # it was associated already: nothing to write at all
    assert sorted(lists_named(client, name)) == sorted([orphan, used]) and links(client, campaign_id) == [used]
    assert ledger.owned_list(campaign_id, "lead").list_id == used


def test_of_two_unassociated_lists_under_our_name_the_oldest_is_chosen(fresh_emulator, client, ledger,
                                                                          campaign_id):
    name = owned_list_name(campaign_id, MemberType.LEAD)
    younger = old_scheme_list(client, name, "2025-02-01T00:00:00Z")
    older = old_scheme_list(client, name, "2025-01-01T00:00:00Z")

    check = ensure_owned_list(client, ledger, campaign_id, MemberType.LEAD)

    assert check.marketing_list.id == older and not check.created
    assert links(client, campaign_id) == [older]
    assert [younger in repair for repair in check.repairs] == [True]


def test_the_list_the_ledger_knows_stays_owned_and_a_namesake_is_reported(fresh_emulator, client, ledger,
                                                                             campaign_id):
    first = ensure_owned_list(client, ledger, campaign_id, MemberType.LEAD).marketing_list
    namesake = old_scheme_list(client, owned_list_name(campaign_id, MemberType.LEAD), "2020-01-01T00:00:00Z")

    check = ensure_owned_list(client, ledger, campaign_id, MemberType.LEAD)

    assert check.marketing_list.id == first.id  # older, but the ledger's list holds the members we wrote
    assert [namesake in repair for repair in check.repairs] == [True]
    assert links(client, campaign_id) == [first.id]


def test_owned_list_ids_follow_the_campaign_and_member_type():
    campaign = str(uuid.uuid4())
    assert owned_list_id(campaign, MemberType.LEAD) == owned_list_id(campaign.upper(), MemberType.LEAD)
    assert owned_list_id(campaign, MemberType.LEAD) != owned_list_id(campaign, MemberType.CONTACT)
    assert owned_list_id(campaign, MemberType.LEAD) != owned_list_id(str(uuid.uuid4()), MemberType.LEAD)
