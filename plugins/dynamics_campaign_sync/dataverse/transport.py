"""HTTP to the Web API: OData headers, bearer token, concurrency cap, typed errors, one retry policy."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import requests

from dynamics_campaign_sync.dataverse.admission import Admission
from dynamics_campaign_sync.dataverse.auth import TokenProvider
from dynamics_campaign_sync.dataverse.config import DataverseConfig
from dynamics_campaign_sync.dataverse.responses import connection_error, http_error_from_response, read_json
from dynamics_campaign_sync.dataverse.retry import RequestStats, RetryPolicy

T = TypeVar("T")

ODATA_HEADERS = {
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    "Accept": "application/json",
}


class Transport:
    """Sends one Web API request, retried by the policy, at most ``max_concurrency`` at a time — fewer for a while
    after a service protection answer (see :mod:`.admission`)."""

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
        self._admission = Admission(config.max_concurrency)

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
        return self.exchange(method, path, lambda response: response, params=params, json_body=json_body,
                             data=data, headers=headers, accept_error=accept_error)

    def get_json(
        self, path: str, *, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """GET a JSON object. The body is read inside the attempt, so an unreadable one is retried."""
        url = self.url_for(path)
        return self.exchange("GET", path, lambda response: read_json(response, method="GET", url=url),
                             params=params, headers=headers)

    def exchange(
        self,
        method: str,
        path: str,
        read: Callable[[requests.Response], T],
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        accept_error: Callable[[requests.Response], bool] | None = None,
    ) -> T:
        """Get a token, send the request and ``read`` the answer, all as one attempt of the retry policy: a token
        service that is down, a dropped connection, a transient status and an unreadable body (``read`` raising
        a transient error) are all retried alike, within the same bounds."""
        url = self.url_for(path)
        describe = f"{method} {url.split('?', 1)[0]}"
        body = json.dumps(json_body).encode() if json_body is not None else data

        def attempt() -> T:
            all_headers = {**ODATA_HEADERS, "Authorization": f"Bearer {self._tokens.get_token()}"}
            if json_body is not None:
                all_headers["Content-Type"] = "application/json; charset=utf-8"
            all_headers.update(headers or {})
            with self._admission.slot():
                self._stats.count_request()
                try:
                    response = self._session.request(
                        method, url, params=params, data=body, headers=all_headers,
                        timeout=self._config.timeout_seconds,
                    )
                except requests.RequestException as exc:
                    raise connection_error(describe, exc, self._config.secrets) from None
            if response.status_code >= 400 and not (accept_error and accept_error(response)):
                error = http_error_from_response(response, method=method, url=url)
                if error.is_throttled:
                    self._admission.throttled(error.retry_after or 0.0)
                raise error
            self._admission.answered()
            return read(response)

        return self._policy.call(attempt, describe=describe, stats=self._stats)
