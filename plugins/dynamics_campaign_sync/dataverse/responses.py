"""Reading ``requests`` answers, for the Web API and the token endpoint alike: typed errors from error responses,
JSON bodies checked, and requests that got no answer at all.

Each function turns one kind of trouble into the typed error the retry policy classifies, so the Web API
transport and the token provider share one reading of every answer; how an error answer becomes an error
(``HttpError.from_answer``) lives with the errors themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import requests

from dynamics_campaign_sync.dataverse.errors import (
    DataverseConnectionError,
    HttpError,
    UnreadableResponseError,
    scrub,
)


def unreadable_response(response: requests.Response, detail: str, *, method: str, url: str,
                        source: str = "Dataverse") -> UnreadableResponseError:
    """The typed error for an answer whose body cannot be read; ``detail`` says why, never quoting the body."""
    return UnreadableResponseError.with_headers(response.status_code, response.headers, detail, method=method,
                                                url=url, source=source)


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
        return HttpError.from_answer(response.status_code, response.headers, "", method=method, url=url,
                                     reason=response.reason or "error", source=source)
    try:
        body = read_json(response, method=method, url=url, source=source)
    except UnreadableResponseError as unreadable:
        return unreadable
    return HttpError.from_answer(response.status_code, response.headers, body, method=method, url=url,
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
