"""Seed documents: ``{"campaigns": [...], "leads": [...], "contacts": [...], "lists": [...], "listmembers": [...],
"campaignlists": [{"campaignid": ..., "listid": ...}]}`` with records as Web API JSON, keys included.

Loading upserts by key, so the same document can be applied twice. ``membercount`` is recomputed.
"""

from __future__ import annotations

import json
import uuid
from importlib import resources
from pathlib import Path
from typing import Any

from . import records
from .errors import ODataError
from .schema import CAMPAIGN, CONTACT, LEAD, LIST, MEMBER_ENTITIES, MEMBER_TYPE_NAMES
from .store import Store

SECTIONS = {"campaigns": CAMPAIGN, "leads": LEAD, "contacts": CONTACT, "lists": LIST}
KNOWN = {*SECTIONS, "listmembers", "campaignlists"}


def default_seed() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath("default_seed.json").read_text(encoding="utf-8"))


def read_seed_file(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _guid(value: Any, where: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValueError(f"{where}: '{value}' is not a GUID") from None


def load_seed(store: Store, doc: Any) -> dict[str, int]:
    """Apply a seed document in one transaction; return how many records of each kind it held."""
    if not isinstance(doc, dict):
        raise ValueError("a seed document must be a JSON object")
    unknown = set(doc) - KNOWN
    if unknown:
        raise ValueError(f"unknown seed section(s): {', '.join(sorted(unknown))}; expected {', '.join(sorted(KNOWN))}")
    counts: dict[str, int] = {}
    touched_lists: set[str] = set()
    with store.transaction():
        for section, entity in SECTIONS.items():
            items = doc.get(section) or []
            for index, item in enumerate(items):
                if not isinstance(item, dict) or entity.primary_key not in item:
                    raise ValueError(f"{section}[{index}] needs its key '{entity.primary_key}'")
                try:
                    row = records.create(store, entity, item, system=True)
                except ODataError as err:
                    raise ValueError(f"{section}[{index}]: {err.message}") from None
                if entity is LIST:
                    touched_lists.add(row["listid"])
            counts[section] = len(items)
        members = doc.get("listmembers") or []
        for index, item in enumerate(members):
            where = f"listmembers[{index}]"
            list_id = _guid(item.get("_listid_value", item.get("listid")), where)
            entity_id = _guid(item.get("_entityid_value", item.get("entityid")), where)
            list_row = store.get(LIST, list_id)
            if list_row is None:
                raise ValueError(f"{where}: list {list_id} does not exist")
            kind = item.get("entitytype") or MEMBER_TYPE_NAMES.get(list_row["createdfromcode"])
            if kind != MEMBER_TYPE_NAMES.get(list_row["createdfromcode"]):
                raise ValueError(f"{where}: list {list_id} holds {MEMBER_TYPE_NAMES.get(list_row['createdfromcode'])} "
                                 f"records, not {kind}")
            if kind not in MEMBER_ENTITIES or store.get(MEMBER_ENTITIES[kind], entity_id) is None:
                raise ValueError(f"{where}: {kind} {entity_id} does not exist")
            member_id = _guid(item.get("listmemberid") or uuid.uuid4(), where)
            stamp = records.now_iso()
            store.execute('DELETE FROM "listmember" WHERE "_listid_value" = ? AND "_entityid_value" = ?',
                          (list_id, entity_id))
            store.execute(
                'INSERT OR REPLACE INTO "listmember" ("listmemberid", "_listid_value", "_entityid_value", '
                '"entitytype", "createdon", "modifiedon", "versionnumber") VALUES (?, ?, ?, ?, ?, ?, ?)',
                (member_id, list_id, entity_id, kind, item.get("createdon") or stamp, stamp, store.next_version()))
            touched_lists.add(list_id)
        counts["listmembers"] = len(members)
        links = doc.get("campaignlists") or []
        for index, item in enumerate(links):
            where = f"campaignlists[{index}]"
            campaign_id = _guid(item.get("campaignid"), where)
            list_id = _guid(item.get("listid"), where)
            if store.get(CAMPAIGN, campaign_id) is None:
                raise ValueError(f"{where}: campaign {campaign_id} does not exist")
            if store.get(LIST, list_id) is None:
                raise ValueError(f"{where}: list {list_id} does not exist")
            store.execute("INSERT OR IGNORE INTO campaignitem (campaignid, listid) VALUES (?, ?)",
                          (campaign_id, list_id))
        counts["campaignlists"] = len(links)
        for list_id in touched_lists:
            records.refresh_membercount(store, list_id)
    return counts
