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
    """Base class of every error the client raises.

    ``is_transient`` answers the retry policy's one question — may the same request succeed later? — and
    ``retry_after`` carries the wait the service asked for, when it named one.
    """

    is_transient: bool = False
    retry_after: float | None = None


class DataverseConfigError(DataverseError, ValueError):
    """The connection settings are incomplete or contradictory (names the setting)."""


class AuthenticationError(DataverseError):
    """Entra ID (or the emulator's authority) refused to issue a token, or the credential settings are unusable.

    A refusal (``invalid_client``, ``unauthorized_client``, ``invalid_scope``, an unknown tenant...) is permanent:
    asking again with the same credential gets the same answer, so it is never retried. A token service that is
    down or overloaded is not a refusal; that surfaces as a transient :class:`HttpError` or
    :class:`DataverseConnectionError` naming the token endpoint.
    """

    def __init__(self, error: str, description: str, *, correlation_id: str | None = None) -> None:
        self.error = error
        self.description = description
        self.correlation_id = correlation_id
        super().__init__(f"token request failed: {error}: {description}")


class DataverseConnectionError(DataverseError):
    """The request never got an HTTP response (DNS, TLS, refused or dropped connection, timeout).

    Transient unless ``transient=False`` says otherwise: a server certificate we do not trust stays untrusted.
    """

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.is_transient = transient


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
        source: str = "Dataverse",
    ) -> None:
        self.status = status
        self.message = message
        self.method = method
        self.url = url
        self.code = code
        self.request_id = request_id
        self.correlation_id = correlation_id
        self.retry_after = retry_after
        self.source = source
        super().__init__(self._text())

    def _text(self) -> str:
        where = f" ({self.method} {self.url})" if self.method else ""
        code_part = f" [{self.code}]" if self.code else ""
        return f"{self.source} returned HTTP {self.status}{code_part}{where}: {self.message}"

    @property
    def is_transient(self) -> bool:  # type: ignore[override]
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


class UnreadableResponseError(HttpError):
    """An answer whose body is not the JSON it should be: invalid or truncated JSON, or an HTML page (a proxy's or
    gateway's) where JSON was due.

    The message names the method, the URL (without its query), the status and the request id, and never quotes
    the body: a token answer holds a token, a page of records holds personal data.

    Transient when the status is a success or itself transient. A 200 whose body breaks off was cut short on the
    way (a dropped connection, a gateway), not refused, and asking again usually reads fine. Only answers to
    requests that are safe to repeat are read this way: reads, token requests, and ``$batch`` requests, whose
    callers send only repeatable operations (as for a lost answer). An unreadable 4xx stays permanent, as its
    status says.
    """

    def _text(self) -> str:
        return (f"{self.source} answered {self.method} {self.url} with HTTP {self.status} and an unreadable body "
                f"({self.message}); request id {self.request_id or 'not given'}")

    @property
    def is_transient(self) -> bool:  # type: ignore[override]
        return self.status < 300 or self.status in TRANSIENT_STATUSES
