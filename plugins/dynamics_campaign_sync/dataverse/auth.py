"""App-only tokens for Dataverse through MSAL's confidential client (client credentials flow)."""

from __future__ import annotations

import logging
import threading
from functools import cached_property

import msal
import requests

from dynamics_campaign_sync.dataverse.config import DataverseConfig
from dynamics_campaign_sync.dataverse.errors import AuthenticationError, DataverseConnectionError, scrub

log = logging.getLogger(__name__)


class TokenProvider:
    """Hands out access tokens, reusing MSAL's cache until five minutes before expiry.

    MSAL is built on first use, not at construction, so creating a client (for example while Airflow
    parses a DAG) does no I/O. For an authority that is not Microsoft's (the local emulator) MSAL must
    skip instance discovery, which only Microsoft's hosts answer.
    """

    def __init__(self, config: DataverseConfig, http_client: requests.Session) -> None:
        self._config = config
        self._http_client = http_client
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
                timeout=config.timeout_seconds,
            )
        except requests.RequestException as exc:
            raise DataverseConnectionError(
                f"cannot reach the authority {config.authority_url}: {type(exc).__name__}: "
                + scrub(str(exc), config.secrets)
            ) from None
        except ValueError as exc:  # MSAL's way of saying the authority or credential is unusable
            raise AuthenticationError("invalid_configuration", scrub(str(exc), config.secrets)) from None

    def get_token(self) -> str:
        # One caller at a time: concurrent first calls would otherwise each fetch a token.
        with self._lock:
            try:
                result = self._app.acquire_token_for_client(scopes=[self._config.scope])
            except requests.RequestException as exc:
                raise DataverseConnectionError(
                    f"token request to {self._config.authority_url} failed: {type(exc).__name__}"
                ) from None
        if "access_token" in result:
            if result.get("token_source") == "identity_provider":
                log.info("Acquired a new Dataverse access token (expires in %ss)", result.get("expires_in"))
            return result["access_token"]
        raise AuthenticationError(
            result.get("error", "unknown_error"),
            scrub(result.get("error_description", "no description"), self._config.secrets),
            correlation_id=result.get("correlation_id"),
        )
