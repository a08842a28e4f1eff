"""Marketing-list membership and campaign associations, with the rules Dynamics enforces.

The list must exist (404), be active, static and unlocked (400 otherwise); every member must be of the list's
member type (``createdfromcode``) and exist (404). Adding an existing member creates no duplicate and removing a
non-member does nothing. Each call validates everything before it changes anything, so one bad member fails the
whole request and leaves the list untouched, as a single Dataverse request does.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from .errors import bad_request, duplicate_record, invalid_argument, not_found, not_implemented
from .records import now_iso, parse_guid, refresh_membercount
from .schema import BY_SET, CAMPAIGN, LIST, MEMBER_ENTITIES, MEMBER_TYPE_CODES, MEMBER_TYPE_NAMES, EntityDef
from .store import Store

_ENTITY_REF = re.compile(r"(?:^|/)([A-Za-z_]\w*)\(([^()]+)\)/?$")


def parse_entity_ref(url: Any) -> tuple[EntityDef, str]:
    """``<base>/lists(<id>)``, ``/api/data/v9.2/lists(<id>)`` or ``lists(<id>)`` -> (table, id)."""
    if not isinstance(url, str):
        raise bad_request("The '@odata.id' value must be a string URL of the related record.")
    match = _ENTITY_REF.search(url.split("?", 1)[0])
    entity = BY_SET.get(match.group(1)) if match else None
    if not match or entity is None:
        raise bad_request(f"The URL '{url}' does not identify a record.")
    key = match.group(2)
    if "=" in key:
        key = key.split("=", 1)[1]
    return entity, parse_guid(key.strip("'"))


def writable_list(store: Store, list_id: str) -> dict[str, Any]:
    """The list row if members may be added or removed; the Dynamics error otherwise."""
    row = store.get(LIST, list_id)
    if row is None:
        raise not_found("list", list_id)
    if row["statecode"] == 1:
        raise invalid_argument(f"The list with Id = {list_id} is inactive. Inactive marketing lists are read-only: "
                               "members cannot be added or removed.")
    if row["type"]:
        raise invalid_argument(f"The list with Id = {list_id} is a dynamic marketing list. Members can only be added "
                               "to or removed from static lists.")
    if row["lockstatus"]:
        raise invalid_argument(f"The list with Id = {list_id} is locked. Unlock it before adding or removing "
                               "members.")
    return row


def _member_entity(list_row: dict[str, Any]) -> EntityDef:
    name = MEMBER_TYPE_NAMES.get(list_row["createdfromcode"])
    if name not in MEMBER_ENTITIES:
        raise not_implemented(f"Marketing lists of {name or 'unknown'} records")
    return MEMBER_ENTITIES[name]


def _member_refs(list_row: dict[str, Any], members: Any) -> list[str]:
    """Validate ``Members`` entity references against the list's member type; return the ids in order."""
    if not isinstance(members, list):
        raise bad_request("The 'Members' parameter must be an array of entity references.")
    expected = MEMBER_TYPE_NAMES.get(list_row["createdfromcode"])
    ids: list[str] = []
    for ref in members:
        if not isinstance(ref, dict):
            raise bad_request("Each item of 'Members' must be an entity reference object.")
        odata_type = str(ref.get("@odata.type", "")).removeprefix("#").removeprefix("Microsoft.Dynamics.CRM.")
        keyed = [name for name in MEMBER_TYPE_CODES if f"{name}id" in ref]
        kind = odata_type or (keyed[0] if keyed else "")
        raw_id = ref.get(f"{kind}id") if kind else None
        if raw_id is None:
            raw_id = next((ref[f"{n}id"] for n in keyed), None)
        if raw_id is None:
            raise bad_request("Each member needs '@odata.type' and its key, e.g. "
                              '{"@odata.type": "Microsoft.Dynamics.CRM.lead", "leadid": "..."}.')
        member_id = parse_guid(raw_id)
        if kind != expected:
            raise invalid_argument(
                f"The member with Id = {member_id} is a {kind or 'record of unknown type'}, but the list with "
                f"Id = {list_row['listid']} holds {expected} records (createdfromcode "
                f"{list_row['createdfromcode']}).")
        ids.append(member_id)
    return list(dict.fromkeys(ids))


