"""OData ``$batch``: encode a multipart/mixed request and decode the multipart response.

Operations run in order. Operations grouped in a :class:`ChangeSet` are atomic. Without
``continue_on_error`` Dataverse stops at the first failed operation, so the response may hold fewer
parts than the request; with it, every operation reports its own result.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_BATCH_OPERATIONS = 1000


@dataclass(frozen=True)
class BatchOperation:
    method: str
    path: str  # relative to the service root, e.g. "lists(<id>)"
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChangeSet:
    operations: Sequence[BatchOperation]


@dataclass(frozen=True)
class BatchItemResult:
    status: int
    headers: dict[str, str]
    body: Any
    content_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status < 400


def count_operations(items: Sequence[BatchOperation | ChangeSet]) -> int:
    return sum(len(i.operations) if isinstance(i, ChangeSet) else 1 for i in items)


def _encode_operation(op: BatchOperation, api_url: str, content_id: int | None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{op.method} {api_url}{op.path} HTTP/1.1"]
    headers = dict(op.headers)
    payload = ""
    if op.body is not None:
        headers.setdefault("Content-Type", "application/json; type=entry")
        payload = json.dumps(op.body)
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += ["", payload]
    return "\r\n".join(lines)


def encode_batch(items: Sequence[BatchOperation | ChangeSet], api_url: str) -> tuple[str, bytes]:
    """Return ``(content_type, body)`` for a ``POST $batch``."""
    if not items:
        raise ValueError("a batch needs at least one operation")
    if (n := count_operations(items)) > MAX_BATCH_OPERATIONS:
        raise ValueError(f"a batch holds at most {MAX_BATCH_OPERATIONS} operations, got {n}")
    boundary = f"batch_{uuid.uuid4()}"
    parts: list[str] = []
    content_id = 0
    for item in items:
        if isinstance(item, ChangeSet):
            cs_boundary = f"changeset_{uuid.uuid4()}"
            inner = []
            for op in item.operations:
                content_id += 1
                inner.append(f"--{cs_boundary}\r\n" + _encode_operation(op, api_url, content_id))
            parts.append(
                f"--{boundary}\r\nContent-Type: multipart/mixed; boundary={cs_boundary}\r\n\r\n"
                + "\r\n".join(inner)
                + f"\r\n--{cs_boundary}--"
            )
        else:
            parts.append(f"--{boundary}\r\n" + _encode_operation(item, api_url, None))
    body = "\r\n".join(parts) + f"\r\n--{boundary}--\r\n"
    return f"multipart/mixed; boundary={boundary}", body.encode()


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


def _split_multipart(body: str, boundary: str) -> list[str]:
    chunks = body.split(f"--{boundary}")
    # First chunk is the preamble, the last starts with "--" (closing delimiter).
    return [c.strip("\r\n") for c in chunks[1:] if not c.startswith("--")]


def _split_headers(block: str) -> tuple[dict[str, str], str]:
    head, sep, rest = block.partition("\r\n\r\n")
    if not sep:
        head, _, rest = block.partition("\n\n")
    headers: dict[str, str] = {}
    for line in head.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers, rest


def _decode_http_part(part: str) -> BatchItemResult:
    mime_headers, http_message = _split_headers(part)
    status_line, _, rest = http_message.lstrip("\r\n").partition("\n")
    status = int(status_line.split()[1])
    headers, payload = _split_headers(rest)  # a part with no body has no blank line: payload is ""
    payload = payload.strip()
    body: Any = None
    if payload:
        try:
            body = json.loads(payload)
        except ValueError:
            body = payload
    return BatchItemResult(
        status=status, headers=headers, body=body, content_id=mime_headers.get("content-id")
    )


def decode_batch_response(content_type: str, body: str) -> list[BatchItemResult]:
    """Flatten the response into one result per executed operation (change sets expanded); ``ValueError`` when
    the body is not a complete multipart answer."""
    match = _BOUNDARY.search(content_type)
    if not match:
        raise ValueError(f"$batch response has no multipart boundary: {content_type!r}")
    if f"--{match.group(1)}--" not in body:  # cut short: the parts there are may not be all that ran
        raise ValueError("$batch response ends before its closing boundary")
    results: list[BatchItemResult] = []
    for part in _split_multipart(body, match.group(1)):
        headers, inner = _split_headers(part)
        nested = _BOUNDARY.search(headers.get("content-type", ""))
        if headers.get("content-type", "").startswith("multipart/mixed") and nested:
            for sub in _split_multipart(inner, nested.group(1)):
                results.append(_decode_http_part(sub))
        else:
            results.append(_decode_http_part(part))
    return results
