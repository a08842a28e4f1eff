"""The client against the running emulator: real HTTPS, real MSAL, real HTTP status codes."""

from __future__ import annotations

import logging
import time
import uuid

import pytest

from dynamics_campaign_sync.dataverse import (
    AuthenticationError,
    BatchOperation,
    CertificateCredential,
    ChangeSet,
    DataverseClient,
    DataverseConnectionError,
    HttpError,
    MemberType,
    RetryPolicy,
)
from support import client_for

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def make_client(emulator, policy: RetryPolicy | None = None, **overrides) -> DataverseClient:
    return client_for(emulator, policy, **overrides)


def token_requests(emulator, since=None) -> list[dict]:
    return [r for r in emulator.requests_log(since) if r["path"].endswith("/oauth2/v2.0/token")]


def api_requests(emulator, since=None) -> list[dict]:
    return [r for r in emulator.requests_log(since) if r["path"].startswith("/api/data/")]


def new_lead(client: DataverseClient, **fields) -> str:
    return client.create("leads", {"lastname": "Tester", "emailaddress1": f"{uuid.uuid4().hex[:8]}@example.com",
                                   **fields})


def new_list(client: DataverseClient, member_type: MemberType = MemberType.LEAD, **fields) -> str:
    record = {"listname": f"test-{uuid.uuid4().hex[:8]}", "type": False,
              "createdfromcode": member_type.createdfromcode, **fields}
    return client.create("lists", record)


