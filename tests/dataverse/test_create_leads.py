"""``DataverseClient.create_leads``: many leads in ``$batch`` requests, against the running emulator."""

from __future__ import annotations

import pytest

from dynamics_campaign_sync.dataverse import HttpError
from dynamics_campaign_sync.dataverse.errors import BatchOperationError
from dynamics_campaign_sync.dataverse.models import NewLead
from support import client_for

VALIDATION_ERROR = "0x80044331"  # Dataverse's code for a value its column refuses (too long, out of range)
TOO_LONG_EMAIL = "x" * 95 + "@too-long.example"  # 112 characters; emailaddress1 holds at most 100


def batch_requests(emulator, since=None) -> list[dict]:
    return [r for r in emulator.requests_log(since) if r["path"].endswith("/$batch")]


def single_lead_posts(emulator, since=None) -> list[dict]:
    """Lead creations outside ``$batch`` (a batch's operations are logged inside its entry)."""
    return [r for r in emulator.requests_log(since) if r["method"] == "POST" and r["path"].endswith("/leads")]


def leads_by_id(client, domain: str) -> dict[str, str]:
    """Lead id -> email of every lead whose email ends with ``@domain``, read back through the Web API."""
    records = client.iter_records(
        "leads", **{"$select": "leadid,emailaddress1", "$filter": f"endswith(emailaddress1,'@{domain}')"}
    )
    return {r["leadid"]: r["emailaddress1"] for r in records}


def test_new_lead_record_defaults_the_last_name_and_leaves_out_empty_columns():
    assert NewLead(email="ada.l@example.com").to_record() == {"emailaddress1": "ada.l@example.com",
                                                              "lastname": "ada.l"}
    assert NewLead(email="a@example.com", first_name="Ada", last_name="Lovelace", company_name="Engines",
                   job_title="Analyst").to_record() == {
        "emailaddress1": "a@example.com", "firstname": "Ada", "lastname": "Lovelace",
        "companyname": "Engines", "jobtitle": "Analyst"}


def test_2500_leads_are_created_in_three_batches_and_read_back_with_their_emails(fresh_emulator):
    emails = [f"bulk-{i:04d}@create-leads.example" for i in range(2500)]
    with client_for(fresh_emulator) as client:
        ids = client.create_leads([NewLead(email=e) for e in emails])
        stored = leads_by_id(client, "create-leads.example")

    batches = batch_requests(fresh_emulator)
    assert [len(b["operations"]) for b in batches] == [1000, 1000, 500]
    assert all(b["status"] == 200 for b in batches)
    # Create-only upserts with ids from the emails: PATCH leads(<id>) + If-None-Match: *, all created.
    assert [(op["method"], op["path"].removeprefix(fresh_emulator.api_url), op["status"])
            for b in batches for op in b["operations"]] == [
        ("PATCH", f"leads({NewLead(email=e).lead_id})", 204) for e in emails]
    assert single_lead_posts(fresh_emulator) == []
    assert client.stats.requests == 3 + 1  # three batches and the read-back (one page of 2,500)

    assert all(isinstance(i, str) for i in ids) and len(set(ids)) == 2500
    # Every id is a lead with the email given at that position: input order is kept.
    assert stored == dict(zip(ids, emails, strict=True))


def test_a_refused_lead_comes_back_as_an_error_at_its_position_and_the_others_are_created(fresh_emulator):
    leads = [NewLead(email=f"ok{i}@refused.example", first_name=f"Ok{i}") for i in range(5)]
    leads[2] = NewLead(email=TOO_LONG_EMAIL)
    with client_for(fresh_emulator) as client:
        results = client.create_leads(leads, chunk_size=2)
        stored = leads_by_id(client, "refused.example")
        too_long = leads_by_id(client, "too-long.example")

    refused = results[2]
    assert isinstance(refused, BatchOperationError) and isinstance(refused, HttpError)
    assert (refused.index, refused.status, refused.code) == (2, 400, VALIDATION_ERROR)
    assert "emailaddress1" in refused.message and "100" in refused.message
    assert not refused.is_transient
    created = [r for i, r in enumerate(results) if i != 2]
    assert all(isinstance(r, str) for r in created)
    assert stored == {r: f"ok{i}@refused.example" for i, r in enumerate(results) if i != 2}
    assert too_long == {}
    # chunk_size 2: the refused lead opened the second batch, and the batch went on after it.
    batches = batch_requests(fresh_emulator)
    assert [[op["status"] for op in b["operations"]] for b in batches] == [[204, 204], [400, 204], [204]]


def test_a_failed_batch_is_retried_by_the_policy_and_creates_each_lead_once(fresh_emulator):
    # Injected 503s answer before the batch runs, as a busy Dataverse front end does.
    fresh_emulator.configure(faults=[{"path": r"\$batch", "error_rate": 0.5, "error_statuses": [503]}],
                             fault_seed=3)
    emails = [f"retry-{i:02d}@retried.example" for i in range(30)]
    with client_for(fresh_emulator) as client:
        ids = client.create_leads([NewLead(email=e) for e in emails], chunk_size=10)
        retries = client.stats.retries
        fresh_emulator.reset_config()
        stored = leads_by_id(client, "retried.example")

    statuses = [b["status"] for b in batch_requests(fresh_emulator)]
    assert statuses.count(503) >= 1 and statuses.count(200) == 3
    assert retries == statuses.count(503)
    assert stored == dict(zip(ids, emails, strict=True))


