"""People known only by email, through ``CampaignSync.apply("add")``: matched by email, created in ``$batch``
requests, refused leads recorded as per-person failures — against the emulator and a real SQLite ledger."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from dynamics_campaign_sync.dataverse.models import NewLead
from dynamics_campaign_sync.spec import CampaignSpec
from dynamics_campaign_sync.sync.membership_writer import WriteOutcome
from dynamics_campaign_sync.sync.service import CampaignSync, RunContext
from support import client_for

DOMAIN = "email-only.example"
TOO_LONG_EMAIL = "y" * 90 + f"@{DOMAIN}"  # over emailaddress1's 100 characters: Dynamics refuses the lead
RUN = RunContext("manual__create_missing_leads", dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                 dt.datetime(2026, 3, 2, tzinfo=dt.UTC))


def spec_for(campaign_id: str) -> CampaignSpec:
    return CampaignSpec.model_validate({
        "key": "email_only_people", "title": "Email-only people", "owner": "tests@example.com",
        "campaign": {"id": campaign_id}, "member_types": ["lead"],
        "schedule": {"cron": "0 6 * * *", "start_date": "2026-01-01"},
        "rules": {"filters": [{"type": "demographic", "field": "country", "operator": "is", "value": "DE"}]},
    })


def new_person(source_id: str, email: str) -> tuple[str, str, str, dict]:
    return (f"new:{source_id}", "lead", "add", {"rule": "country is DE", "source_person_id": source_id,
                                                  "email": email})


def leads_with_emails(client) -> dict[str, str]:
    records = client.iter_records(
        "leads", **{"$select": "leadid,emailaddress1", "$filter": f"endswith(emailaddress1,'@{DOMAIN}')"})
    return {r["leadid"]: r["emailaddress1"] for r in records}


def batch_sizes(emulator, since=None) -> list[int]:
    return [len(r["operations"]) for r in emulator.requests_log(since) if r["path"].endswith("/$batch")]


@pytest.fixture
def world(fresh_emulator, ledger_factory):
    client = client_for(fresh_emulator)
    campaign_id = client.create("campaigns", {"name": f"Email-only {uuid.uuid4().hex[:6]}", "statecode": 0,
                                              "statuscode": 2})
    ledger = ledger_factory()
    ledger.migrate()
    sync = CampaignSync(spec_for(campaign_id), client=client, ledger=ledger)
    sync.ensure_lists(campaign_id, RUN)
    yield sync, campaign_id
    client.close()


def test_email_only_people_are_matched_created_once_per_email_or_recorded_as_failures(world, fresh_emulator):
    sync, campaign_id = world
    client, ledger = sync.client, sync.ledger
    known = client.create_lead(email=f"known@{DOMAIN}")
    sync.ledger.record_plan(
        campaign_key=sync.key, run_id=RUN.run_id, interval_start=RUN.interval_start,
        interval_end=RUN.interval_end, status="applied", counts={"to_add": 5},
        items=[
            new_person("S1", f"twin@{DOMAIN}"),
            new_person("S2", f"Twin@{DOMAIN.upper()}"),  # the same email, another source person
            new_person("S3", f"KNOWN@{DOMAIN}"),  # a lead with this email exists: matched, not created
            new_person("S4", TOO_LONG_EMAIL),  # refused by Dynamics
            new_person("S5", f"fresh@{DOMAIN}"),
        ],
    )
    since = fresh_emulator.requests_log()[-1]["id"]

    outcome = sync.apply("add", campaign_id, RUN)

    leads = leads_with_emails(client)
    by_email = {email.lower(): lead for lead, email in leads.items()}
    assert sorted(leads.values()) == [f"fresh@{DOMAIN}", f"known@{DOMAIN}", f"twin@{DOMAIN}"]
    assert by_email[f"known@{DOMAIN}"] == known
    # One $batch for the three missing emails (the twins' once, the refused one); no lead POSTed on its own.
    assert batch_sizes(fresh_emulator, since) == [3]
    assert not [r for r in fresh_emulator.requests_log(since) if r["path"].endswith("/leads")
                and r["method"] == "POST"]

    added = {by_email[f"twin@{DOMAIN}"], known, by_email[f"fresh@{DOMAIN}"]}
    owned = ledger.owned_list(campaign_id, "lead").list_id
    assert set(client.iter_list_member_ids(owned)) == added
    assert outcome.succeeded == 3
    members = ledger.members(campaign_id)
    assert set(members) == added
    assert members[by_email[f"twin@{DOMAIN}"]].source_person_id == "S1"  # both twins resolved to one lead
    assert members[known].source_person_id == "S3"

    assert list(outcome.failed) == ["new:S4"]
    assert "HTTP 400 0x80044331" in outcome.failed["new:S4"] and "emailaddress1" in outcome.failed["new:S4"]
    # The refusal reaches the ledger too, where the run summary and the dashboard read failures.
    assert ledger.failures(sync.key, RUN.run_id) == {"new:S4": outcome.failed["new:S4"]}
    # The created leads carry the ids their emails determine, so resending could never duplicate them.
    assert by_email[f"fresh@{DOMAIN}"] == NewLead(email=f"fresh@{DOMAIN}").lead_id


def test_a_retried_add_finds_the_leads_it_created_by_email(world, fresh_emulator):
    sync, campaign_id = world
    sync.ledger.record_plan(
        campaign_key=sync.key, run_id=RUN.run_id, interval_start=RUN.interval_start,
        interval_end=RUN.interval_end, status="applied", counts={"to_add": 2},
        items=[new_person("R1", f"again@{DOMAIN}"), new_person("R2", TOO_LONG_EMAIL)],
    )
    first = sync.apply("add", campaign_id, RUN)
    leads_after_first = leads_with_emails(sync.client)
    since = fresh_emulator.requests_log()[-1]["id"]

    second = sync.apply("add", campaign_id, RUN)  # e.g. Airflow retrying the task

    assert leads_with_emails(sync.client) == leads_after_first and len(leads_after_first) == 1
    assert batch_sizes(fresh_emulator, since) == [1]  # only the refused lead is tried again
    assert (first.succeeded, list(first.failed)) == (1, ["new:R2"])
    assert list(second.failed) == ["new:R2"]
    assert list(sync.ledger.failures(sync.key, RUN.run_id)) == ["new:R2"]
    assert set(sync.ledger.members(campaign_id)) == set(leads_after_first)


def test_people_with_dynamics_ids_only_send_no_lead_request(world, fresh_emulator):
    sync, campaign_id = world
    lead = sync.client.create_lead(email=f"has-id@{DOMAIN}")
    people = {lead: {"source_person_id": "K1", "email": f"has-id@{DOMAIN}"}}
    since = fresh_emulator.requests_log()[-1]["id"]

    outcome = WriteOutcome()
    assert sync._create_missing_leads(people, RUN.run_id, outcome) is people
    assert fresh_emulator.requests_log(since) == [] and outcome.failed == {}
