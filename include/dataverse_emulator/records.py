"""Create, update, delete and serialise records with Dataverse's rules: typed values, state/status pairs,
computed ``fullname``, system columns, and the cascades Dynamics applies when a record goes away."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .errors import ODataError, bad_request, duplicate_record, invalid_argument, not_found
from .schema import BOOL, DATETIME, DECIMAL, GUID, INT, LIST, STRING, EntityDef
from .store import Store, q

FORMATTED = "@OData.Community.Display.V1.FormattedValue"
VALIDATION_ERROR = "0x80044331"
ROW_VERSION_MISMATCH = "0x80060882"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_guid(value: Any, what: str = "Edm.Guid") -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, AttributeError, TypeError):
        raise bad_request(f"Unrecognized '{what}' literal '{value}'.") from None


def _cannot_convert(value: Any, edm: str) -> ODataError:
    return bad_request(f"Cannot convert the literal '{value}' to the expected type '{edm}'.")


def _utc_text(value: str) -> str:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


#: Per column type: the JSON types a value may have (a JSON true is never a number), and how it is stored.
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    STRING: (str,), GUID: (str,), INT: (int,), BOOL: (bool,), DECIMAL: (int, float), DATETIME: (str,),
}
_STORED: dict[str, Callable[[Any], Any]] = {GUID: parse_guid, BOOL: int, DECIMAL: float, DATETIME: _utc_text}


def coerce(entity: EntityDef, name: str, value: Any) -> Any:
    """A JSON value for column ``name`` as stored in SQLite; 400 if its type is wrong."""
    col = entity.columns[name]
    if value is None:
        return None
    types = _JSON_TYPES.get(col.type, ())
    if not isinstance(value, types) or (isinstance(value, bool) and col.type != BOOL):
        raise _cannot_convert(value, col.edm)
    if col.type == STRING and col.max_length is not None and len(value) > col.max_length:
        raise ODataError(400, VALIDATION_ERROR,
                         f"A validation error occurred. The length of the '{name}' attribute of the "
                         f"'{entity.logical_name}' entity exceeded the maximum allowed length of "
                         f"'{col.max_length}'.")
    if col.type == INT and col.options and name not in ("statecode", "statuscode") and value not in col.options:
        accepted = ",".join(str(k) for k in col.options)
        raise ODataError(400, VALIDATION_ERROR,
                         f"A validation error occurred. The value {value} of '{name}' on record of type "
                         f"'{entity.logical_name}' is outside the valid range. Accepted Values: {accepted}")
    try:
        return _STORED.get(col.type, lambda same: same)(value)
    except ValueError:  # a date that is not ISO 8601 (a bad GUID has its own error from parse_guid)
        raise _cannot_convert(value, col.edm) from None


def read_body(entity: EntityDef, body: Any, *, system: bool = False) -> dict[str, Any]:
    """Validate a JSON payload into column values. ``system`` (seeding) may also set read-only columns."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object describing the record.")
    values: dict[str, Any] = {}
    for key, value in body.items():
        if key.startswith("@") or (system and "@" in key):
            continue  # instance annotations such as @odata.type / @odata.etag
        col = entity.column(key)
        if col is None:
            raise bad_request(f"Invalid property '{key}' was found in entity '{entity.type_name}'.")
        if col.readonly and not system:
            continue  # Dataverse ignores values for columns it maintains itself
        values[key] = coerce(entity, key, value)
    return values


def _apply_state(entity: EntityDef, values: dict[str, Any], current: dict[str, Any] | None, record_id: str) -> None:
    if not entity.states or ("statecode" not in values and "statuscode" not in values):
        return
    state = values.get("statecode")
    status = values.get("statuscode")
    if state is None and status is not None:
        state = next((s for s, d in entity.states.items() if status in d.statuses), None)
        if state is None:
            state = (current or {}).get("statecode", 0)
    if state not in entity.states:
        accepted = ",".join(str(k) for k in entity.states)
        raise ODataError(400, VALIDATION_ERROR,
                         f"A validation error occurred. The value {state} of 'statecode' on record of type "
                         f"'{entity.logical_name}' is outside the valid range. Accepted Values: {accepted}")
    definition = entity.states[state]
    if status is None:
        status = definition.default_status
    if status not in definition.statuses:
        raise invalid_argument(f"{status} is not a valid status code for state code "
                               f"{entity.state_enum}.{definition.label.replace(' ', '')} on {entity.logical_name} "
                               f"with Id {record_id}.")
    values["statecode"], values["statuscode"] = state, status


def _defaults(entity: EntityDef) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for name, col in entity.columns.items():
        if col.type == BOOL:
            defaults[name] = 0
    if entity.states:
        defaults["statecode"] = 0
        defaults["statuscode"] = entity.states[0].default_status
    if entity is LIST:
        defaults["membercount"] = 0
    return defaults


def _fullname(entity: EntityDef, row: dict[str, Any]) -> None:
    if entity.computed_fullname:
        row["fullname"] = " ".join(p for p in (row.get("firstname"), row.get("lastname")) if p) or None


