"""Typed errors raised by the Dataverse client.

Every error says what failed in words a user can act on and carries the facts a retry policy or an
operator needs (status, Dataverse error code, ids for a support ticket). None of them ever holds a
secret: messages are built from server responses, which Dataverse and Entra never fill with the
caller's credentials, and are scrubbed once more by :func:`scrub` where a credential could leak.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, asdict, dataclass
from typing import Any, Self

#: HTTP statuses that a later identical request may well succeed on.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each secret in ``text`` with ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


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


class DataverseError(Exception):
    """Base class of every error the client raises.

    ``is_transient`` answers the retry policy's one question — may the same request succeed later? — and
    ``retry_after`` carries the wait the service asked for, when it named one.
    """

    is_transient: bool = False
    retry_after: float | None = None
    #: Whether running the task again, unchanged, meets the same failure (see ``errors.is_permanent``). What the
    #: retry policy gave up on may pass later, and so may an unforeseen error: only the kinds below that say so
    #: are permanent.
    is_permanent: bool = False


class DataverseConfigError(DataverseError, ValueError):
    """The connection settings are incomplete or contradictory (names the setting)."""

    is_permanent = True


class AuthenticationError(DataverseError):
    """Entra ID (or the emulator's authority) refused to issue a token, or the credential settings are unusable.

    A refusal (``invalid_client``, ``unauthorized_client``, ``invalid_scope``, an unknown tenant...) is permanent:
    asking again with the same credential gets the same answer, so it is never retried. A token service that is
    down or overloaded is not a refusal; that surfaces as a transient :class:`HttpError` or
    :class:`DataverseConnectionError` naming the token endpoint.
    """

    is_permanent = True

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
        self.is_permanent = not transient


@dataclass(eq=False, repr=False)
class HttpError(DataverseError):
    """Dataverse answered with an error status.

    ``code`` is Dataverse's hexadecimal error code (``0x80040217`` ...), ``retry_after`` the
    ``Retry-After`` header in seconds for 429/503, ``request_id`` the ``x-ms-service-request-id``
    a Microsoft support ticket asks for. (A dataclass for its facts only: errors compare by identity, and their
    repr stays the exception's.)
    """

    status: int
    message: str
    _: KW_ONLY
    method: str = ""
    url: str = ""
    code: str | None = None
    request_id: str | None = None
    correlation_id: str | None = None
    retry_after: float | None = None
    source: str = "Dataverse"

    def __post_init__(self) -> None:
        super().__init__(self._text())

    def _text(self) -> str:
        where = f" ({self.method} {self.url})" if self.method else ""
        code_part = f" [{self.code}]" if self.code else ""
        return f"{self.source} returned HTTP {self.status}{code_part}{where}: {self.message}"

    @classmethod
    def from_answer(cls, status: int, headers: Mapping[str, str], body: Any, *, method: str, url: str,
                    reason: str = "error", source: str = "Dataverse") -> Self:
        """The error an error answer means — a response, or one operation of a ``$batch`` — reading Dataverse's
        ``{"error": {"code", "message"}}`` body or Entra's ``{"error", "error_description"}`` (``body`` parsed
        JSON, or text; ``reason`` when it says nothing)."""
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, str):  # OAuth's shape, from the token endpoint
            error = {"code": error, "message": body.get("error_description")}
        error = error if isinstance(error, dict) else {}
        text = body.strip()[:500] if isinstance(body, str) else ""
        return cls.with_headers(
            status, headers, error.get("message") or text or reason, method=method, url=url,
            code=error.get("code") or None, source=source,
            correlation_id=body.get("correlation_id") if isinstance(body, dict) else None,
        )

    @classmethod
    def with_headers(cls, status: int, headers: Mapping[str, str], message: str, *, method: str, url: str,
                     code: str | None = None, correlation_id: str | None = None,
                     source: str = "Dataverse") -> Self:
        """An error whose request id, correlation id and ``Retry-After`` come from the answer's headers (looked up
        by lower-case name, which both ``requests``' headers and decoded batch parts allow); ``url`` loses its
        query, which may hold people's data."""
        return cls(
            status,
            message,
            method=method,
            url=url.split("?", 1)[0],
            code=code,
            request_id=_request_id(headers),
            correlation_id=headers.get("x-ms-correlation-request-id") or correlation_id,
            retry_after=parse_retry_after(headers.get("retry-after")),
            source=source,
        )

    @property
    def is_transient(self) -> bool:  # type: ignore[override]
        return self.status in TRANSIENT_STATUSES

    @property
    def is_permanent(self) -> bool:  # type: ignore[override]
        """A refusal of the request itself (400, 401, 403, 404, 412...): the same request is refused again. A 5xx
        the retry policy does not retry (501...) is left to the task's retries: the service may be mending."""
        return 400 <= self.status < 500 and not self.is_transient

    @property
    def is_throttled(self) -> bool:
        return self.status == 429


class BatchOperationError(HttpError):
    """One operation inside a ``$batch`` failed; ``index`` is its position in the request."""

    def __init__(self, index: int, error: HttpError) -> None:
        self.index = index
        super().__init__(**asdict(error))


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
