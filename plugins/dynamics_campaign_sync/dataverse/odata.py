"""OData query helpers: literals that cannot inject, GUID checks, and paging."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dynamics_campaign_sync.dataverse.errors import DataverseConfigError

if TYPE_CHECKING:
    from dynamics_campaign_sync.dataverse.transport import Transport


def string_literal(value: str) -> str:
    """An OData string literal: single quotes, with embedded quotes doubled (``O'Brien`` → ``'O''Brien'``)."""
    return "'" + value.replace("'", "''") + "'"


def guid(value: str, *, what: str = "id") -> str:
    """Normalise a GUID, or raise naming ``what`` when it is not one (GUIDs go into URLs unquoted)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise DataverseConfigError(f"{what} is not a GUID: {value!r}") from None


def any_of(prop: str, values: Sequence[str], *, literal=string_literal) -> str:
    """``prop eq v1 or prop eq v2 ...``; callers keep ``values`` short (URLs have limits)."""
    return " or ".join(f"{prop} eq {literal(v)}" for v in values)


def in_values(prop: str, values: Sequence[str]) -> str:
    """Dataverse's ``Microsoft.Dynamics.CRM.In`` query function: ``prop`` is one of ``values`` (a JSON array, so
    every value is quoted and escaped by the encoder). Shorter than ``any_of`` for long id lists."""
    return f"Microsoft.Dynamics.CRM.In(PropertyName={string_literal(prop)},PropertyValues={json.dumps(list(values))})"


def iter_bodies(
    transport: Transport,
    path: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str],
) -> Iterator[dict[str, Any]]:
    """Yield each page's whole answer, following ``@odata.nextLink`` unchanged (sent with the same headers)
    until it is absent; the last answer carries ``@odata.deltaLink`` when the read tracks changes."""
    body = transport.get_json(path, params=params, headers=headers)
    while True:
        yield body
        next_link = body.get("@odata.nextLink")
        if not next_link:
            return
        body = transport.get_json(next_link, headers=headers)


def iter_pages(
    transport: Transport,
    path: str,
    *,
    params: Mapping[str, str] | None = None,
    page_size: int,
) -> Iterator[list[dict[str, Any]]]:
    """Yield each page's records, following ``@odata.nextLink`` unchanged until it is absent.

    Dataverse pages with an opaque skip token in ``@odata.nextLink``; ``$skip`` is not supported.
    The page size is asked for with ``Prefer: odata.maxpagesize``.
    """
    for body in iter_bodies(transport, path, params=params, headers=page_size_header(page_size)):
        yield body.get("value", [])


def page_size_header(page_size: int, *preferences: str) -> dict[str, str]:
    """The ``Prefer`` header asking for pages of ``page_size`` records (and any other preferences)."""
    return {"Prefer": ",".join([*preferences, f"odata.maxpagesize={page_size}"])}


def iter_records(
    transport: Transport, path: str, *, params: Mapping[str, str] | None = None, page_size: int
) -> Iterator[dict[str, Any]]:
    for page in iter_pages(transport, path, params=params, page_size=page_size):
        yield from page
