"""Typed errors raised by the Dataverse client.

Every error says what failed in words a user can act on and carries the facts a retry policy or an
operator needs (status, Dataverse error code, ids for a support ticket). None of them ever holds a
secret: messages are built from server responses, which Dataverse and Entra never fill with the
caller's credentials, and are scrubbed once more by :func:`scrub` where a credential could leak.
"""

from __future__ import annotations

from collections.abc import Iterable

#: HTTP statuses that a later identical request may well succeed on.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each secret in ``text`` with ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class DataverseError(Exception):
    """Base class of every error the client raises."""


class DataverseConfigError(DataverseError, ValueError):
    """The connection settings are incomplete or contradictory (names the setting)."""


class AuthenticationError(DataverseError):
    """Entra ID (or the emulator's authority) refused to issue a token."""

    def __init__(self, error: str, description: str, *, correlation_id: str | None = None) -> None:
        self.error = error
        self.description = description
        self.correlation_id = correlation_id
        super().__init__(f"token request failed: {error}: {description}")


class DataverseConnectionError(DataverseError):
    """The request never got an HTTP response (DNS, TLS, refused or dropped connection, timeout)."""

    is_transient = True
    retry_after: float | None = None


class HttpError(DataverseError):
    """Dataverse answered with an error status.

    ``code`` is Dataverse's hexadecimal error code (``0x80040217`` ...), ``retry_after`` the
    ``Retry-After`` header in seconds for 429/503, ``request_id`` the ``x-ms-service-request-id``
    a Microsoft support ticket asks for.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        method: str = "",
        url: str = "",
        code: str | None = None,
        request_id: str | None = None,
        correlation_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.method = method
        self.url = url
        self.code = code
        self.request_id = request_id
        self.correlation_id = correlation_id
        self.retry_after = retry_after
        where = f" ({method} {url})" if method else ""
        code_part = f" [{code}]" if code else ""
        super().__init__(f"Dataverse returned HTTP {status}{code_part}{where}: {message}")

    @property
    def is_transient(self) -> bool:
        return self.status in TRANSIENT_STATUSES

    @property
    def is_throttled(self) -> bool:
        return self.status == 429


class BatchOperationError(HttpError):
    """One operation inside a ``$batch`` failed; ``index`` is its position in the request."""

    def __init__(self, index: int, error: HttpError) -> None:
        self.index = index
        super().__init__(
            error.status,
            error.message,
            method=error.method,
            url=error.url,
            code=error.code,
            request_id=error.request_id,
            correlation_id=error.correlation_id,
            retry_after=error.retry_after,
        )