def _require_members(store: Store, member_entity: EntityDef, ids: list[str]) -> None:
    found = store.existing_ids(member_entity, ids)
    for member_id in ids:
        if member_id not in found:
            raise not_found(member_entity.logical_name, member_id)


def add_members(store: Store, list_row: dict[str, Any], ids: list[str]) -> dict[str, str]:
    """Insert the missing memberships; return ``{entity id: listmember id}`` for all of ``ids``."""
    list_id = list_row["listid"]
    kind = MEMBER_TYPE_NAMES[list_row["createdfromcode"]]
    existing = _membership_ids(store, list_id, ids)
    stamp = now_iso()
    new_rows = []
    for member_id in ids:
        if member_id not in existing:
            existing[member_id] = str(uuid.uuid4())
            new_rows.append((existing[member_id], list_id, member_id, kind, stamp, stamp, store.next_version()))
    if new_rows:
        store.executemany(
            'INSERT INTO "listmember" ("listmemberid", "_listid_value", "_entityid_value", "entitytype", '
            '"createdon", "modifiedon", "versionnumber") VALUES (?, ?, ?, ?, ?, ?, ?)', new_rows)
        refresh_membercount(store, list_id)
    return existing


def remove_members(store: Store, list_id: str, ids: list[str]) -> None:
    removed = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        removed += store.execute(
            f'DELETE FROM "listmember" WHERE "_listid_value" = ? AND "_entityid_value" IN '
            f'({",".join("?" * len(chunk))})', [list_id, *chunk])
    if removed:
        refresh_membercount(store, list_id)