def test_a_batch_refused_as_a_whole_is_raised(fresh_emulator):
    # Every operation would be fine; the request itself is not: the retry policy gives up, the caller sees it.
    fresh_emulator.configure(faults=[{"path": r"\$batch", "error_rate": 1.0, "error_statuses": [500]}])
    from dynamics_campaign_sync.dataverse import RetryPolicy

    policy = RetryPolicy(max_attempts=2, max_total_seconds=10, base_delay_seconds=0.01, max_delay_seconds=0.01)
    with client_for(fresh_emulator, policy) as client, pytest.raises(HttpError) as raised:
        client.create_leads([NewLead(email="never@batch-down.example")])
    assert raised.value.status == 500
    assert len(batch_requests(fresh_emulator)) == 2


def test_no_leads_means_no_request_and_chunk_size_is_checked(fresh_emulator):
    with client_for(fresh_emulator) as client:
        assert client.create_leads([]) == []
        for bad in (0, 1001):
            with pytest.raises(ValueError, match="chunk_size"):
                client.create_leads([NewLead(email="a@example.com")], chunk_size=bad)
    assert fresh_emulator.requests_log() == []


def test_create_lead_sends_the_same_record_and_is_refused_the_same_way(fresh_emulator):
    with client_for(fresh_emulator) as client:
        lead_id = client.create_lead(email="solo.person@single.example", job_title="CTO")
        record = client.transport.get_json(f"leads({lead_id})",
                                           params={"$select": "emailaddress1,lastname,jobtitle,firstname"})
        with pytest.raises(HttpError) as raised:
            client.create_lead(email=TOO_LONG_EMAIL)
    assert (record["emailaddress1"], record["lastname"], record["jobtitle"], record["firstname"]) == (
        "solo.person@single.example", "solo.person", "CTO", None)
    assert (raised.value.status, raised.value.code) == (400, VALIDATION_ERROR)
    assert "emailaddress1" in raised.value.message


def test_lead_ids_follow_the_email_whatever_its_case(fresh_emulator):
    assert NewLead(email=" Ada@Example.com").lead_id == NewLead(email="ada@example.com").lead_id
    assert NewLead(email="ada@example.com").lead_id != NewLead(email="bob@example.com").lead_id


def test_lost_batch_responses_are_resent_and_create_no_lead_twice(fresh_emulator):
    """The batch is carried out but its answer never arrives (a timeout on a long batch): the retry policy
    sends it again, which finds the leads already there (412) instead of creating them twice."""
    fresh_emulator.configure(faults=[{"path": r"\$batch", "lost_response_rate": 0.5}], fault_seed=7)
    emails = [f"lost-{i:02d}@lost-answers.example" for i in range(40)]
    with client_for(fresh_emulator) as client:
        ids = client.create_leads([NewLead(email=e) for e in emails], chunk_size=10)
        fresh_emulator.reset_config()
        stored = leads_by_id(client, "lost-answers.example")

    batches = batch_requests(fresh_emulator)
    lost = [b for b in batches if b["fault"] == "lost_response"]
    assert lost, "the seed must lose some answers for this test to mean anything"
    assert all(op["status"] == 204 for b in lost for op in b["operations"])  # carried out all the same
    resent = [op["status"] for b in batches if b["fault"] is None for op in b["operations"]]
    assert resent.count(412) == 10 * len(lost)  # every lead of a lost batch was found, not created again
    assert stored == dict(zip(ids, emails, strict=True))  # 40 leads, one per email


def test_calling_again_after_a_crash_returns_the_same_leads(fresh_emulator):
    leads = [NewLead(email=f"again-{i}@again.example") for i in range(3)]
    with client_for(fresh_emulator) as client:
        first = client.create_leads(leads[:2])
        again = client.create_leads(leads)  # a retried task does not know the first call succeeded
        stored = leads_by_id(client, "again.example")
    assert again[:2] == first and len(stored) == 3 and set(stored) == set(again)


def test_a_batch_answer_cut_short_is_sent_again_and_creates_each_lead_once(fresh_emulator):
    # The batch ran; its 200 answer arrives truncated, so which leads it created cannot be read from it.
    fresh_emulator.configure(faults=[{"path": r"\$batch", "broken_body_rate": 1, "times": 1}])
    emails = [f"cut-{i:02d}@cut-short.example" for i in range(4)]
    with client_for(fresh_emulator) as client:
        ids = client.create_leads([NewLead(email=e) for e in emails])
        assert client.stats.retries == 1
        fresh_emulator.reset_config()
        stored = leads_by_id(client, "cut-short.example")
    batches = batch_requests(fresh_emulator)
    assert [(b["status"], b["fault"]) for b in batches] == [(200, "broken_body"), (200, None)]
    assert [op["status"] for op in batches[1]["operations"]] == [412] * 4  # found, not created twice
    assert stored == dict(zip(ids, emails, strict=True))
