"""Reading whole tables of people: filtered reads, and change tracking with delta links.

A tracked read (``Prefer: odata.track-changes``) answers every record and, on its last page, a delta link; a
read of that link later answers only what was created, changed or deleted since, and a new link. Deleted
records come as ``{"@odata.context": "...$deletedEntity", "id": ..., "reason": "deleted"}``. Dataverse takes
only ``$select`` with change tracking, so filtering happens on the reader's side for these reads.

Also here: the column types of a table (its attribute metadata), which say what a ``$filter`` may compare.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dynamics_campaign_sync.dataverse.errors import DataverseError, HttpError
from dynamics_campaign_sync.dataverse.odata import iter_bodies, page_size_header, string_literal

if TYPE_CHECKING:
    from dynamics_campaign_sync.dataverse.transport import Transport

TRACK_CHANGES = "odata.track-changes"
DELETED_ENTITY = "/$deletedEntity"
#: Dataverse's error code for a delta token it no longer honours: read everything again.
EXPIRED_DELTA_TOKEN = "0x80044352"
#: Attribute types whose Web API property is ``_<name>_value``.
LOOKUP_TYPES = frozenset({"Lookup", "Owner", "Customer"})


@dataclass
class Changes:
    """What a tracked read or a delta read answered: records (whole, the selected columns), deleted ids, the
    link for the next read, and how many pages it took."""

    records: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    delta_link: str = ""
    pages: int = 0


class DeltaLinkExpiredError(DataverseError):
    """Dataverse no longer honours a delta link: the caller reads everything again."""


def is_expired_delta(error: HttpError) -> bool:
    return error.status == 410 or (error.status == 400 and (error.code or "").lower() == EXPIRED_DELTA_TOKEN)


def attribute_types(transport: Transport, logical_name: str) -> dict[str, str]:
    """The table's Web API properties and their attribute types (``jobtitle: String``, ``_ownerid_value:
    Owner`` ...), from ``EntityDefinitions(LogicalName=...)/Attributes``: one request."""
    body = transport.get_json(f"EntityDefinitions(LogicalName={string_literal(logical_name)})/Attributes",
                              params={"$select": "LogicalName,AttributeType"})
    types = {}
    for attribute in body.get("value", []):
        name, kind = attribute["LogicalName"], attribute.get("AttributeType") or ""
        types[f"_{name}_value" if kind in LOOKUP_TYPES else name] = kind
    return types


def _collect(bodies: Iterator[dict[str, Any]]) -> Changes:
    changes = Changes()
    for body in bodies:
        changes.pages += 1
        for item in body.get("value", []):
            if str(item.get("@odata.context", "")).endswith(DELETED_ENTITY):
                changes.deleted.append(str(item["id"]).lower())
            else:
                changes.records.append(item)
        changes.delta_link = body.get("@odata.deltaLink", changes.delta_link)
    if not changes.delta_link:
        raise DataverseError("a tracked read ended without @odata.deltaLink: is change tracking enabled for the "
                             "table? (Advanced options > Track changes)")
    return changes


def read_tracked(transport: Transport, entity_set: str, select: list[str], page_size: int) -> Changes:
    """Every record of ``entity_set`` with the ``select`` columns, and the delta link for the next read."""
    headers = page_size_header(page_size, TRACK_CHANGES)
    return _collect(iter_bodies(transport, entity_set, params={"$select": ",".join(select)}, headers=headers))


def read_delta(transport: Transport, delta_link: str, page_size: int) -> Changes:
    """What changed since ``delta_link`` was handed out; :class:`DeltaLinkExpiredError` when it is void."""
    try:
        return _collect(iter_bodies(transport, delta_link, headers=page_size_header(page_size)))
    except HttpError as error:
        if is_expired_delta(error):
            raise DeltaLinkExpiredError(f"the delta link is no longer valid (HTTP {error.status})") from error
        raise


def read_filtered(transport: Transport, entity_set: str, select: list[str], odata_filter: str | None,
                  page_size: int) -> Changes:
    """The records matching ``odata_filter`` (all without one), paged; no delta link."""
    params = {"$select": ",".join(select)}
    if odata_filter:
        params["$filter"] = odata_filter
    changes = Changes()
    for body in iter_bodies(transport, entity_set, params=params, headers=page_size_header(page_size)):
        changes.pages += 1
        changes.records.extend(body.get("value", []))
    return changes
