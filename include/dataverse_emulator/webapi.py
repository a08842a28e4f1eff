"""The Web API resource router: ``/api/data/v9.2/<resource>`` for one already-authenticated request.

The same entry point serves top-level requests and the operations inside a ``$batch``.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

from . import actions, metadata, records
from .errors import (
    INVALID_ARGUMENT,
    UNEXPECTED,
    ODataError,
    bad_request,
    duplicate_record,
    method_not_allowed,
    not_found,
    not_implemented,
    resource_not_found,
)
from .httputil import Headers, Request, Response, json_response, parse_prefer
from .query import count_only, parse_options, run_query, wants_formatted
from .schema import BY_SET, ENTITIES, EntityDef
from .store import Store

_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_$][\w.$]*)(?:\((?P<key>[^()]*)\))?$")
ORGANIZATION_ID = "d3f5a1c2-7b44-4c8e-9e21-0c0de0000001"
BUSINESS_UNIT_ID = "d3f5a1c2-7b44-4c8e-9e21-0c0de0000002"


@dataclass
class ApiContext:
    store: Store
    org_url: str
    version: str
    principal: str  # application (client) id of the caller
    in_batch: bool = False

    @property
    def base(self) -> str:
        return f"{self.org_url}/api/data/{self.version}/"

    def entity_url(self, entity: EntityDef, record_id: str) -> str:
        return f"{self.base}{entity.entity_set}({record_id})"


def handle(ctx: ApiContext, request: Request, resource: str) -> Response:
    """Route one request; every outcome, errors included, is a Dataverse-shaped response."""
    try:
        response = _route(ctx, request, resource)
    except ODataError as err:
        response = err.to_response()
    except json.JSONDecodeError as err:
        response = bad_request(f"The request body is not valid JSON: {err.msg} at position {err.pos}.").to_response()
    except Exception as err:  # a bug in the emulator must still answer like the service would
        traceback.print_exc(file=sys.stderr)
        response = ODataError(500, UNEXPECTED, f"An unexpected error occurred: {type(err).__name__}").to_response()
    response.headers["OData-Version"] = "4.0"
    return response


def _key(raw: str | None, entity: EntityDef | None = None) -> str:
    if raw is None:
        raise bad_request("A key is required.")
    if "=" in raw:
        name, _, raw = raw.partition("=")
        if entity is not None and name.strip() != entity.primary_key:
            raise not_implemented("Alternate keys")
    return records.parse_guid(raw.strip().strip("'"))


def _split(resource: str) -> list[tuple[str, str | None]]:
    segments = []
    for seg in resource.strip("/").split("/"):
        m = _SEGMENT.match(seg)
        if not m:
            raise resource_not_found(seg)
        segments.append((m.group("name"), m.group("key")))
    return segments


def _route(ctx: ApiContext, request: Request, resource: str) -> Response:
    method = request.method.upper()
    if resource.strip("/") == "":
        return _service_document(ctx)
    segments = _split(resource)
    name, key = segments[0]
    action = name.removeprefix("Microsoft.Dynamics.CRM.")
    if len(segments) == 1 and key is None or (len(segments) == 1 and key == "" and action == "WhoAmI"):
        if action in ("AddListMembersList", "RemoveListMembersList"):
            if method != "POST":
                raise method_not_allowed(method, name)
            actions.list_members_list(ctx.store, request.json(), add=action == "AddListMembersList")
            return Response(204)
        if action == "WhoAmI":
            return json_response(200, {
                "@odata.context": f"{ctx.base}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                "BusinessUnitId": BUSINESS_UNIT_ID, "UserId": _user_id(ctx.principal),
                "OrganizationId": ORGANIZATION_ID})
        if name == "$metadata":
            raise not_implemented("$metadata")
        if name == "$batch":
            raise bad_request("A $batch request cannot be nested inside another $batch request.")
    if name == "EntityDefinitions":
        return metadata.attributes(request, ctx.base, key, segments[1:])
    entity = BY_SET.get(name)
    if entity is None:
        raise resource_not_found(name)
    if len(segments) == 1:
        if key is None:
            return _collection(ctx, request, entity, method, resource)
        return _record(ctx, request, entity, _key(key, entity), method)
    if key is None:
        if len(segments) == 2 and segments[1] == ("$count", None) and method == "GET":
            return count_only(ctx.store, entity)
        raise resource_not_found(segments[1][0])
    record_id = _key(key, entity)
    nav_name, nav_key = segments[1]
    if len(segments) == 2 and nav_key is None and nav_name.removeprefix("Microsoft.Dynamics.CRM.") in (
            "AddMemberList", "RemoveMemberList"):
        return _bound_list_action(ctx, request, entity, record_id, nav_name, method)
    if nav_name in entity.navigations:
        return _navigation(ctx, request, entity, record_id, nav_name, nav_key, segments[2:], method, resource)
    if len(segments) == 2 and nav_key is None and entity.column(nav_name) is not None:
        return _property(ctx, entity, record_id, nav_name, method)
    raise resource_not_found(nav_name)


def _user_id(principal: str) -> str:
    # The application user stands for the app registration: derive a stable systemuserid from the client id.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"systemuser:{principal}"))


def _service_document(ctx: ApiContext) -> Response:
    return json_response(200, {"@odata.context": f"{ctx.base}$metadata", "value": [
        {"name": e.entity_set, "kind": "EntitySet", "url": e.entity_set} for e in ENTITIES.values()]})


def _collection(ctx: ApiContext, request: Request, entity: EntityDef, method: str, resource: str) -> Response:
    if method == "GET":
        return run_query(ctx.store, entity, request, base_url=ctx.base, resource=resource,
                         context=f"{ctx.base}$metadata#{entity.entity_set}")
    if method == "POST":
        if not entity.creatable:
            raise ODataError(400, INVALID_ARGUMENT, f"The 'Create' method does not support entities of type "
                                                f"'{entity.logical_name}'. MessageProcessorCache returned "
                                                "MessageProcessor.Empty.")
        row = records.create(ctx.store, entity, request.json())
        return _written(ctx, request, entity, row, created=True)
    raise method_not_allowed(method, entity.entity_set)


def _written(ctx: ApiContext, request: Request, entity: EntityDef, row: dict[str, Any], *, created: bool) -> Response:
    prefs = parse_prefer(request.headers.get("Prefer"))
    url = ctx.entity_url(entity, row[entity.primary_key])
    if "return" in prefs and prefs["return"] == "representation":
        select = parse_options(entity, request, single=True).select
        body = {"@odata.context": f"{ctx.base}$metadata#{entity.entity_set}"
                                  + (f"({','.join(select)})" if select else "") + "/$entity",
                **records.serialize(entity, row, select, wants_formatted(request))}
        headers = Headers({"Preference-Applied": "return=representation"})
        if created:
            headers["Location"] = url
        return json_response(201 if created else 200, body, headers)
    headers = Headers({"OData-EntityId": url})
    if created:
        headers["Location"] = url
    return Response(204, b"", headers)


def _record(ctx: ApiContext, request: Request, entity: EntityDef, record_id: str, method: str) -> Response:
    store = ctx.store
    if method == "GET":
        opts = parse_options(entity, request, single=True)
        row = store.get(entity, record_id)
        if row is None:
            raise not_found(entity.logical_name, record_id)
        context = f"{ctx.base}$metadata#{entity.entity_set}"
        if opts.select:
            context += f"({','.join(opts.select)})"
        headers = Headers({"ETag": records.etag(row)})
        return json_response(200, {"@odata.context": context + "/$entity",
                                   **records.serialize(entity, row, opts.select, wants_formatted(request))},
                             headers)
    if method == "PATCH":
        if not entity.updatable:
            raise ODataError(400, INVALID_ARGUMENT, f"The 'Update' method does not support entities of type "
                                                f"'{entity.logical_name}'.")
        if_match = request.headers.get("If-Match")
        if_none_match = request.headers.get("If-None-Match")
        with store.transaction():
            current = store.get(entity, record_id)
            if current is None:
                if if_match:  # If-Match: * turns an upsert into a plain update
                    raise not_found(entity.logical_name, record_id)
                row = records.create(store, entity, request.json(), record_id=record_id)
                return _written(ctx, request, entity, row, created=False)
            if if_none_match and if_none_match.strip() == "*":
                raise duplicate_record()
            records.check_if_match(current, if_match)
            row = records.update(store, entity, record_id, request.json())
        return _written(ctx, request, entity, row, created=False)
    if method == "DELETE":
        if entity.logical_name == "listmember":
            actions.delete_listmember(store, record_id)
            return Response(204)
        with store.transaction():
            current = store.get(entity, record_id)
            if current is None:
                raise not_found(entity.logical_name, record_id)
            records.check_if_match(current, request.headers.get("If-Match"))
            records.delete(store, entity, record_id)
        return Response(204)
    raise method_not_allowed(method, f"{entity.entity_set}({record_id})")


def _property(ctx: ApiContext, entity: EntityDef, record_id: str, name: str, method: str) -> Response:
    if method != "GET":
        raise not_implemented(f"{method} on a single property")
    row = ctx.store.get(entity, record_id)
    if row is None:
        raise not_found(entity.logical_name, record_id)
    value = records.serialize(entity, row, [name])[name]
    return json_response(200, {"@odata.context": f"{ctx.base}$metadata#{entity.entity_set}({record_id})/{name}",
                               "value": value})


def _bound_list_action(ctx: ApiContext, request: Request, entity: EntityDef, record_id: str, name: str,
                       method: str) -> Response:
    if entity.logical_name != "list":
        raise resource_not_found(name)
    if method != "POST":
        raise method_not_allowed(method, name)
    if name.endswith("AddMemberList"):
        member_id = actions.add_member_list(ctx.store, record_id, request.json())
        return json_response(200, {"@odata.context": f"{ctx.base}$metadata#Microsoft.Dynamics.CRM."
                                                     "AddMemberListResponse", "Id": member_id})
    actions.remove_member_list(ctx.store, record_id, request.json())
    return Response(204)


def _navigation(ctx: ApiContext, request: Request, entity: EntityDef, record_id: str, nav_name: str,
                nav_key: str | None, rest: list[tuple[str, str | None]], method: str, resource: str) -> Response:
    nav = entity.navigations[nav_name]
    target = ENTITIES[nav.target]
    is_ref = bool(rest) and rest[0][0] == "$ref" and len(rest) == 1
    if rest and not is_ref:
        raise resource_not_found(rest[0][0])
    if is_ref and method == "POST" and nav_key is None:
        body = request.json()
        if not isinstance(body, dict) or "@odata.id" not in body:
            raise bad_request("The request body must be {\"@odata.id\": \"<url of the related record>\"}.")
        target_entity, target_id = actions.parse_entity_ref(body["@odata.id"])
        actions.associate(ctx.store, entity, record_id, nav_name, target_entity, target_id)
        return Response(204)
    if is_ref and method == "DELETE":
        if nav_key is not None:
            target_id = _key(nav_key, target)
        else:
            ids = [v for n, v, _ in request.query_params() if n == "$id"]
            if not ids:
                raise bad_request("Removing a reference from a collection needs the related record: "
                                  "use <nav>(<id>)/$ref or <nav>/$ref?$id=<url>.")
            _target_entity, target_id = actions.parse_entity_ref(ids[0])
        actions.disassociate(ctx.store, entity, record_id, nav_name, target_id)
        return Response(204)
    if method != "GET":
        raise method_not_allowed(method, f"{entity.entity_set}({record_id})/{nav_name}")
    if ctx.store.get(entity, record_id) is None:
        raise not_found(entity.logical_name, record_id)
    related = actions.related_ids_sql(nav.kind, entity, nav.member_type)
    if nav_key is not None:  # a single related record
        target_id = _key(nav_key, target)
        rows = ctx.store.query(related, (record_id,))
        if target_id not in {list(r.values())[0] for r in rows}:
            raise not_found(target.logical_name, target_id)
        sub = Request("GET", request.path, request.query, request.headers)
        return _record(ctx, sub, target, target_id, "GET")
    restriction = (f'"{target.primary_key}" IN ({related})', [record_id])
    if is_ref:
        rows = ctx.store.query(f"SELECT \"{target.primary_key}\" AS id FROM \"{target.logical_name}\" "
                               f"WHERE {restriction[0]}", restriction[1])
        return json_response(200, {"@odata.context": f"{ctx.base}$metadata#Collection($ref)",
                                   "value": [{"@odata.id": ctx.entity_url(target, r["id"])} for r in rows]})
    return run_query(ctx.store, target, request, base_url=ctx.base, resource=resource,
                     context=f"{ctx.base}$metadata#{target.entity_set}", restriction=restriction)
