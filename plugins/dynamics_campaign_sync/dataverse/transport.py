"""HTTP to the Web API: OData headers, bearer token, concurrency cap, typed errors, one retry policy."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

import requests

from dynamics_campaign_sync.dataverse.auth import TokenProvider
from dynamics_campaign_sync.dataverse.config import DataverseConfig
from dynamics_campaign_sync.dataverse.errors import DataverseConnectionError, HttpError, scrub
from dynamics_campaign_sync.dataverse.retry import RequestStats, RetryPolicy

ODATA_HEADERS = {
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    "Accept": "application/json",
}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (Dataverse sends integer seconds)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def http_error(status: int, headers: Mapping[str, str], body: Any, *, method: str, url: str,
               reason: str = "error") -> HttpError:
    """A typed error from an error answer — a response, or one operation of a ``$batch`` — reading Dataverse's
    ``{"error": {...}}`` body (``body`` parsed JSON, or text). Headers are looked up by lower-case name, which
    both requests' headers and decoded batch parts allow."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    text = body.strip()[:500] if isinstance(body, str) else ""
    return HttpError(
        status,
        error.get("message") or text or reason,
        method=method,
        url=url.split("?", 1)[0],
        code=error.get("code") or None,
        request_id=headers.get("x-ms-service-request-id") or headers.get("req_id"),
        correlation_id=headers.get("x-ms-correlation-request-id"),
        retry_after=parse_retry_after(headers.get("retry-after")),
    )


def http_error_from_response(response: requests.Response, *, method: str, url: str) -> HttpError:
    """Build a typed error from an error response."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return http_error(response.status_code, response.headers, body, method=method, url=url,
                      reason=response.reason or "error")


class Transport:
    """Sends one Web API request, retried by the policy, at most ``max_concurrency`` at a time."""

    def __init__(
        self,
        config: DataverseConfig,
        session: requests.Session,
        tokens: TokenProvider,
        stats: RequestStats,
        policy: RetryPolicy,
    ) -> None:
        self._config = config
        self._session = session
        self._tokens = tokens
        self._stats = stats
        self._policy = policy
        self._slots = threading.BoundedSemaphore(config.max_concurrency)

    def url_for(self, path: str) -> str:
        """Absolute URL; ``@odata.nextLink`` values are absolute and pass through unchanged."""
        return path if path.startswith("https://") else self._config.api_url + path.lstrip("/")

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        accept_error: Callable[[requests.Response], bool] | None = None,
    ) -> requests.Response:
        """Send a request; an error status raises :class:`HttpError` unless ``accept_error`` takes it."""
        url = self.url_for(path)
        describe = f"{method} {url.split('?', 1)[0]}"

        def send() -> requests.Response:
            all_headers = {**ODATA_HEADERS, "Authorization": f"Bearer {self._tokens.get_token()}"}
            body = data
            if json_body is not None:
                all_headers["Content-Type"] = "application/json; charset=utf-8"
                body = json.dumps(json_body).encode()
            all_headers.update(headers or {})
            with self._slots:
                self._stats.count_request()
                try:
                    response = self._session.request(
                        method,
                        url,
                        params=params,
                        data=body,
                        headers=all_headers,
                        timeout=self._config.timeout_seconds,
                    )
                except requests.RequestException as exc:
                    raise DataverseConnectionError(
                        f"{describe} got no response: {type(exc).__name__}: "
                        + scrub(str(exc), self._config.secrets)[:300]
                    ) from None
            if response.status_code >= 400 and not (accept_error and accept_error(response)):
                raise http_error_from_response(response, method=method, url=url)
            return response

        return self._policy.call(send, describe=describe, stats=self._stats)

    def get_json(
        self, path: str, *, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        return self.request("GET", path, params=params, headers=headers).json()
