"""Transport-neutral request/response values shared by the HTTP server, the Web API and ``$batch``."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_plus

JSON_TYPE = "application/json; odata.metadata=minimal"


class Headers:
    """Case-insensitive header map that keeps the first-seen spelling of each name."""

    def __init__(self, items: Any = ()) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        pairs = items.items() if hasattr(items, "items") else items
        for name, value in pairs:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        key = name.lower()
        if key in self._items and key in ("prefer",):
            # Several Prefer headers are equivalent to one comma-separated header.
            old_name, old_value = self._items[key]
            self._items[key] = (old_name, f"{old_value}, {value}")
        else:
            self._items[key] = (name, value)

    def __setitem__(self, name: str, value: str) -> None:
        self._items[name.lower()] = (name, value)

    def get(self, name: str, default: str | None = None) -> str | None:
        item = self._items.get(name.lower())
        return item[1] if item else default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def items(self) -> list[tuple[str, str]]:
        return list(self._items.values())

    def copy(self) -> Headers:
        return Headers(self.items())


@dataclass
class Request:
    method: str
    path: str  # percent-decoded path, no query
    query: str  # raw query string (still encoded), kept verbatim for nextLinks
    headers: Headers
    body: bytes = b""
    client_ip: str = "127.0.0.1"

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    def query_params(self) -> list[tuple[str, str, str]]:
        """``(name, value, raw_pair)`` triples in order; names and values decoded, raw kept for re-use."""
        params = []
        for raw in self.query.split("&"):
            if not raw:
                continue
            name, _, value = raw.partition("=")
            params.append((unquote_plus(name), unquote_plus(value), raw))
        return params

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body.strip() else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: Headers = field(default_factory=Headers)

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Unknown"

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Drop:
    """Marker response: close the connection without answering (fault injection)."""


DROP = Drop()


def json_response(status: int, payload: Any, headers: Headers | None = None,
                  content_type: str = JSON_TYPE) -> Response:
    hdrs = headers or Headers()
    hdrs["Content-Type"] = content_type
    return Response(status, json.dumps(payload, separators=(",", ":")).encode(), hdrs)


def new_request_id() -> str:
    return str(uuid.uuid4())


def parse_prefer(value: str | None) -> dict[str, str]:
    """``Prefer`` header preferences as ``{name: value}`` (value ``""`` for flags)."""
    prefs: dict[str, str] = {}
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, _, val = item.partition("=")
        prefs[name.strip().lower()] = val.strip().strip('"')
    return prefs
