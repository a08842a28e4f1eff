"""Collection reads: ``$select``, ``$filter``, ``$orderby``, ``$top``, ``$count`` and server-driven paging.

Paging follows Dataverse: ``Prefer: odata.maxpagesize`` (at most 5,000, the default) and an
``@odata.nextLink`` carrying a ``$skiptoken`` paging cookie. Without ``$orderby`` the cookie remembers the last
key, so records added or removed between pages do not shift later pages; with ``$orderby`` it holds the page
number. ``$skip`` is refused, and ``$top`` is ignored when a page size is requested, as documented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from . import changes
from .errors import bad_request, not_implemented
from .httputil import Headers, Request, Response, json_response, parse_prefer
from .odata_filter import CompiledFilter, compile_filter
from .records import serialize
from .schema import EntityDef
from .store import Store, q

MAX_PAGE_SIZE = 5000
MAX_COUNT = 5000  # @odata.count stops at 5,000 in Dataverse
_SUPPORTED = {"$select", "$filter", "$orderby", "$top", "$count", "$skiptoken", "$deltatoken"}
_UNSUPPORTED = {"$expand": "$expand", "$apply": "$apply (aggregation)", "fetchxml": "FetchXML queries",
                "savedquery": "Saved queries", "userquery": "User queries", "$search": "$search"}


@dataclass
class QueryOptions:
    select: list[str] | None = None
    filter: CompiledFilter | None = None
    orderby: list[tuple[str, bool]] = field(default_factory=list)  # (column, descending)
    top: int | None = None
    count: bool = False
    skiptoken: str | None = None


def parse_select(entity: EntityDef, text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if entity.column(name) is None:
            raise bad_request(f"Could not find a property named '{name}' on type '{entity.type_name}'.")
    return names


def parse_options(entity: EntityDef, request: Request, *, single: bool = False) -> QueryOptions:
    opts = QueryOptions()
    for name, value, _raw in request.query_params():
        lname = name.lower()
        if lname == "$skip":
            raise bad_request("The query parameter $skip is not supported")
        if lname in _UNSUPPORTED:
            raise not_implemented(_UNSUPPORTED[lname])
        if lname.startswith("$") and lname not in _SUPPORTED:
            raise bad_request(f"The query parameter '{name}' is not supported.")
        if lname == "$select":
            opts.select = parse_select(entity, value)
        elif single and lname != "$select" and lname.startswith("$"):
            raise bad_request(f"The query option '{name}' is not allowed when retrieving a single record.")
        elif lname == "$filter":
            opts.filter = compile_filter(value, entity)
        elif lname == "$orderby":
            opts.orderby = parse_orderby(entity, value)
        elif lname == "$top":
            if not re.fullmatch(r"\d+", value.strip()):
                raise bad_request(f"Invalid value '{value}' for $top query option found. The $top query option "
                                  "requires a non-negative integer value.")
            opts.top = int(value)
        elif lname == "$count":
            if value.lower() not in ("true", "false"):
                raise bad_request(f"'{value}' is not a valid count option.")
            opts.count = value.lower() == "true"
        elif lname == "$skiptoken":
            opts.skiptoken = value
    return opts


def parse_orderby(entity: EntityDef, text: str) -> list[tuple[str, bool]]:
    result = []
    for item in text.split(","):
        parts = item.split()
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
            raise bad_request(f"Syntax error in $orderby '{text}'.")
        if entity.column(parts[0]) is None:
            raise bad_request(f"Could not find a property named '{parts[0]}' on type '{entity.type_name}'.")
        result.append((parts[0], len(parts) == 2 and parts[1].lower() == "desc"))
    return result


def _annotations(request: Request) -> list[str]:
    raw = parse_prefer(request.headers.get("Prefer")).get("odata.include-annotations", "")
    return [a.strip() for a in raw.split(",") if a.strip()]


def _wants(request: Request, name: str) -> bool:
    namespace = name.rsplit(".", 1)[0] + ".*"
    return any(a in ("*", name, namespace) for a in _annotations(request))


def wants_formatted(request: Request) -> bool:
    return _wants(request, "OData.Community.Display.V1.FormattedValue")


def page_size(request: Request) -> int | None:
    raw = parse_prefer(request.headers.get("Prefer")).get("odata.maxpagesize")
    if raw is None:
        return None
    try:
        size = int(raw)
    except ValueError:
        return None
    return min(size, MAX_PAGE_SIZE) if size > 0 else None


def _cookie(page: int, pk: str, first: str, last: str) -> str:
    inner = f'<cookie page="{page}"><{pk} last="{{{last.upper()}}}" first="{{{first.upper()}}}" /></cookie>'
    return f'<cookie pagenumber="{page + 1}" pagingcookie="{quote(inner, safe="")}" istracking="False" />'


def _read_cookie(token: str, pk: str) -> tuple[int, str | None]:
    number = re.search(r'pagenumber="(\d+)"', token)
    paging = re.search(r'pagingcookie="([^"]*)"', token)
    if not number:
        raise bad_request("The $skiptoken value is not a valid paging cookie.")
    last = None
    if paging:
        inner = unquote(paging.group(1))
        found = re.search(rf'<{pk} last="\{{([0-9A-Fa-f-]+)\}}"', inner)
        last = found.group(1).lower() if found else None
    return int(number.group(1)), last


def run_query(store: Store, entity: EntityDef, request: Request, *, base_url: str, resource: str, context: str,
              restriction: tuple[str, list[Any]] | None = None) -> Response:
    """Answer a collection GET on ``resource`` (path below the service root); ``restriction`` narrows it
    (navigation reads)."""
    opts = parse_options(entity, request)
    if changes.is_tracked(request):
        if restriction:
            raise bad_request("Change tracking is not supported on navigation properties.")
        return changes.run_tracked_query(store, entity, request, base_url=base_url, resource=resource,
                                         select=opts.select, page_size=page_size(request) or MAX_PAGE_SIZE)
    where, params = [], []
    if restriction:
        where.append(restriction[0])
        params.extend(restriction[1])
    if opts.filter:
        where.append(opts.filter.sql)
        params.extend(opts.filter.params)
    pk = entity.primary_key
    size = page_size(request)
    paged = size is not None or opts.top is None
    limit = size or MAX_PAGE_SIZE
    if not paged:
        limit = min(opts.top or 0, MAX_PAGE_SIZE)
    page, offset, keyset_after = 1, 0, None
    if opts.skiptoken and paged:
        page, last = _read_cookie(opts.skiptoken, pk)
        if opts.orderby:
            offset = (page - 1) * limit
        else:
            keyset_after = last
    order_parts = [f"{q(col)} {'DESC' if desc else 'ASC'}" for col, desc in opts.orderby]
    order_parts.append(f"{q(pk)} ASC")
    base_where = " AND ".join(where)
    page_where = list(where)
    page_params = list(params)
    if keyset_after:
        page_where.append(f"{q(pk)} > ?")
        page_params.append(keyset_after)
    with store.lock:
        rows = store.select(entity, where=" AND ".join(page_where), params=page_params,
                            order=", ".join(order_parts), limit=limit + 1 if paged else limit, offset=offset)
        total = store.count(entity, where=base_where, params=params) if opts.count else None
    more = paged and len(rows) > limit
    rows = rows[:limit]
    formatted = wants_formatted(request)
    payload: dict[str, Any] = {"@odata.context": context}
    if opts.select:
        payload["@odata.context"] = context + "(" + ",".join(opts.select) + ")"
    if total is not None:
        payload["@odata.count"] = min(total, MAX_COUNT)
    if _wants(request, "Microsoft.Dynamics.CRM.totalrecordcount"):
        payload["@Microsoft.Dynamics.CRM.totalrecordcount"] = min(total, MAX_COUNT) if total is not None else -1
        payload["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = total is not None and total > MAX_COUNT
    payload["value"] = [serialize(entity, row, opts.select, formatted) for row in rows]
    if more:
        token = _cookie(page, pk, rows[0][pk], rows[-1][pk])
        kept = [raw for name, _value, raw in request.query_params() if name.lower() != "$skiptoken"]
        kept.append("$skiptoken=" + quote(token, safe="="))
        payload["@odata.nextLink"] = f"{base_url}{quote(resource, safe='/()=,')}?" + "&".join(kept)
    headers = Headers()
    applied = []
    if size is not None:
        applied.append(f"odata.maxpagesize={size}")
    if _annotations(request):
        applied.append(f'odata.include-annotations="{",".join(_annotations(request))}"')
    if applied:
        headers["Preference-Applied"] = ",".join(applied)
    return json_response(200, payload, headers)


def count_only(store: Store, entity: EntityDef) -> Response:
    """``GET <set>/$count``: the number as text/plain, capped like ``@odata.count``."""
    body = str(min(store.count(entity), MAX_COUNT)).encode()
    return Response(200, body, Headers({"Content-Type": "text/plain"}))
