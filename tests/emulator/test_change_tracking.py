"""Change tracking over HTTPS: a tracked read ends in a delta link; the link answers what changed and what was
deleted since, paged, with a new link; table metadata names the columns and their types."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from dataverse_emulator.testing import EmulatorSession, RunningEmulator

TRACK = {"Prefer": "odata.track-changes"}


def _lead(i: int, **values: Any) -> dict[str, Any]:
    return {"leadid": str(uuid.UUID(int=i)), "lastname": f"Lead {i}", "jobtitle": "Engineer", **values}


def _follow(api: EmulatorSession, url: str, headers: dict[str, str], params: dict[str, str] | None = None
            ) -> tuple[list[dict[str, Any]], str, int]:
    """Every item of a tracked read or delta read, its delta link and the pages it took."""
    items, pages = [], 0
    response = api.get(url, params=params, headers=headers)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        assert body["@odata.context"].endswith("/$delta")
        items.extend(body["value"])
        if "@odata.nextLink" in body:
            assert "@odata.deltaLink" not in body
            response = api.get(body["@odata.nextLink"], headers=headers)
            continue
        return items, body["@odata.deltaLink"], pages


@pytest.fixture
def leads(emu: RunningEmulator) -> list[dict[str, Any]]:
    records = [_lead(i) for i in range(1, 8)]
    emu.reset({"leads": records})
    return records


def test_tracked_read_pages_every_record_and_ends_with_a_delta_link(emu: RunningEmulator, api: EmulatorSession,
                                                                    leads: list[dict[str, Any]]) -> None:
    items, link, pages = _follow(api, emu.api_url + "leads", {**TRACK, "Prefer": "odata.track-changes,"
                                                              "odata.maxpagesize=3"}, {"$select": "jobtitle"})
    assert pages == 3
    assert sorted(i["leadid"] for i in items) == sorted(r["leadid"] for r in leads)
    assert set(items[0]) == {"@odata.etag", "jobtitle", "leadid"}
    assert link.startswith(emu.api_url + "leads?") and "select=jobtitle&$deltatoken=" in link

    again, _, _ = _follow(api, link, {})
    assert again == []  # nothing changed since


def test_delta_link_answers_changes_creations_and_deletions_then_a_new_link(
        emu: RunningEmulator, api: EmulatorSession, leads: list[dict[str, Any]]) -> None:
    _, link, _ = _follow(api, emu.api_url + "leads", TRACK, {"$select": "jobtitle,lastname"})
    changed, deleted, created = leads[1]["leadid"], leads[2]["leadid"], str(uuid.UUID(int=99))
    assert api.patch(emu.api_url + f"leads({changed})", json={"jobtitle": "CTO"}).status_code == 204
    assert api.delete(emu.api_url + f"leads({deleted})").status_code == 204
    assert api.post(emu.api_url + "leads", json={"leadid": created, "lastname": "New"}).status_code == 204

    items, next_link, _ = _follow(api, link, {"Prefer": "odata.maxpagesize=1"})
    records = {i["leadid"]: i for i in items if "reason" not in i}
    assert records[changed]["jobtitle"] == "CTO" and records[created]["lastname"] == "New"
    assert set(records[changed]) == {"@odata.etag", "jobtitle", "lastname", "leadid"}
    assert [i for i in items if "reason" in i] == [{
        "@odata.context": emu.api_url + "$metadata#leads/$deletedEntity", "id": deleted, "reason": "deleted"}]
    assert next_link != link

    assert _follow(api, next_link, {})[0] == []
    replay, _, _ = _follow(api, link, {})  # an old link still answers everything since its own token
    assert len(replay) == 3


def test_a_record_deleted_and_created_again_is_a_change(emu: RunningEmulator, api: EmulatorSession,
                                                        leads: list[dict[str, Any]]) -> None:
    _, link, _ = _follow(api, emu.api_url + "leads", TRACK, {"$select": "lastname"})
    again = leads[0]["leadid"]
    api.delete(emu.api_url + f"leads({again})")
    assert api.patch(emu.api_url + f"leads({again})", json={"lastname": "Back"}).status_code == 204
    items, _, _ = _follow(api, link, {})
    assert items == [{"@odata.etag": items[0]["@odata.etag"], "lastname": "Back", "leadid": again}]


def test_only_select_goes_with_change_tracking(emu: RunningEmulator, api: EmulatorSession,
                                                leads: list[dict[str, Any]]) -> None:
    response = api.get(emu.api_url + "leads", params={"$filter": "jobtitle eq 'x'"}, headers=TRACK)
    assert response.status_code == 400
    assert "'$filter' is not supported with change tracking" in response.json()["error"]["message"]


def test_a_token_from_before_a_reset_is_refused(emu: RunningEmulator, api: EmulatorSession,
                                                leads: list[dict[str, Any]]) -> None:
    _, link, _ = _follow(api, emu.api_url + "leads", TRACK, {"$select": "lastname"})
    emu.reset({"leads": leads})
    response = api.get(link)
    assert response.status_code == 400 and response.json()["error"]["code"] == "0x80044352"


def test_attribute_metadata_names_columns_and_types(emu: RunningEmulator, api: EmulatorSession) -> None:
    response = api.get(emu.api_url + "EntityDefinitions(LogicalName='lead')/Attributes",
                       params={"$select": "LogicalName,AttributeType"})
    assert response.status_code == 200, response.text
    types = {a["LogicalName"]: a["AttributeType"] for a in response.json()["value"]}
    assert types["jobtitle"] == "String" and types["numberofemployees"] == "Integer"
    assert types["industrycode"] == "Picklist" and types["ownerid"] == "Owner" and types["createdon"] == "DateTime"
    assert types["statecode"] == "State" and types["leadid"] == "Uniqueidentifier"
    assert api.get(emu.api_url + "EntityDefinitions(LogicalName='nosuch')/Attributes").status_code == 404
