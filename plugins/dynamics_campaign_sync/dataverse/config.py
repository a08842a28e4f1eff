"""Connection settings for one Dataverse organisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dynamics_campaign_sync.dataverse.errors import DataverseConfigError
from dynamics_campaign_sync.dataverse.retry import RetryPolicy

MICROSOFT_AUTHORITY_HOST = "https://login.microsoftonline.com"
#: Dataverse caps a page at 5000 records whatever the client asks for.
MAX_PAGE_SIZE = 5000
#: Dataverse's service protection limit on concurrent requests per user (application user).
DATAVERSE_CONCURRENT_LIMIT = 52
#: Requests one client keeps in flight by default: the per-user limit shared by the 4 slots of the Airflow pool
#: ``dataverse`` (4 × 12 = 48 ≤ 52), so syncs running side by side stay under it.
DEFAULT_MAX_CONCURRENCY = 12


def read_pem(path: str | Path, what: str) -> str:
    """The text of a PEM file; an unreadable file is a config error naming what and where (never the content)."""
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise DataverseConfigError(f"cannot read the {what} file {str(path)!r}: {reason}") from None


@dataclass(frozen=True)
class CertificateCredential:
    """An app registration's certificate: a PEM private key plus its public certificate.

    MSAL signs a client assertion with the key; Entra finds the registered certificate by the
    SHA-256 thumbprint MSAL computes from ``public_certificate`` (or by an explicit SHA-1 ``thumbprint``).
    """

    private_key_pem: str = field(repr=False)
    public_certificate_pem: str | None = None
    thumbprint: str | None = None
    passphrase: str | None = field(default=None, repr=False)

    @classmethod
    def from_files(
        cls, private_key_path: str | Path, certificate_path: str | Path | None = None, **kwargs: str | None
    ) -> CertificateCredential:
        """The key (and certificate) read from PEM files, e.g. a mounted secret, so no PEM sits in settings."""
        certificate = read_pem(certificate_path, "certificate") if certificate_path else None
        return cls(
            private_key_pem=read_pem(private_key_path, "certificate private key"),
            public_certificate_pem=certificate,
            **kwargs,
        )

    def as_msal_credential(self) -> dict[str, str]:
        credential = {"private_key": self.private_key_pem}
        if self.public_certificate_pem:
            credential["public_certificate"] = self.public_certificate_pem
        if self.thumbprint:
            credential["thumbprint"] = self.thumbprint
        if self.passphrase:
            credential["passphrase"] = self.passphrase
        return credential


@dataclass(frozen=True)
class DataverseConfig:
    """Everything needed to talk to one organisation; ``repr`` never shows a secret.

    ``verify`` is ``True`` (system trust store), ``False`` (no verification; local use only) or the
    path of a CA bundle, such as the local emulator's private CA. ``retry`` is how every request of a client
    built from these settings is retried. ``max_concurrency`` is how many requests the client keeps in flight at
    once (member chunks are sent that many at a time; the HTTP connection pool is sized to it).
    """

    org_url: str
    tenant_id: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    certificate: CertificateCredential | None = None
    authority: str | None = None
    api_version: str = "9.2"
    verify: bool | str = True
    max_page_size: int = MAX_PAGE_SIZE
    timeout_seconds: float = 60.0
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        parts = urlsplit(self.org_url)
        if parts.scheme != "https" or not parts.netloc:
            raise DataverseConfigError(
                f"org_url must be an https URL such as https://contoso.crm.dynamics.com, got {self.org_url!r}"
            )
        object.__setattr__(self, "org_url", f"https://{parts.netloc}")
        for name in ("tenant_id", "client_id"):
            if not getattr(self, name):
                raise DataverseConfigError(f"{name} is required")
        if bool(self.client_secret) == bool(self.certificate):
            raise DataverseConfigError("give exactly one credential: a client secret or a certificate")
        if not 1 <= self.max_page_size <= MAX_PAGE_SIZE:
            raise DataverseConfigError(
                f"max_page_size must be between 1 and {MAX_PAGE_SIZE}, got {self.max_page_size}"
            )
        if not 1 <= self.max_concurrency <= DATAVERSE_CONCURRENT_LIMIT:
            raise DataverseConfigError(
                f"max_concurrency must be between 1 and {DATAVERSE_CONCURRENT_LIMIT} (Dataverse's concurrent "
                f"requests per user), got {self.max_concurrency}"
            )
        if isinstance(self.verify, str) and not Path(self.verify).is_file():
            raise DataverseConfigError(f"verify points at a CA bundle that does not exist: {self.verify}")

    @property
    def api_url(self) -> str:
        """Service root of the Web API, ending with a slash."""
        return f"{self.org_url}/api/data/v{self.api_version}/"

    @property
    def authority_url(self) -> str:
        return (self.authority or f"{MICROSOFT_AUTHORITY_HOST}/{self.tenant_id}").rstrip("/")

    @property
    def is_microsoft_authority(self) -> bool:
        return (
            urlsplit(self.authority_url)
            .netloc.lower()
            .endswith(
                (
                    "login.microsoftonline.com",
                    "login.microsoftonline.us",
                    "login.chinacloudapi.cn",
                    "login.partner.microsoftonline.cn",
                )
            )
        )

    @property
    def scope(self) -> str:
        return f"{self.org_url}/.default"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in logs or error messages."""
        values = [self.client_secret]
        if self.certificate:
            values += [self.certificate.private_key_pem, self.certificate.passphrase]
        return tuple(v for v in values if v)