def create(store: Store, entity: EntityDef, body: Any, *, system: bool = False,
           record_id: str | None = None) -> dict[str, Any]:
    """Insert a record; the client may supply its own key. Returns the stored row."""
    values = read_body(entity, body, system=system)
    pk = entity.primary_key
    new_id = record_id or values.get(pk) or str(uuid.uuid4())
    if record_id and values.get(pk) and values[pk] != record_id:
        raise bad_request(f"The key in the URL ({record_id}) does not match '{pk}' in the body ({values[pk]}).")
    if not system:
        missing = [name for name in entity.required if values.get(name) in (None, "")]
        if missing:
            raise invalid_argument(f"The '{missing[0]}' attribute is required to create a {entity.logical_name}.")
    row = {**_defaults(entity), **values, pk: new_id}
    _apply_state(entity, row, None, new_id)
    stamp = now_iso()
    created = row.get("overriddencreatedon") or (row.get("createdon") if system else None) or stamp
    row["createdon"] = created
    row["modifiedon"] = row.get("modifiedon") if system and row.get("modifiedon") else stamp
    row["versionnumber"] = store.next_version()
    _fullname(entity, row)
    with store.transaction():
        if store.get(entity, new_id) is not None:
            if not system:
                raise duplicate_record()
            store.delete(entity, new_id)
        store.insert(entity, row)
        store.forget_deletion(entity, new_id)
    return row


def etag(row: dict[str, Any]) -> str:
    return f'W/"{row.get("versionnumber") or 0}"'


def check_if_match(row: dict[str, Any], if_match: str | None) -> None:
    if if_match and if_match.strip() != "*" and if_match.strip() != etag(row):
        raise ODataError(412, ROW_VERSION_MISMATCH,
                         "The version of the existing record doesn't match the RowVersion property provided.")


def update(store: Store, entity: EntityDef, record_id: str, body: Any) -> dict[str, Any]:
    """Apply a PATCH to an existing record and return the new row (404 if it does not exist)."""
    values = read_body(entity, body)
    pk = entity.primary_key
    if pk in values:
        if values[pk] != record_id:
            raise bad_request(f"The key in the URL ({record_id}) does not match '{pk}' in the body ({values[pk]}).")
        del values[pk]
    with store.transaction():
        current = store.get(entity, record_id)
        if current is None:
            raise not_found(entity.logical_name, record_id)
        for name in entity.immutable:
            if name in values and values[name] != current.get(name):
                raise invalid_argument(f"The '{name}' attribute of {entity.logical_name} {record_id} cannot be "
                                       "changed after the record is created.")
        if entity is LIST and current.get("statecode") == 1:
            changing = {k for k, v in values.items() if v != current.get(k)} - {"statecode", "statuscode"}
            if changing and values.get("statecode", 1) == 1:
                raise invalid_argument(f"The list with Id = {record_id} is inactive and cannot be modified. "
                                       "Activate it before changing it.")
        if "statuscode" in values and "statecode" not in values:
            values["statecode"] = None
        if "statecode" in values:
            if values["statecode"] is None:
                del values["statecode"]
            _apply_state(entity, values, current, record_id)
        row = {**current, **values}
        _fullname(entity, row)
        row["modifiedon"] = now_iso()
        row["versionnumber"] = store.next_version()
        if values.get("overriddencreatedon"):
            row["createdon"] = values["overriddencreatedon"]
        changed = {k: row[k] for k in row if row[k] != current.get(k)}
        store.update(entity, record_id, changed)
    return row


def delete(store: Store, entity: EntityDef, record_id: str) -> None:
    """Delete a record and what Dynamics removes with it (list members, campaign links)."""
    with store.transaction():
        if store.get(entity, record_id) is None:
            raise not_found(entity.logical_name, record_id)
        if entity.logical_name == "list":
            store.execute('DELETE FROM "listmember" WHERE "_listid_value" = ?', (record_id,))
            store.execute("DELETE FROM campaignitem WHERE listid = ?", (record_id,))
        elif entity.logical_name == "campaign":
            store.execute("DELETE FROM campaignitem WHERE campaignid = ?", (record_id,))
        elif entity.logical_name in ("lead", "contact"):
            lists = [r["_listid_value"] for r in store.query(
                'SELECT "_listid_value" FROM "listmember" WHERE "_entityid_value" = ?', (record_id,))]
            store.execute('DELETE FROM "listmember" WHERE "_entityid_value" = ?', (record_id,))
            for list_id in lists:
                refresh_membercount(store, list_id)
        store.delete(entity, record_id)
        store.record_deletion(entity, record_id)


def refresh_membercount(store: Store, list_id: str) -> None:
    count = store.scalar('SELECT COUNT(*) FROM "listmember" WHERE "_listid_value" = ?', (list_id,))
    store.execute(f'UPDATE {q("list")} SET membercount = ?, modifiedon = ?, versionnumber = ? WHERE listid = ?',
                  (count, now_iso(), store.next_version(), list_id))


def serialize(entity: EntityDef, row: dict[str, Any], select: list[str] | None = None,
              formatted: bool = False) -> dict[str, Any]:
    """A row as Web API JSON: etag first, the selected columns (all by default), the key always."""
    out: dict[str, Any] = {"@odata.etag": etag(row)}
    names = select or list(entity.columns)
    if entity.primary_key not in names:
        names = [*names, entity.primary_key]
    for name in names:
        col = entity.columns[name]
        value = row.get(name)
        if col.type == BOOL and value is not None:
            value = bool(value)
        if formatted and value is not None and col.options:
            label = col.options.get(int(value))
            if label is not None:
                out[f"{name}{FORMATTED}"] = label
        out[name] = value
    return out
