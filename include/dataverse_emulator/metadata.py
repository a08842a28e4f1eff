"""Table metadata: ``EntityDefinitions(LogicalName='<table>')/Attributes``, the columns and their types.

Dataverse names a lookup column ``<name>`` in metadata (``ownerid``) and ``_<name>_value`` in the Web API; the
answer follows metadata. Only ``$select`` is taken (the rest of the metadata query language is not emulated).
"""

from __future__ import annotations

import uuid
from typing import Any

from .errors import bad_request, not_found, resource_not_found
from .httputil import Request, Response, json_response
from .schema import BOOL, DATETIME, DECIMAL, ENTITIES, GUID, INT, STRING, Column, EntityDef

_TYPES = {STRING: "String", BOOL: "Boolean", DATETIME: "DateTime", DECIMAL: "Decimal"}
_SPECIAL_INTS = {"statecode": "State", "statuscode": "Status"}


def attribute_type(entity: EntityDef, column: Column) -> str:
    if column.type == GUID:
        if column.name == "_ownerid_value":
            return "Owner"
        return "Lookup" if column.name.startswith("_") else "Uniqueidentifier"
    if column.type == INT:
        return _SPECIAL_INTS.get(column.name) or ("Picklist" if column.options else "Integer")
    return _TYPES[column.type]


def logical_name(column: Column) -> str:
    name = column.name
    return name[1:-len("_value")] if name.startswith("_") and name.endswith("_value") else name


def _describe(entity: EntityDef, column: Column) -> dict[str, Any]:
    kind = attribute_type(entity, column)
    return {"@odata.type": f"#Microsoft.Dynamics.CRM.{kind}AttributeMetadata",
            "MetadataId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"attribute:{entity.logical_name}.{column.name}")),
            "LogicalName": logical_name(column), "AttributeType": kind}


def attributes(request: Request, base_url: str, key: str | None, rest: list[tuple[str, str | None]]) -> Response:
    """Answer ``GET EntityDefinitions(LogicalName='<table>')/Attributes``."""
    if request.method.upper() != "GET" or not key or rest != [("Attributes", None)]:
        raise resource_not_found("EntityDefinitions")
    name, _, value = key.partition("=")
    if name.strip() != "LogicalName":
        raise bad_request("Only EntityDefinitions(LogicalName='<table>') is supported.")
    entity = ENTITIES.get(value.strip().strip("'"))
    if entity is None:
        raise not_found("EntityMetadata", value.strip().strip("'"))
    select = next((v for k, v, _ in request.query_params() if k == "$select"), None)
    wanted = [n.strip() for n in select.split(",")] if select else None
    value_list = []
    for column in entity.columns.values():
        described = _describe(entity, column)
        if wanted:
            described = {k: v for k, v in described.items() if k in wanted or k in ("MetadataId", "@odata.type")}
        value_list.append(described)
    return json_response(200, {"@odata.context": f"{base_url}$metadata#EntityDefinitions('{entity.logical_name}')"
                                                 "/Attributes", "value": value_list})
