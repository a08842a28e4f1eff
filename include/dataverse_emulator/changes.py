"""Change tracking: ``Prefer: odata.track-changes`` and delta links, as Dataverse documents them.

A tracked read (``GET <set>?$select=...`` with ``Prefer: odata.track-changes``) answers every record, paged as
usual, and puts ``@odata.deltaLink`` on its last page: the same URL with a ``$deltatoken``. A GET of that link
answers the records created or changed since the token, in full (the selected columns), and the records deleted
since, as ``{"@odata.context": "<service>/$metadata#<set>/$deletedEntity", "id": "<key>", "reason":
"deleted"}``, then a new delta link on its last page. Both contexts end in ``/$delta``.

Every record carries the store's global ``versionnumber`` (raised on each create and update), and a deletion
leaves a tombstone with the version it happened at, so "changed since token T" is ``versionnumber > T``. A delta
read fixes its upper bound at its first page (carried in the paging cookie), so later pages neither repeat nor
lose a change: a record changed again meanwhile is answered by the next delta read. Tokens look like Dataverse's
(``<version>!<UTC time>``); a token from before ``/_emulator/reset`` is refused, because the records it was
taken against are gone.

Only ``$select`` goes with change tracking here (the reader never asks for more): ``$filter``, ``$orderby``,
``$top`` and ``$count`` with ``odata.track-changes`` or a delta token are refused with 400.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from .errors import ODataError, bad_request
from .httputil import Headers, Request, Response, json_response, parse_prefer
from .records import serialize
from .schema import EntityDef
from .store import Store, q

TRACK_CHANGES = "odata.track-changes"
DELTA_TOKEN = "$deltatoken"
#: Dataverse's code for a delta token it cannot use any more (the client starts over with a full read).
EXPIRED_TOKEN = "0x80044352"
_ONLY_SELECT = ("$filter", "$orderby", "$top", "$count")
_TOKEN = re.compile(r"^(\d+)!")
_COOKIE = re.compile(r'^<delta upto="(\d+)" kind="(\d)" last="([0-9a-f-]*)" />$')


def is_tracked(request: Request) -> bool:
    """Whether a collection GET is a tracked read or a delta read."""
    return TRACK_CHANGES in parse_prefer(request.headers.get("Prefer")) or _param(request, DELTA_TOKEN) is not None


def _param(request: Request, name: str) -> str | None:
    return next((value for key, value, _raw in request.query_params() if key.lower() == name), None)


def _token(version: int) -> str:
    return f"{version}!{datetime.now(UTC):%m/%d/%Y %H:%M:%S}"


def _read_token(store: Store, text: str) -> int:
    match = _TOKEN.match(text)
    if not match:
        raise bad_request(f"The delta token '{text}' is not valid.")
    version = int(match.group(1))
    if version < int(store.scalar("SELECT value FROM emulator_meta WHERE key = 'tokens_valid_from'") or 0):
        raise ODataError(400, EXPIRED_TOKEN, "The delta token has expired or is no longer valid. Retrieve all "
                                             "records again with Prefer: odata.track-changes.")
    return version


def _read_cookie(text: str) -> tuple[int, int, str]:
    match = _COOKIE.match(text)
    if not match:
        raise bad_request("The $skiptoken value is not a valid paging cookie.")
    return int(match.group(1)), int(match.group(2)), match.group(3)


def run_tracked_query(store: Store, entity: EntityDef, request: Request, *, base_url: str, resource: str,
                      select: list[str] | None, page_size: int) -> Response:
    """Answer a tracked read or a delta read of ``entity`` (``select`` already checked against it)."""
    for name in _ONLY_SELECT:
        if _param(request, name) is not None:
            raise bad_request(f"The query option '{name}' is not supported with change tracking.")
    since_text = _param(request, DELTA_TOKEN)
    since = _read_token(store, since_text) if since_text is not None else None
    cookie = _param(request, "$skiptoken")
    with store.lock:
        upto, kind, last = _read_cookie(cookie) if cookie else (store.current_version, 0, "")
        rows, deleted = _page(store, entity, since, upto, kind, last, page_size)
    more = len(rows) + len(deleted) > page_size
    rows, deleted = rows[:page_size], deleted[:max(0, page_size - len(rows))]
    columns = "(" + ",".join(select) + ")" if select else ""
    payload: dict[str, Any] = {"@odata.context": f"{base_url}$metadata#{entity.entity_set}{columns}/$delta"}
    payload["value"] = [serialize(entity, row, select) for row in rows] + [
        {"@odata.context": f"{base_url}$metadata#{entity.entity_set}/$deletedEntity", "id": record_id,
         "reason": "deleted"} for record_id in deleted]
    kept = [raw for key, _value, raw in request.query_params() if key.lower() not in ("$skiptoken", DELTA_TOKEN)]
    link = f"{base_url}{quote(resource, safe='/()=,')}?"
    if more:
        next_kind, next_last = (1, deleted[-1]) if deleted else (0, rows[-1][entity.primary_key])
        state = f'<delta upto="{upto}" kind="{next_kind}" last="{next_last}" />'
        extra = [f"{DELTA_TOKEN}={quote(since_text, safe='')}"] if since_text is not None else []
        payload["@odata.nextLink"] = link + "&".join([*kept, *extra, "$skiptoken=" + quote(state, safe="")])
    else:
        payload["@odata.deltaLink"] = link + "&".join([*kept, f"{DELTA_TOKEN}={quote(_token(upto), safe='')}"])
    headers = Headers({"Preference-Applied": ",".join(
        [f"odata.maxpagesize={page_size}"] + ([TRACK_CHANGES] if since is None else []))})
    return json_response(200, payload, headers)


def _page(store: Store, entity: EntityDef, since: int | None, upto: int, kind: int, last: str,
          page_size: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Up to ``page_size + 1`` items after ``(kind, last)``: changed records (kind 0, by key), then deletions
    (kind 1, by id), all with a version in ``(since, upto]`` (a first read: every record, no deletions)."""
    pk = q(entity.primary_key)
    rows: list[dict[str, Any]] = []
    if kind == 0:
        where, params = ["versionnumber <= ?"], [upto]
        if since is not None:
            where.append("versionnumber > ?")
            params.append(since)
        if last:
            where.append(f"{pk} > ?")
            params.append(last)
        rows = store.select(entity, where=" AND ".join(where), params=params, order=f"{pk} ASC",
                            limit=page_size + 1)
    if since is None or len(rows) > page_size:
        return rows, []
    after = last if kind == 1 else ""
    deleted = store.query('SELECT id FROM "deletedrecord" WHERE entity = ? AND versionnumber > ? AND '
                          "versionnumber <= ? AND id > ? ORDER BY id LIMIT ?",
                          (entity.logical_name, since, upto, after, page_size + 1 - len(rows)))
    return rows, [row["id"] for row in deleted]