def _membership_ids(store: Store, list_id: str, ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for row in store.query(
                f'SELECT "_entityid_value", "listmemberid" FROM "listmember" WHERE "_listid_value" = ? AND '
                f'"_entityid_value" IN ({",".join("?" * len(chunk))})', [list_id, *chunk]):
            found[row["_entityid_value"]] = row["listmemberid"]
    return found


def _list_param(body: Any) -> str:
    if not isinstance(body, dict) or not isinstance(body.get("List"), dict):
        raise bad_request("The 'List' parameter is required: "
                          '{"List": {"@odata.type": "Microsoft.Dynamics.CRM.list", "listid": "..."}}.')
    if "listid" not in body["List"]:
        raise bad_request("The 'List' parameter must carry 'listid'.")
    return parse_guid(body["List"]["listid"])


def _checked_members(store: Store, list_id: str,
                     members: Callable[[dict[str, Any]], list[str]]) -> tuple[dict[str, Any], list[str]]:
    """The list, if its members may change (:func:`writable_list`), and the ids ``members`` names for it, each an
    existing record of the list's member type (404 otherwise)."""
    list_row = writable_list(store, list_id)
    ids = members(list_row)
    _require_members(store, _member_entity(list_row), ids)
    return list_row, ids


def list_members_list(store: Store, body: Any, *, add: bool) -> None:
    """``POST AddListMembersList`` (all members or none) or ``RemoveListMembersList`` (removing a non-member is a
    no-op); unknown records are 404 either way."""
    list_id = _list_param(body)
    with store.transaction():
        list_row, ids = _checked_members(store, list_id, lambda row: _member_refs(row, body.get("Members")))
        if add:
            add_members(store, list_row, ids)
        else:
            remove_members(store, list_id, ids)


def _entity_id_param(body: Any) -> str:
    if not isinstance(body, dict) or "EntityId" not in body:
        raise bad_request("The 'EntityId' parameter is required.")
    return parse_guid(body["EntityId"])


def add_member_list(store: Store, list_id: str, body: Any) -> str:
    """Bound ``Microsoft.Dynamics.CRM.AddMemberList``: returns the listmember id (existing one if already in)."""
    member_id = _entity_id_param(body)
    with store.transaction():
        list_row, ids = _checked_members(store, list_id, lambda _row: [member_id])
        return add_members(store, list_row, ids)[member_id]


def remove_member_list(store: Store, list_id: str, body: Any) -> None:
    member_id = _entity_id_param(body)
    with store.transaction():
        _checked_members(store, list_id, lambda _row: [member_id])
        remove_members(store, list_id, [member_id])


def delete_listmember(store: Store, listmember_id: str) -> None:
    """``DELETE listmembers(<id>)``."""
    with store.transaction():
        rows = store.query('SELECT "_listid_value" FROM "listmember" WHERE "listmemberid" = ?', (listmember_id,))
        if not rows:
            raise not_found("listmember", listmember_id)
        list_id = rows[0]["_listid_value"]
        writable_list(store, list_id)
        store.execute('DELETE FROM "listmember" WHERE "listmemberid" = ?', (listmember_id,))
        refresh_membercount(store, list_id)


# -- N:N associations ---------------------------------------------------------------------------------------
def associate(store: Store, source: EntityDef, source_id: str, nav_name: str, target: EntityDef,
              target_id: str) -> None:
    """``POST <set>(<id>)/<nav>/$ref``. Linking a campaign and a list that are linked already is refused as
    Dataverse refuses it (412, duplicate record); a list member added again stays one member, as with
    ``AddMemberList``."""
    nav = source.navigations[nav_name]
    if target.logical_name != nav.target:
        raise bad_request(f"The navigation property '{nav_name}' relates {source.logical_name} to {nav.target}, "
                          f"not to {target.logical_name}.")
    with store.transaction():
        if store.get(source, source_id) is None:
            raise not_found(source.logical_name, source_id)
        if store.get(target, target_id) is None:
            raise not_found(target.logical_name, target_id)
        if nav.kind == "campaignitem":
            campaign_id, list_id = (source_id, target_id) if source is CAMPAIGN else (target_id, source_id)
            if store.query("SELECT 1 FROM campaignitem WHERE campaignid = ? AND listid = ?", (campaign_id, list_id)):
                raise duplicate_record()
            store.execute("INSERT INTO campaignitem (campaignid, listid) VALUES (?, ?)", (campaign_id, list_id))
        else:  # list <-> lead/contact: the same as AddMemberList
            list_id, member_id = (source_id, target_id) if source is LIST else (target_id, source_id)
            list_row = writable_list(store, list_id)
            if MEMBER_TYPE_NAMES.get(list_row["createdfromcode"]) != nav.member_type:
                raise invalid_argument(f"The member with Id = {member_id} is a {nav.member_type}, but the list "
                                       f"with Id = {list_id} holds "
                                       f"{MEMBER_TYPE_NAMES.get(list_row['createdfromcode'])} records.")
            add_members(store, list_row, [member_id])


def disassociate(store: Store, source: EntityDef, source_id: str, nav_name: str, target_id: str) -> None:
    """``DELETE <set>(<id>)/<nav>(<id>)/$ref``; removing a link that is not there is a no-op."""
    nav = source.navigations[nav_name]
    with store.transaction():
        if store.get(source, source_id) is None:
            raise not_found(source.logical_name, source_id)
        if nav.kind == "campaignitem":
            campaign_id, list_id = (source_id, target_id) if source is CAMPAIGN else (target_id, source_id)
            store.execute("DELETE FROM campaignitem WHERE campaignid = ? AND listid = ?", (campaign_id, list_id))
        else:
            list_id, member_id = (source_id, target_id) if source is LIST else (target_id, source_id)
            writable_list(store, list_id)
            remove_members(store, list_id, [member_id])


def related_ids_sql(nav_kind: str, source: EntityDef, member_type: str | None) -> str:
    """SQL selecting the ids on the far side of a navigation property, for one source id (``?``)."""
    if nav_kind == "campaignitem":
        return ("SELECT listid FROM campaignitem WHERE campaignid = ?" if source is CAMPAIGN
                else "SELECT campaignid FROM campaignitem WHERE listid = ?")
    if source is LIST:
        return ('SELECT "_entityid_value" FROM "listmember" WHERE "_listid_value" = ? '
                f"AND entitytype = '{member_type}'")
    return ('SELECT "_listid_value" FROM "listmember" WHERE "_entityid_value" = ? '
            f"AND entitytype = '{member_type}'")
