"""``POST $batch``: multipart/mixed in, multipart/mixed out, as the Dataverse Web API does it.

Operations run in order, at most 1,000 per batch. A change set runs in one transaction: if any of its
operations fails, the ones before it are rolled back and the change set answers with that single error.
Without ``Prefer: odata.continue-on-error`` the batch stops at the first failure and the batch response takes
that failure's status (the parts executed so far are still returned); with it, every operation runs and reports
its own result under ``200 OK``. Inside a change set, ``$<Content-ID>`` may stand for the URL of a record created
earlier in the same change set, in the request URL or as a JSON string value (``@odata.id``/``@odata.bind``).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from .errors import ODataError, bad_request
from .httputil import Headers, Request, Response, parse_prefer

MAX_OPERATIONS = 1000
_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_API_PATH = re.compile(r"^/api/data/(v9\.\d)/")

Executor = Callable[[Request, str], Response]  # (request, resource below the service root) -> response
Transaction = Callable[[], AbstractContextManager[None]]


@dataclass
class Operation:
    method: str
    url: str
    headers: Headers
    body: bytes
    content_id: str | None = None


@dataclass
class ChangeSet:
    operations: list[Operation] = field(default_factory=list)


class _Abort(Exception):
    def __init__(self, response: Response, content_id: str | None) -> None:
        super().__init__("change set failed")
        self.response = response
        self.content_id = content_id


def _boundary(content_type: str | None) -> str | None:
    m = _BOUNDARY.search(content_type or "")
    return (m.group(1) or m.group(2)) if m else None


def _split_head(block: bytes) -> tuple[Headers, bytes]:
    for sep in (b"\r\n\r\n", b"\n\n"):
        head, found, rest = block.partition(sep)
        if found:
            break
    else:
        head, rest = block, b""
    headers = Headers()
    for line in head.decode("utf-8").splitlines():
        name, colon, value = line.partition(":")
        if colon:
            headers.add(name.strip(), value.strip())
    return headers, rest


def _parts(body: bytes, boundary: str) -> list[bytes]:
    delimiter = b"--" + boundary.encode()
    chunks = body.split(delimiter)
    if len(chunks) < 2:
        raise bad_request(f"The batch body has no part delimited by '--{boundary}'.")
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # close delimiter; the rest is the epilogue
        chunk = chunk.lstrip(b" \t")
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        elif chunk.startswith(b"\n"):
            chunk = chunk[1:]
        if chunk.endswith(b"\r\n"):  # the line break before a delimiter belongs to the delimiter
            chunk = chunk[:-2]
        elif chunk.endswith(b"\n"):
            chunk = chunk[:-1]
        parts.append(chunk)
    return parts


def _operation(part: bytes) -> Operation:
    mime, message = _split_head(part)
    if "application/http" not in (mime.get("Content-Type") or "").lower():
        raise bad_request("Each batch part must have 'Content-Type: application/http' (or be a change set).")
    message = message.lstrip(b"\r\n")
    line, _, rest = message.partition(b"\n")
    text = line.decode("utf-8").strip()
    method, _, target = text.partition(" ")
    target = re.sub(r"\s+HTTP/\d\.\d$", "", target.strip())
    if not method or not target:
        raise bad_request(f"Invalid request line in a batch part: '{text}'.")
    headers, body = _split_head(rest) if rest.strip() else (Headers(), b"")
    return Operation(method.upper(), target.replace(" ", "%20"), headers, body.strip(), mime.get("Content-ID"))


def parse_batch(request: Request) -> list[Operation | ChangeSet]:
    boundary = _boundary(request.headers.get("Content-Type"))
    if not boundary or not (request.headers.get("Content-Type") or "").lower().startswith("multipart/mixed"):
        raise bad_request("A $batch request needs 'Content-Type: multipart/mixed; boundary=batch_<id>'.")
    items: list[Operation | ChangeSet] = []
    count = 0
    for part in _parts(request.body, boundary):
        mime, inner = _split_head(part)
        content_type = mime.get("Content-Type") or ""
        if content_type.lower().startswith("multipart/mixed"):
            inner_boundary = _boundary(content_type)
            if not inner_boundary:
                raise bad_request("A change set needs a boundary in its Content-Type.")
            changeset = ChangeSet([_operation(p) for p in _parts(inner, inner_boundary)])
            count += len(changeset.operations)
            items.append(changeset)
        else:
            items.append(_operation(part))
            count += 1
    if count > MAX_OPERATIONS:
        raise bad_request(f"The batch contains {count} requests; a batch can contain at most {MAX_OPERATIONS}.")
    if count == 0:
        raise bad_request("The batch contains no requests.")
    return items


def _resolve(op: Operation, version: str, references: dict[str, str]) -> Request:
    url = op.url
    ref = re.match(r"^\$(\w+)(.*)$", url)
    if ref:
        if ref.group(1) not in references:
            raise bad_request(f"Content-ID Reference: '${ref.group(1)}' does not exist in the batch context.")
        url = references[ref.group(1)] + ref.group(2)
    parts = urlsplit(url)
    path = parts.path
    if not path.startswith("/"):
        path = f"/api/data/{version}/{path}"
    if not _API_PATH.match(path):
        raise bad_request(f"The URL '{op.url}' in a batch part is not a Web API URL.")
    body = op.body
    if references and b'"$' in body:
        def swap(m: re.Match[bytes]) -> bytes:
            target = references.get(m.group(1).decode())
            return json.dumps(target).encode() if target else m.group(0)
        body = re.sub(rb'"\$(\w+)"', swap, body)
    return Request(op.method, unquote(path), parts.query, op.headers, body)


def execute_batch(request: Request, version: str, run: Executor,
                  transaction: Transaction) -> tuple[Response, list[dict[str, Any]]]:
    """Run a batch through ``run`` (change sets inside ``transaction()``); return the multipart response and a
    summary of the operations for the request log."""
    items = parse_batch(request)
    continue_on_error = "odata.continue-on-error" in parse_prefer(request.headers.get("Prefer"))
    boundary = f"batchresponse_{uuid.uuid4()}"
    chunks: list[bytes] = []
    summary: list[dict[str, Any]] = []
    status = 200

    def execute(op: Operation, references: dict[str, str]) -> Response:
        try:
            sub = _resolve(op, version, references)
            response = run(sub, _API_PATH.sub("", sub.path, count=1))
        except ODataError as err:
            response = err.to_response()
            response.headers["OData-Version"] = "4.0"
        summary.append({"method": op.method, "path": op.url, "status": response.status,
                        "content_id": op.content_id})
        return response

    for item in items:
        if isinstance(item, Operation):
            response = execute(item, {})
            chunks.append(_http_part(boundary, response, None))
            if response.status >= 400 and not continue_on_error:
                status = response.status
                break
            continue
        failed = _run_changeset(item, execute, transaction)
        if isinstance(failed, _Abort):
            chunks.append(_http_part(boundary, failed.response, failed.content_id))
            if not continue_on_error:
                status = failed.response.status
                break
        else:
            chunks.append(_changeset_part(boundary, failed))
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    headers = Headers({"Content-Type": f"multipart/mixed; boundary={boundary}"})
    if continue_on_error:
        headers["Preference-Applied"] = "odata.continue-on-error"
    return Response(status, body, headers), summary


def _run_changeset(changeset: ChangeSet, execute: Callable[[Operation, dict[str, str]], Response],
                   transaction: Transaction) -> list[tuple[Response, str | None]] | _Abort:
    references: dict[str, str] = {}
    results: list[tuple[Response, str | None]] = []
    try:
        with transaction():
            for op in changeset.operations:
                if op.method == "GET":
                    error = bad_request("GET requests are not allowed in a change set.").to_response()
                    error.headers["OData-Version"] = "4.0"
                    raise _Abort(error, op.content_id)
                response = execute(op, references)
                if response.status >= 400:
                    raise _Abort(response, op.content_id)
                entity_url = response.headers.get("OData-EntityId") or response.headers.get("Location")
                if op.content_id and entity_url:
                    references[op.content_id] = entity_url
                results.append((response, op.content_id))
    except _Abort as abort:
        return abort
    return results


def _http_part(boundary: str, response: Response, content_id: str | None) -> bytes:
    lines = [f"--{boundary}", "Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"HTTP/1.1 {response.status} {response.reason}"]
    lines += [f"{name}: {value}" for name, value in response.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + response.body + b"\r\n"


def _changeset_part(boundary: str, results: list[tuple[Response, str | None]]) -> bytes:
    inner = f"changesetresponse_{uuid.uuid4()}"
    head = f"--{boundary}\r\nContent-Type: multipart/mixed; boundary={inner}\r\n\r\n".encode()
    body = b"".join(_http_part(inner, response, cid) for response, cid in results)
    return head + body + f"--{inner}--\r\n".encode()
