"""App-only tokens for Dataverse through MSAL's confidential client (client credentials flow).

A token is fetched as the first step of a Web API attempt, so the one retry policy of the transport covers token
acquisition too: there is no second retry loop here. What this module adds is the classification the policy
needs. MSAL reports a 5xx from the token endpoint as a bare ``MsalServiceError``, an unreadable body as a raw
``JSONDecodeError`` (after logging the body, which may hold a token), and caches 429/5xx answers for a while, so
an immediate retry would be answered from that cache without asking the endpoint again. :class:`TokenHttpClient`
therefore sits between MSAL and the network and raises a typed, transient error for every such answer before MSAL
sees it: nothing transient is ever cached, and every retry reaches the endpoint. What does reach MSAL is a
success or a refusal (``invalid_client``...), and refusals are permanent.
"""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from typing import Any

import msal
import requests

from dynamics_campaign_sync.dataverse.config import DataverseConfig
from dynamics_campaign_sync.dataverse.errors import TRANSIENT_STATUSES, AuthenticationError, HttpError, scrub
from dynamics_campaign_sync.dataverse.responses import connection_error, read_json

log = logging.getLogger(__name__)

#: OAuth error codes (RFC 6749 §5.2 and §4.1.2.1) that mean "not now" rather than "no".
TRANSIENT_OAUTH_ERRORS = frozenset({"temporarily_unavailable", "server_error"})
#: Who answered, in error messages: the discovery document and the token endpoint are both the authority's.
SOURCE = "The authority"


class TokenHttpClient:
    """The HTTP client MSAL sends through (its ``http_client``): our verifying session, a timeout on every
    request (MSAL applies its own ``timeout`` only to a session it builds itself), and typed errors for answers
    that are worth another try — 408/429/5xx, an OAuth ``temporarily_unavailable``, a body that is not JSON.

    Network failures are left as ``requests`` exceptions, because MSAL falls back to a still-valid cached token
    on those; :class:`TokenProvider` types them.
    """

    def __init__(self, session: requests.Session, config: DataverseConfig) -> None:
        self._session = session
        self._config = config

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self._checked("POST", url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self._checked("GET", url, **kwargs)

    def close(self) -> None:
        """The session belongs to the client, which closes it."""

    def _checked(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._config.timeout_seconds)
        response = self._session.request(method, url, **kwargs)
        failed = response.status_code >= 500 or response.status_code in TRANSIENT_STATUSES
        if failed and not response.content.strip():
            raise self._failure(response, "", method, url)
        body = read_json(response, method=method, url=url, source=SOURCE)  # unreadable: raised, typed
        if failed or body.get("error") in TRANSIENT_OAUTH_ERRORS:
            raise self._failure(response, body, method, url)
        return response

    def _failure(self, response: requests.Response, body: dict[str, Any] | str, method: str, url: str) -> HttpError:
        """The typed error for a failed answer; its status decides ``is_transient``. A 400 saying
        ``temporarily_unavailable`` is reported as the 503 it means."""
        status = response.status_code
        if status < 500 and status not in TRANSIENT_STATUSES:  # a 4xx saying temporarily_unavailable
            status = 503
        if isinstance(body, dict):
            body = {k: scrub(v, self._config.secrets) if isinstance(v, str) else v for k, v in body.items()}
        return HttpError.from_answer(status, response.headers, body, method=method, url=url,
                                     reason=response.reason or "error", source=SOURCE)


class TokenProvider:
    """Hands out access tokens, reusing MSAL's cache until five minutes before expiry.

    MSAL is built on first use, not at construction, so creating a client (for example while Airflow
    parses a DAG) does no I/O. For an authority that is not Microsoft's (the local emulator) MSAL must
    skip instance discovery, which only Microsoft's hosts answer. Building MSAL reads the authority's
    discovery document; when that fails transiently MSAL is built again on the next attempt.
    """

    def __init__(self, config: DataverseConfig, http_client: requests.Session) -> None:
        self._config = config
        self._http_client = TokenHttpClient(http_client, config)
        self._lock = threading.Lock()

    @cached_property
    def _app(self) -> msal.ConfidentialClientApplication:
        config = self._config
        credential = config.client_secret or config.certificate.as_msal_credential()  # type: ignore[union-attr]
        try:
            return msal.ConfidentialClientApplication(
                config.client_id,
                client_credential=credential,
                authority=config.authority_url,
                instance_discovery=config.is_microsoft_authority,
                http_client=self._http_client,
            )
        except requests.RequestException as exc:
            raise connection_error(f"discovery at the authority {config.authority_url}", exc,
                                   config.secrets) from None
        except ValueError as exc:  # MSAL's way of saying the authority or credential is unusable
            raise AuthenticationError("invalid_configuration", scrub(str(exc), config.secrets)) from None

    def get_token(self) -> str:
        """One try at a token (from MSAL's cache, or from the endpoint). Raises a typed error that the caller's
        retry policy classifies: transient ones are worth another attempt, :class:`AuthenticationError` never."""
        # One caller at a time: concurrent first calls would otherwise each fetch a token.
        with self._lock:
            try:
                result = self._app.acquire_token_for_client(scopes=[self._config.scope])
            except requests.RequestException as exc:
                raise connection_error(f"token request to {self._config.authority_url}", exc,
                                       self._config.secrets) from None
        if "access_token" in result:
            if result.get("token_source") == "identity_provider":
                log.info("Acquired a new Dataverse access token (expires in %ss)", result.get("expires_in"))
            return result["access_token"]
        raise AuthenticationError(
            result.get("error", "unknown_error"),
            scrub(result.get("error_description", "no description"), self._config.secrets),
            correlation_id=result.get("correlation_id"),
        )
