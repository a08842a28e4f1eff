"""Writes: create/update/delete, campaign <-> list associations, and marketing-list membership semantics."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from dataverse_emulator.testing import EmulatorSession, RunningEmulator, demo_record

DUPLICATE_RECORD = "0x80040237"  # Dataverse's code for a second record (or link) with the same key


def _create(api: EmulatorSession, emu: RunningEmulator, entity_set: str, body: dict[str, Any]) -> str:
    response = api.post(emu.api_url + entity_set, json=body)
    assert response.status_code == 204, response.text
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def _get(api: EmulatorSession, emu: RunningEmulator, path: str, **params: str) -> dict[str, Any]:
    response = api.get(emu.api_url + path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _static_list(api: EmulatorSession, emu: RunningEmulator, code: int = 4, **extra: Any) -> str:
    return _create(api, emu, "lists", {"listname": f"Test list {uuid.uuid4().hex[:6]}", "type": False,
                                       "createdfromcode": code, **extra})


def _refs(kind: str, ids: list[str]) -> list[dict[str, str]]:
    return [{"@odata.type": f"Microsoft.Dynamics.CRM.{kind}", f"{kind}id": i} for i in ids]


def _add(api: EmulatorSession, emu: RunningEmulator, list_id: str, kind: str, ids: list[str],
         action: str = "AddListMembersList") -> Any:
    return api.post(emu.api_url + action, json={
        "List": {"@odata.type": "Microsoft.Dynamics.CRM.list", "listid": list_id}, "Members": _refs(kind, ids)})


def _members(api: EmulatorSession, emu: RunningEmulator, list_id: str) -> set[str]:
    rows = _get(api, emu, "listmembers", **{"$select": "_entityid_value,entitytype",
                                             "$filter": f"_listid_value eq {list_id}"})["value"]
    return {r["_entityid_value"] for r in rows}


def _membercount(api: EmulatorSession, emu: RunningEmulator, list_id: str) -> int:
    return _get(api, emu, f"lists({list_id})", **{"$select": "membercount"})["membercount"]


# -- records -------------------------------------------------------------------------------------------------
def test_create_returns_204_with_entity_id_or_201_with_representation(emu: RunningEmulator,
                                                                      api: EmulatorSession) -> None:
    response = api.post(emu.api_url + "lists", json={"listname": "Mkto-leads-1", "type": False, "createdfromcode": 4})
    assert response.status_code == 204 and response.content == b""
    entity_id = response.headers["OData-EntityId"]
    assert entity_id.startswith(emu.api_url + "lists(") and response.headers["OData-Version"] == "4.0"
    created = api.get(entity_id).json()
    assert (created["listname"], created["type"], created["createdfromcode"], created["membercount"],
            created["lockstatus"], created["statecode"], created["statuscode"]) == ("Mkto-leads-1", False, 4, 0,
                                                                                    False, 0, 0)
    mine = str(uuid.uuid4())
    response = api.post(emu.api_url + "leads?$select=fullname,firstname", headers={"Prefer": "return=representation"},
                        json={"leadid": mine, "firstname": "Grace", "lastname": "Hopper", "fullname": "ignored"})
    assert response.status_code == 201 and response.headers["Preference-Applied"] == "return=representation"
    body = response.json()
    assert body["leadid"] == mine and body["fullname"] == "Grace Hopper" and "lastname" not in body
    assert body["@odata.context"].endswith("$metadata#leads(fullname,firstname)/$entity")
    duplicate = api.post(emu.api_url + "leads", json={"leadid": mine, "lastname": "Again"})
    assert duplicate.status_code == 412 and duplicate.json()["error"]["code"] == "0x80040237"


def test_invalid_payloads_are_400(emu: RunningEmulator, api: EmulatorSession) -> None:
    cases = [
        ("leads", {"lastname": "X", "shoesize": 42}, "Invalid property 'shoesize' was found in entity "
                                                     "'Microsoft.Dynamics.CRM.lead'."),
        ("leads", {"lastname": "X", "numberofemployees": "many"}, "Cannot convert the literal 'many' to the "
                                                                  "expected type 'Edm.Int32'."),
        ("leads", {"lastname": "X", "industrycode": 999}, "The value 999 of 'industrycode' on record of type "
                                                          "'lead' is outside the valid range."),
        ("lists", {"listname": "no type"}, "The 'createdfromcode' attribute is required"),
        ("campaigns", {"name": "C", "statecode": 0, "statuscode": 6}, "6 is not a valid status code for state "
                                                                       "code CampaignState.Active"),
    ]
    for entity_set, body, message in cases:
        response = api.post(emu.api_url + entity_set, json=body)
        assert response.status_code == 400, (body, response.text)
        assert message in response.json()["error"]["message"]
    listmember = api.post(emu.api_url + "listmembers", json={"entitytype": "lead"})
    assert listmember.status_code == 400 and "does not support entities of type 'listmember'" in listmember.text


def test_patch_upserts_and_delete(emu: RunningEmulator, api: EmulatorSession, demo: dict[str, Any]) -> None:
    campaign = demo_record("campaigns", statuscode=0)
    url = emu.api_url + f"campaigns({campaign['campaignid']})"
    before = api.get(url).json()
    assert api.patch(url, json={"statecode": 1, "statuscode": 6}).status_code == 204
    after = api.get(url).json()
    assert (after["statecode"], after["statuscode"]) == (1, 6) and after["@odata.etag"] != before["@odata.etag"]
    assert api.patch(url, json={"statuscode": 3}).status_code == 204  # state follows the status
    assert api.get(url, params={"$select": "statecode"}).json()["statecode"] == 0
    stale = api.patch(url, json={"name": "x"}, headers={"If-Match": before["@odata.etag"]})
    assert stale.status_code == 412
    missing = str(uuid.uuid4())
    strict = api.patch(emu.api_url + f"leads({missing})", json={"lastname": "Nobody"}, headers={"If-Match": "*"})
    assert strict.status_code == 404 and missing in strict.json()["error"]["message"]
    upsert = api.patch(emu.api_url + f"leads({missing})", json={"lastname": "Upserted"})
    assert upsert.status_code == 204 and api.get(emu.api_url + f"leads({missing})").json()["lastname"] == "Upserted"
    assert api.delete(emu.api_url + f"leads({missing})").status_code == 204
    gone = api.delete(emu.api_url + f"leads({missing})")
    assert gone.status_code == 404 and gone.json()["error"]["message"] == f"lead With Id = {missing} Does Not Exist"
    immutable = api.patch(emu.api_url + f"lists({_static_list(api, emu)})", json={"createdfromcode": 2})
    assert immutable.status_code == 400 and "createdfromcode" in immutable.json()["error"]["message"]


def test_a_create_only_upsert_makes_a_list_once_and_refuses_the_second(emu: RunningEmulator,
                                                                      api: EmulatorSession) -> None:
    list_id = str(uuid.uuid4())
    url = emu.api_url + f"lists({list_id})"
    body = {"listname": "CampaignSync-leads-x", "type": False, "createdfromcode": 4}
    created = api.patch(url, json=body, headers={"If-None-Match": "*"})
    assert created.status_code == 204 and created.headers["OData-EntityId"] == url
    again = api.patch(url, json={**body, "listname": "changed"}, headers={"If-None-Match": "*"})
    assert again.status_code == 412 and again.json()["error"] == {
        "code": DUPLICATE_RECORD, "message": "A record with matching key values already exists."}
    named = _get(api, emu, "lists", **{"$select": "listname", "$filter": "listname eq 'CampaignSync-leads-x'"})
    assert [r["listid"] for r in named["value"]] == [list_id]  # one list, not updated by the refused upsert


# -- associations --------------------------------------------------------------------------------------------
def test_a_list_is_associated_once_and_can_be_undone(emu: RunningEmulator, api: EmulatorSession,
                                                     demo: dict[str, Any]) -> None:
    campaign = demo_record("campaigns", statuscode=1)["campaignid"]
    list_id = _static_list(api, emu)
    ref_url = emu.api_url + f"campaigns({campaign})/campaignlist_association/$ref"
    assert api.post(ref_url, json={"@odata.id": f"{emu.api_url}lists({list_id})"}).status_code == 204
    # Linking it again, by either form of reference, is refused as Dataverse refuses a duplicate link.
    for target in (f"{emu.api_url}lists({list_id})", f"lists({list_id})"):
        again = api.post(ref_url, json={"@odata.id": target})
        assert again.status_code == 412 and again.json()["error"] == {
            "code": DUPLICATE_RECORD, "message": "A record with matching key values already exists."}
    linked = _get(api, emu, f"campaigns({campaign})/campaignlist_association", **{"$select": "listname"})["value"]
    assert [r["listid"] for r in linked].count(list_id) == 1
    missing = str(uuid.uuid4())
    bad = api.post(ref_url, json={"@odata.id": f"{emu.api_url}lists({missing})"})
    assert bad.status_code == 404 and missing in bad.json()["error"]["message"]
    unlink = api.delete(emu.api_url + f"campaigns({campaign})/campaignlist_association({list_id})/$ref")
    assert unlink.status_code == 204
    assert list_id not in {r["listid"] for r in
                           _get(api, emu, f"campaigns({campaign})/campaignlist_association")["value"]}
    assert api.post(ref_url, json={"@odata.id": f"lists({list_id})"}).status_code == 204
    by_id = api.delete(ref_url, params={"$id": f"{emu.api_url}lists({list_id})"})
    assert by_id.status_code == 204
    assert _get(api, emu, f"campaigns({campaign})/campaignlist_association/$ref")["value"] == [
        {"@odata.id": f"{emu.api_url}lists({r['listid']})"} for r in demo["lists"] if any(
            c["campaignid"] == campaign and c["listid"] == r["listid"] for c in demo["campaignlists"])]


# -- marketing list membership -------------------------------------------------------------------------------
def test_add_and_remove_members(emu: RunningEmulator, api: EmulatorSession, demo: dict[str, Any]) -> None:
    list_id = _static_list(api, emu)
    leads = [r["leadid"] for r in demo["leads"][:6]]
    assert _add(api, emu, list_id, "lead", leads[:4]).status_code == 204
    assert _add(api, emu, list_id, "lead", leads[2:6] + leads[2:3]).status_code == 204  # overlaps: no duplicates
    assert _members(api, emu, list_id) == set(leads) and _membercount(api, emu, list_id) == 6
    outsider = demo["leads"][10]["leadid"]
    assert _add(api, emu, list_id, "lead", [leads[0], outsider], "RemoveListMembersList").status_code == 204
    assert _members(api, emu, list_id) == set(leads[1:]) and _membercount(api, emu, list_id) == 5
    one = api.post(emu.api_url + f"lists({list_id})/Microsoft.Dynamics.CRM.AddMemberList",
                   json={"EntityId": outsider})
    assert one.status_code == 200 and one.json()["@odata.context"].endswith("AddMemberListResponse")
    again = api.post(emu.api_url + f"lists({list_id})/Microsoft.Dynamics.CRM.AddMemberList",
                     json={"EntityId": outsider})
    assert again.json()["Id"] == one.json()["Id"] and _membercount(api, emu, list_id) == 6
    assert api.delete(emu.api_url + f"listmembers({one.json()['Id']})").status_code == 204
    assert outsider not in _members(api, emu, list_id) and _membercount(api, emu, list_id) == 5
    assert api.delete(emu.api_url + f"listmembers({one.json()['Id']})").status_code == 404
    member_lists = _get(api, emu, f"leads({leads[1]})/listlead_association", **{"$select": "listname"})["value"]
    assert list_id in {r["listid"] for r in member_lists}


def test_member_violations_name_the_offender_and_change_nothing(emu: RunningEmulator, api: EmulatorSession,
                                                               demo: dict[str, Any]) -> None:
    list_id = _static_list(api, emu)
    leads = [r["leadid"] for r in demo["leads"][:3]]
    assert _add(api, emu, list_id, "lead", leads[:1]).status_code == 204
    contact = demo["contacts"][0]["contactid"]
    mismatch = api.post(emu.api_url + "AddListMembersList", json={
        "List": {"@odata.type": "Microsoft.Dynamics.CRM.list", "listid": list_id},
        "Members": _refs("lead", leads[1:]) + _refs("contact", [contact])})
    assert mismatch.status_code == 400 and contact in mismatch.json()["error"]["message"]
    ghost = str(uuid.uuid4())
    missing = _add(api, emu, list_id, "lead", [leads[1], ghost, leads[2]])
    assert missing.status_code == 404
    assert missing.json()["error"] == {"code": "0x80040217", "message": f"lead With Id = {ghost} Does Not Exist"}
    assert _members(api, emu, list_id) == {leads[0]} and _membercount(api, emu, list_id) == 1  # atomic
    unknown_list = str(uuid.uuid4())
    nolist = _add(api, emu, unknown_list, "lead", leads)
    assert nolist.status_code == 404 and unknown_list in nolist.json()["error"]["message"]


@pytest.mark.parametrize(("state", "fragment"), [
    ({"lockstatus": True}, "is locked"),
    ({"type": True}, "is a dynamic marketing list"),
    ({"statecode": 1, "statuscode": 1}, "is inactive"),
])
def test_locked_dynamic_and_inactive_lists_refuse_member_changes(emu: RunningEmulator, api: EmulatorSession,
                                                                 demo: dict[str, Any], state: dict[str, Any],
                                                                 fragment: str) -> None:
    lead = demo["leads"][0]["leadid"]
    list_id = _static_list(api, emu)
    assert _add(api, emu, list_id, "lead", [lead]).status_code == 204
    assert api.patch(emu.api_url + f"lists({list_id})", json=state).status_code == 204
    for action in ("AddListMembersList", "RemoveListMembersList"):
        refused = _add(api, emu, list_id, "lead", [demo["leads"][1]["leadid"]], action)
        assert refused.status_code == 400 and fragment in refused.json()["error"]["message"]
        assert list_id in refused.json()["error"]["message"]
    one = api.post(emu.api_url + f"lists({list_id})/Microsoft.Dynamics.CRM.AddMemberList", json={"EntityId": lead})
    assert one.status_code == 400
    assert _members(api, emu, list_id) == {lead}
    if "statecode" in state:
        rename = api.patch(emu.api_url + f"lists({list_id})", json={"listname": "renamed"})
        assert rename.status_code == 400 and "inactive" in rename.json()["error"]["message"]


def test_contact_lists_take_contacts(emu: RunningEmulator, api: EmulatorSession, demo: dict[str, Any]) -> None:
    list_id = _static_list(api, emu, code=2)
    contacts = [c["contactid"] for c in demo["contacts"][:3]]
    assert _add(api, emu, list_id, "contact", contacts).status_code == 204
    wrong = _add(api, emu, list_id, "lead", [demo["leads"][0]["leadid"]])
    assert wrong.status_code == 400 and demo["leads"][0]["leadid"] in wrong.json()["error"]["message"]
    rows = _get(api, emu, f"lists({list_id})/listcontact_association", **{"$select": "fullname"})["value"]
    assert {r["contactid"] for r in rows} == set(contacts)
    assert api.delete(emu.api_url + f"contacts({contacts[0]})").status_code == 204  # cascades to the list
    assert _membercount(api, emu, list_id) == 2


def test_ten_thousand_members_are_fast(emu: RunningEmulator, api: EmulatorSession) -> None:
    leads = [{"leadid": str(uuid.uuid4()), "firstname": "Bulk", "lastname": f"Lead {i}"} for i in range(10_000)]
    emu.seed({"leads": leads})
    list_id = _static_list(api, emu)
    ids = [lead["leadid"] for lead in leads]
    started = time.monotonic()
    for start in range(0, 10_000, 1000):
        assert _add(api, emu, list_id, "lead", ids[start:start + 1000]).status_code == 204
    added = time.monotonic() - started
    started = time.monotonic()
    url: str | None = emu.api_url + f"listmembers?$select=_entityid_value&$filter=_listid_value eq {list_id}"
    seen: list[str] = []
    pages = 0
    while url:
        body = api.get(url, headers={"Prefer": "odata.maxpagesize=5000"}).json()
        seen += [r["_entityid_value"] for r in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
    read = time.monotonic() - started
    assert pages == 2 and len(set(seen)) == 10_000 and _membercount(api, emu, list_id) == 10_000
    counted = _get(api, emu, "listmembers", **{"$filter": f"_listid_value eq {list_id}", "$count": "true",
                                               "$select": "listmemberid"})
    assert counted["@odata.count"] == 5000  # Dataverse caps @odata.count at 5,000
    print(f"added 10,000 members in {added:.2f}s, read them in {read:.2f}s")
    assert added < 5 and read < 3, (added, read)
