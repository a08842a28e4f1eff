"""Airflow hook for Microsoft Dynamics 365 / Dataverse: a connection in, a ready client out."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from dynamics_campaign_sync.dataverse import (
    CertificateCredential,
    DataverseClient,
    DataverseConfig,
    DataverseConfigError,
    DataverseError,
)

#: Connection extras that hold secrets: masked in every log line as soon as they are read.
SECRET_EXTRAS = ("certificate_key", "certificate_passphrase")


def _as_bool_or_path(value: Any) -> bool | str:
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.lower() in {"true", "1", "yes", ""}:
        return True
    if text.lower() in {"false", "0", "no"}:
        return False
    return text


def unprefixed_extras(extra: dict[str, Any]) -> dict[str, Any]:
    """Extras with the connection form's ``extra__dynamics__`` prefix removed (both spellings are accepted)."""
    prefix = "extra__dynamics__"
    plain = {k: v for k, v in extra.items() if not k.startswith(prefix)}
    plain.update({k[len(prefix):]: v for k, v in extra.items() if k.startswith(prefix) and v not in (None, "")})
    return plain


def org_url_from(host: str | None, port: int | None) -> str:
    """The connection's host as an organisation URL; a bare host name means https."""
    if not host:
        raise DataverseConfigError(
            "the connection has no host: set it to the organisation URL, "
            "e.g. https://contoso.crm.dynamics.com"
        )
    url = host if "://" in host else f"https://{host}"
    url = url.rstrip("/")
    if port and url.count(":") < 2:
        url = f"{url}:{port}"
    return url


def config_from_connection(conn: Any) -> DataverseConfig:
    """Map an Airflow connection onto client settings.

    host = organisation URL, login = application (client) id, password = client secret; extras:
    ``tenant_id`` (required), ``authority`` (only for a non-Microsoft authority such as the local
    emulator), ``api_version``, ``verify`` (true/false or a CA bundle path), ``max_page_size``,
    ``timeout``, ``max_concurrency``, ``max_attempts``, and for certificate credentials
    ``certificate_key_path`` or ``certificate_key`` (PEM), ``certificate_path`` (public certificate
    PEM), ``certificate_thumbprint``, ``certificate_passphrase``.
    """
    extra = unprefixed_extras(conn.extra_dejson or {})
    certificate = None
    key_pem = extra.get("certificate_key")
    if extra.get("certificate_key_path"):
        with open(extra["certificate_key_path"]) as handle:
            key_pem = handle.read()
    if key_pem:
        public = None
        if extra.get("certificate_path"):
            with open(extra["certificate_path"]) as handle:
                public = handle.read()
        certificate = CertificateCredential(
            private_key_pem=key_pem,
            public_certificate_pem=public,
            thumbprint=extra.get("certificate_thumbprint") or None,
            passphrase=extra.get("certificate_passphrase") or None,
        )
    options: dict[str, Any] = {}
    for name, cast in (
        ("api_version", str),
        ("max_page_size", int),
        ("timeout", float),
        ("max_concurrency", int),
        ("max_attempts", int),
    ):
        if extra.get(name) not in (None, ""):
            try:
                options["timeout_seconds" if name == "timeout" else name] = cast(extra[name])
            except ValueError:
                raise DataverseConfigError(
                    f"connection extra {name!r} must be a {cast.__name__}, got {extra[name]!r}"
                ) from None
    return DataverseConfig(
        org_url=org_url_from(conn.host, conn.port),
        tenant_id=extra.get("tenant_id", ""),
        client_id=conn.login or "",
        client_secret=None if certificate else (conn.password or None),
        certificate=certificate,
        authority=extra.get("authority") or None,
        verify=_as_bool_or_path(extra.get("verify", True)),
        **options,
    )


class DynamicsHook(BaseHook):
    """Connects to one Dataverse organisation with an app registration (client secret or certificate).

    The client is built on first use, so creating the hook in an operator's ``__init__`` does no I/O.
    """

    conn_name_attr = "dynamics_conn_id"
    default_conn_name = "dynamics_default"
    conn_type = "dynamics"
    hook_name = "Microsoft Dynamics 365"

    def __init__(self, dynamics_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dynamics_conn_id = dynamics_conn_id

    @cached_property
    def config(self) -> DataverseConfig:
        conn = self.get_connection(self.dynamics_conn_id)
        extra = unprefixed_extras(conn.extra_dejson or {})
        for secret in [conn.password, *(extra.get(name) for name in SECRET_EXTRAS)]:
            if secret:
                mask_secret(secret)
        try:
            return config_from_connection(conn)
        except (DataverseConfigError, OSError) as exc:
            raise DataverseConfigError(f"connection {self.dynamics_conn_id!r}: {exc}") from None

    @cached_property
    def client(self) -> DataverseClient:
        return DataverseClient(self.config)

    def get_conn(self) -> DataverseClient:
        return self.client

    def test_connection(self) -> tuple[bool, str]:
        """Fetch a token and read one campaign: proves URL, credential and privileges in one go."""
        try:
            self.client.check_access()
        except DataverseError as exc:
            return False, str(exc)
        return True, f"Connected to {self.config.org_url} as application {self.config.client_id}"