def test_tls_is_verified_against_the_emulator_ca_even_with_requests_ca_bundle_set(fresh_emulator, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", SYSTEM_BUNDLE)
    monkeypatch.setenv("CURL_CA_BUNDLE", SYSTEM_BUNDLE)
    with make_client(fresh_emulator) as client:
        assert any(c.is_active for c in client.list_campaigns())
    # The system trust store does not know the emulator's private CA: the handshake must fail.
    with make_client(fresh_emulator, verify=SYSTEM_BUNDLE) as client, pytest.raises(DataverseConnectionError):
        client.check_access()


def test_token_is_acquired_once_and_reused(fresh_emulator):
    fresh_emulator.clear_requests_log()
    with make_client(fresh_emulator) as client:
        client.check_access()
        client.check_access()
        list(client.list_campaigns())
    assert len(token_requests(fresh_emulator)) == 1
    assert len(api_requests(fresh_emulator)) == 3


def test_token_is_refreshed_after_it_expires(fresh_emulator):
    # MSAL treats a token as expired 5 minutes early: 303 s leaves a 3-second window of reuse.
    fresh_emulator.configure(token_lifetime_seconds=303)
    fresh_emulator.clear_requests_log()
    with make_client(fresh_emulator) as client:
        client.check_access()
        client.check_access()
        assert len(token_requests(fresh_emulator)) == 1
        time.sleep(3.5)
        client.check_access()
    assert len(token_requests(fresh_emulator)) == 2


def test_wrong_secret_is_a_clear_error_that_never_shows_the_secret(fresh_emulator, caplog):
    secret = "wrong-secret-Zq8!value"
    caplog.set_level(logging.DEBUG)
    with make_client(fresh_emulator, client_secret=secret) as client:
        with pytest.raises(AuthenticationError) as raised:
            client.check_access()
    assert raised.value.error == "invalid_client"
    assert secret not in str(raised.value) and secret not in repr(raised.value.__dict__)
    assert secret not in caplog.text


def test_certificate_credential_obtains_a_token(fresh_emulator):
    certificate = CertificateCredential.from_files(fresh_emulator.client_key_path, fresh_emulator.client_cert_path)
    with make_client(fresh_emulator, client_secret=None, certificate=certificate) as client:
        client.check_access()


def test_paging_follows_next_links_over_three_pages(fresh_emulator):
    with make_client(fresh_emulator, max_page_size=4) as client:
        for n in range(12):
            client.create("campaigns", {"name": f"Paging {n:02d}", "statecode": 0, "statuscode": 0})
        fresh_emulator.clear_requests_log()
        names = [c.name for c in client.list_campaigns()]
    assert [n for n in names if n.startswith("Paging")] == [f"Paging {n:02d}" for n in range(12)]
    pages = api_requests(fresh_emulator)
    assert len(pages) >= 4  # 12 new campaigns + the seeded ones, 4 per page
    assert all(r["status"] == 200 for r in pages)
    assert sum("skiptoken" in r["path"] for r in pages) == len(pages) - 1


def test_throttling_429_is_waited_out_using_retry_after(fresh_emulator):
    fresh_emulator.configure(limits={"requests_per_window": 3, "window_seconds": 2, "max_concurrent": 52,
                                     "execution_seconds_per_window": 1200})
    with make_client(fresh_emulator, policy=RetryPolicy(max_attempts=8, max_total_seconds=60)) as client:
        started = time.monotonic()
        for _ in range(5):
            client.check_access()
        elapsed = time.monotonic() - started
    statuses = [r["status"] for r in api_requests(fresh_emulator)]
    assert 429 in statuses and statuses.count(200) == 5
    assert client.stats.throttled >= 1 and client.stats.throttle_wait_seconds >= 1
    assert elapsed >= client.stats.throttle_wait_seconds * 0.9


def test_503_is_retried_until_it_succeeds(fresh_emulator):
    fresh_emulator.configure(faults=[{"path": r"/campaigns", "error_rate": 0.4, "error_statuses": [503]}],
                             fault_seed=7)
    with make_client(fresh_emulator) as client:
        for _ in range(8):
            client.check_access()
    statuses = [r["status"] for r in api_requests(fresh_emulator)]
    assert 503 in statuses and statuses.count(200) == 8
    assert client.stats.retries == statuses.count(503)


def test_400_is_not_retried_and_raised_typed(fresh_emulator):
    fresh_emulator.clear_requests_log()
    with make_client(fresh_emulator) as client, pytest.raises(HttpError) as raised:
        list(client.iter_records("campaigns", **{"$filter": "nosuchcolumn eq 1"}))
    assert raised.value.status == 400 and not raised.value.is_transient
    assert "nosuchcolumn" in raised.value.message and raised.value.code
    assert len(api_requests(fresh_emulator)) == 1


def test_missing_campaign_is_a_404_naming_it(fresh_emulator):
    missing = str(uuid.uuid4())
    with make_client(fresh_emulator) as client, pytest.raises(HttpError) as raised:
        client.get_campaign(missing)
    assert raised.value.status == 404 and missing in raised.value.message


def test_add_and_remove_members_are_idempotent(fresh_emulator):
    with make_client(fresh_emulator) as client:
        list_id = new_list(client)
        leads = [new_lead(client) for _ in range(5)]
        first = client.add_members(list_id, MemberType.LEAD, leads, chunk_size=2)
        again = client.add_members(list_id, MemberType.LEAD, leads)
        assert sorted(first.succeeded) == sorted(leads) and first.requests == 3 and not again.failed
        assert sorted(client.iter_list_member_ids(list_id)) == sorted(leads)
        assert client.get_list(list_id).member_count == 5

        client.remove_members(list_id, MemberType.LEAD, leads[:2])
        removed_again = client.remove_members(list_id, MemberType.LEAD, leads[:2])
        assert not removed_again.failed
        assert sorted(client.iter_list_member_ids(list_id)) == sorted(leads[2:])
        assert client.get_list(list_id).member_count == 3


def test_one_missing_person_does_not_stop_the_others(fresh_emulator):
    with make_client(fresh_emulator) as client:
        list_id = new_list(client)
        leads = [new_lead(client) for _ in range(4)]
        ghost = str(uuid.uuid4())
        result = client.add_members(list_id, MemberType.LEAD, [*leads[:2], ghost, *leads[2:]])
        assert sorted(result.succeeded) == sorted(leads)
        assert list(result.failed) == [ghost] and ghost in result.failed[ghost]
        assert sorted(client.iter_list_member_ids(list_id)) == sorted(leads)


def test_member_type_mismatch_names_the_person(fresh_emulator):
    with make_client(fresh_emulator) as client:
        lead_list = new_list(client, MemberType.LEAD)
        contact = client.create("contacts", {"lastname": "Contact", "emailaddress1": "c@example.com"})
        result = client.add_members(lead_list, MemberType.CONTACT, [contact])
    assert list(result.failed) == [contact]
    assert not result.succeeded


def test_locked_list_is_a_typed_error_naming_the_list(fresh_emulator):
    with make_client(fresh_emulator) as client:
        locked = new_list(client, lockstatus=True)
        lead = new_lead(client)
        with pytest.raises(HttpError) as raised:
            client.add_members(locked, MemberType.LEAD, [lead])
    assert raised.value.status == 400 and locked in raised.value.message


def test_static_list_is_associated_with_a_campaign_once(fresh_emulator):
    with make_client(fresh_emulator) as client:
        campaign = next(c for c in client.list_campaigns() if c.is_active)
        marketing_list = client.create_static_list(f"Owned {uuid.uuid4().hex[:6]}", MemberType.LEAD)
        assert marketing_list.is_static and marketing_list.member_type is MemberType.LEAD
        assert client.associate_list(campaign.id, marketing_list.id) is True
        assert client.associate_list(campaign.id, marketing_list.id) is False
        linked = [lst.id for lst in client.campaign_lists(campaign.id)]
    assert linked.count(marketing_list.id) == 1


def lists_named(client: DataverseClient, name: str) -> list[str]:
    return [r["listid"] for r in client.iter_records("lists", **{"$select": "listid",
                                                                 "$filter": f"listname eq '{name}'"})]


def test_a_list_created_under_our_id_is_made_once_when_the_answer_is_lost(fresh_emulator):
    """The creation is carried out, its answer lost; the retry policy resends it and finds the list (412)."""
    fresh_emulator.configure(faults=[{"path": r"/lists\(", "method": "PATCH", "lost_response_rate": 1,
                                      "times": 1}])
    name, list_id = f"Owned {uuid.uuid4().hex[:6]}", str(uuid.uuid4())
    with make_client(fresh_emulator) as client:
        created = client.create_static_list(name, MemberType.CONTACT, list_id=list_id)
        again = client.create_static_list(name, MemberType.CONTACT, list_id=list_id)  # a retried task
        assert client.stats.retries == 1
        stored = lists_named(client, name)
    assert created == again and (created.id, created.name, created.member_type) == (list_id, name,
                                                                                     MemberType.CONTACT)
    assert stored == [list_id]
    sent = [(r["method"], r["status"], r["fault"]) for r in api_requests(fresh_emulator) if "/lists(" in r["path"]
            and r["method"] == "PATCH"]
    assert sent == [("PATCH", 0, "lost_response"), ("PATCH", 412, None), ("PATCH", 412, None)]


def test_an_association_whose_answer_is_lost_is_taken_as_made(fresh_emulator):
    """The link is made, its answer lost; Dataverse refuses the resent link as a duplicate, which means done."""
    fresh_emulator.configure(faults=[{"path": r"campaignlist_association/\$ref", "method": "POST",
                                      "lost_response_rate": 1, "times": 1}])
    with make_client(fresh_emulator) as client:
        campaign = next(c for c in client.list_campaigns() if c.is_active)
        list_id = new_list(client)
        assert client.associate_list(campaign.id, list_id) is True
        assert client.associate_list(campaign.id, list_id) is False
        linked = [lst.id for lst in client.campaign_lists(campaign.id)]
        with pytest.raises(HttpError) as raised:  # only "linked already" counts as done
            client.associate_list(campaign.id, str(uuid.uuid4()))  # no such list
    assert raised.value.status == 404
    assert linked.count(list_id) == 1
    posts = [(r["status"], r["fault"]) for r in api_requests(fresh_emulator) if r["path"].endswith("/$ref")]
    assert posts == [(0, "lost_response"), (412, None), (404, None)]


def test_batch_with_one_failing_operation_continues_on_error(fresh_emulator):
    missing = str(uuid.uuid4())
    with make_client(fresh_emulator) as client:
        results = client.execute_batch(
            [
                BatchOperation("POST", "leads", {"lastname": "Batch A", "emailaddress1": "a@batch.example"}),
                BatchOperation("GET", f"leads({missing})?$select=fullname"),
                BatchOperation("POST", "leads", {"lastname": "Batch B", "emailaddress1": "b@batch.example"}),
            ],
            continue_on_error=True,
        )
        assert [r.status for r in results] == [204, 404, 204]
        assert missing in results[1].body["error"]["message"]
        found = client.find_people_by_email(MemberType.LEAD, ["a@batch.example", "b@batch.example"])
        assert set(found) == {"a@batch.example", "b@batch.example"}

        stopped = client.execute_batch(
            [BatchOperation("GET", f"leads({missing})"), BatchOperation("POST", "leads", {"lastname": "Never"})]
        )
        assert [r.status for r in stopped] == [404]


def test_changeset_is_atomic(fresh_emulator):
    missing = str(uuid.uuid4())
    with make_client(fresh_emulator) as client:
        results = client.execute_batch([
            ChangeSet([
                BatchOperation("POST", "leads", {"lastname": "Atomic", "emailaddress1": "atomic@batch.example"}),
                # If-Match: * turns PATCH from an upsert into an update of an existing record.
                BatchOperation("PATCH", f"leads({missing})", {"jobtitle": "CEO"}, {"If-Match": "*"}),
            ])
        ])
        assert any(r.status == 404 for r in results)
        assert client.find_people_by_email(MemberType.LEAD, ["atomic@batch.example"]) == {}


def test_names_with_quotes_are_escaped_in_filters(fresh_emulator):
    with make_client(fresh_emulator) as client:
        client.create("campaigns", {"name": "O'Brien's Spring Launch", "statecode": 0, "statuscode": 2})
        found = client.find_campaigns_by_name("O'Brien's Spring Launch")
        lead = client.create("leads", {"lastname": "O'Neil", "emailaddress1": "o'neil@example.com"})
        by_email = client.find_people_by_email(MemberType.LEAD, ["O'Neil@example.com".lower()])
    assert [c.name for c in found] == ["O'Brien's Spring Launch"]
    assert by_email["o'neil@example.com"].id == lead


def test_hook_reads_a_json_connection_from_the_environment(fresh_emulator, monkeypatch):
    import json

    from dynamics_campaign_sync.hooks.dynamics import DynamicsHook
    from support import emulator_connection

    monkeypatch.setenv("AIRFLOW_CONN_DYNAMICS_DEFAULT", json.dumps(emulator_connection(fresh_emulator)))
    hook = DynamicsHook()
    ok, message = hook.test_connection()
    assert ok, message
    assert fresh_emulator.org_url in message
    assert fresh_emulator.client_secret not in message
    assert any(c.name for c in hook.client.list_campaigns())


def test_hook_reports_a_wrong_secret_without_showing_it(fresh_emulator, monkeypatch):
    import json

    from dynamics_campaign_sync.hooks.dynamics import DynamicsHook
    from support import emulator_connection

    connection = emulator_connection(fresh_emulator)
    connection["password"] = "not-the-right-secret-123"
    monkeypatch.setenv("AIRFLOW_CONN_DYNAMICS_BROKEN", json.dumps(connection))
    ok, message = DynamicsHook("dynamics_broken").test_connection()
    assert not ok and "invalid_client" in message and "not-the-right-secret-123" not in message

