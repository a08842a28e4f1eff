"""The batched existence check drift relies on: which leads/contacts still exist, one request per chunk."""

from __future__ import annotations

import uuid

import pytest

from dynamics_campaign_sync.dataverse import DataverseConfigError, MemberType
from support import client_for


def test_existing_ids_finds_the_living_records_in_one_request_per_chunk(fresh_emulator):
    with client_for(fresh_emulator) as client:
        leads = [client.create("leads", {"lastname": f"L{n}", "emailaddress1": f"drift{n}@example.com"})
                 for n in range(5)]
        client.transport.request("DELETE", f"leads({leads[1]})")
        client.transport.request("DELETE", f"leads({leads[3]})")
        never = str(uuid.uuid4())
        mark = fresh_emulator.requests_log()[-1]["id"]

        found = client.existing_ids(MemberType.LEAD, [i.upper() for i in leads] + [never], chunk_size=2)

        assert found == {leads[0], leads[2], leads[4]}
        reads = [r for r in fresh_emulator.requests_log(mark) if r["path"].startswith("/api/data/")]
        assert len(reads) == 3 and all(r["method"] == "GET" and r["status"] == 200 for r in reads)  # 6 ids, 2 each
        assert all("Microsoft.Dynamics.CRM.In" in r["path"] for r in reads)
        # A contact id is not a lead: the check is per member type.
        assert client.existing_ids(MemberType.CONTACT, leads) == set()


def test_existing_ids_refuses_an_id_that_is_not_a_guid_naming_it(fresh_emulator):
    with client_for(fresh_emulator) as client, pytest.raises(DataverseConfigError, match="lead id is not a GUID"):
        client.existing_ids(MemberType.LEAD, ["not-a-guid"])
