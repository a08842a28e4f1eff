"""Reading answers, for the Web API and the token endpoint alike: typed errors from error answers, JSON bodies
checked, and requests that got no answer at all.

Each function turns one kind of trouble into the typed error the retry policy classifies, so the Web API
transport and the token provider share one reading of every answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import requests

from dynamics_campaign_sync.dataverse.errors import (
    DataverseConnectionError,
    HttpError,
    UnreadableResponseError,
    scrub,
)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (Dataverse and Entra send integer seconds)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _request_id(headers: Mapping[str, str]) -> str | None:
    # Dataverse sends x-ms-service-request-id (and REQ_ID); Entra sends x-ms-request-id.
    return (headers.get("x-ms-service-request-id") or headers.get("req_id")
            or headers.get("x-ms-request-id"))


def http_error(status: int, headers: Mapping[str, str], body: Any, *, method: str, url: str,
               reason: str = "error", source: str = "Dataverse") -> HttpError:
    """A typed error from an error answer — a response, or one operation of a ``$batch`` — reading Dataverse's
    ``{"error": {"code", "message"}}`` body or Entra's ``{"error", "error_description"}`` (``body`` parsed JSON,
    or text). Headers are looked up by lower-case name, which both requests' headers and decoded batch parts
    allow."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):  # OAuth's shape, from the token endpoint
        error = {"code": error, "message": body.get("error_description")}
    error = error if isinstance(error, dict) else {}
    text = body.strip()[:500] if isinstance(body, str) else ""
    return HttpError(
        status,
        error.get("message") or text or reason,
        method=method,
        url=url.split("?", 1)[0],
        code=error.get("code") or None,
        request_id=_request_id(headers),
        correlation_id=headers.get("x-ms-correlation-request-id")
        or (body.get("correlation_id") if isinstance(body, dict) else None),
        retry_after=parse_retry_after(headers.get("retry-after")),
        source=source,
    )


def unreadable_response(response: requests.Response, detail: str, *, method: str, url: str,
                        source: str = "Dataverse") -> UnreadableResponseError:
    """The typed error for an answer whose body cannot be read; ``detail`` says why, never quoting the body."""
    return UnreadableResponseError(
        response.status_code,
        detail,
        method=method,
        url=url.split("?", 1)[0],
        request_id=_request_id(response.headers),
        correlation_id=response.headers.get("x-ms-correlation-request-id"),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        source=source,
    )


def _why_unreadable(response: requests.Response, error: ValueError | None) -> str:
    content_type = response.headers.get("Content-Type", "no content type").split(";", 1)[0]
    if "html" in content_type:
        return f"an HTML page of {len(response.content)} bytes where JSON was due"
    if error is None:
        return f"{content_type} JSON that is not an object"
    # A JSONDecodeError's own text names only a position, never the content.
    return f"{content_type} of {len(response.content)} bytes that is not valid JSON: {error}"


def read_json(response: requests.Response, *, method: str, url: str, source: str = "Dataverse") -> dict[str, Any]:
    """The answer's JSON object, or :class:`UnreadableResponseError` when the body is not one."""
    try:
        body = response.json()
    except ValueError as error:
        raise unreadable_response(response, _why_unreadable(response, error), method=method, url=url,
                                  source=source) from None
    if not isinstance(body, dict):
        raise unreadable_response(response, _why_unreadable(response, None), method=method, url=url,
                                  source=source)
    return body


def http_error_from_response(response: requests.Response, *, method: str, url: str,
                             source: str = "Dataverse") -> HttpError:
    """A typed error from an error response. A body that is neither JSON nor empty (a gateway's HTML page) gives
    an :class:`UnreadableResponseError` with the same status, so its markup never becomes the message."""
    if not response.content.strip():
        return http_error(response.status_code, response.headers, "", method=method, url=url,
                          reason=response.reason or "error", source=source)
    try:
        body = read_json(response, method=method, url=url, source=source)
    except UnreadableResponseError as unreadable:
        return unreadable
    return http_error(response.status_code, response.headers, body, method=method, url=url,
                      reason=response.reason or "error", source=source)


def connection_error(describe: str, error: requests.RequestException,
                     secrets: Iterable[str | None]) -> DataverseConnectionError:
    """The typed error for a request that got no answer. An untrusted server certificate is permanent: asking
    again meets the same certificate."""
    untrusted = isinstance(error, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(error)
    return DataverseConnectionError(
        f"{describe} got no response: {type(error).__name__}: " + scrub(str(error), secrets)[:300],
        transient=not untrusted,
    )
