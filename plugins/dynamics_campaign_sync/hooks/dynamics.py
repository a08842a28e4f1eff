"""Airflow hook for Microsoft Dynamics 365 / Dataverse: a connection in, a ready client out."""

from __future__ import annotations

import logging
from dataclasses import fields
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from dynamics_campaign_sync.dataverse.config import CertificateCredential, DataverseConfig, read_pem
from dynamics_campaign_sync.dataverse.errors import DataverseConfigError, DataverseError
from dynamics_campaign_sync.dataverse.retry import RetryPolicy

if TYPE_CHECKING:
    from dynamics_campaign_sync.dataverse.client import DataverseClient

log = logging.getLogger(__name__)

#: The certificate's private key as PEM text, and as the path of a PEM file (a mounted secret, say).
KEY_EXTRA = "certificate_private_key"
KEY_PATH_EXTRA = "certificate_key_path"
#: Connection extras that hold secrets. Each name contains a word Airflow's own secrets masker matches
#: (``private_key``, ``passphrase``; see ``[core] sensitive_var_conn_names``), so the UI, the REST API
#: and task logs redact them by name; the hook masks their values in logs as well.
SECRET_EXTRAS = (KEY_EXTRA, "certificate_passphrase")
#: Old names of secret extras → their new names. Still read, but Airflow does not mask the old names.
RENAMED_SECRET_EXTRAS = {"certificate_key": KEY_EXTRA}


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


def unmasked_extras_advice(extra: dict[str, Any]) -> str | None:
    """What to rename when secrets sit under old extra names that Airflow does not mask (None if none do)."""
    old = [name for name in RENAMED_SECRET_EXTRAS if extra.get(name)]
    if not old:
        return None
    renames = ", ".join(f"{name!r} to {RENAMED_SECRET_EXTRAS[name]!r}" for name in old)
    return (
        f"connection extra {', '.join(map(repr, old))} is not masked by Airflow (UI and REST API): "
        f"rename {renames}, or give the key as a file ({KEY_PATH_EXTRA!r}) "
        "or keep the connection in a secrets backend"
    )


def _mask(*secrets: str | None) -> None:
    """Mask each value in every log line of this process, whatever name it was read under."""
    for secret in secrets:
        if secret:
            mask_secret(secret)


def certificate_from_extras(extra: dict[str, Any]) -> CertificateCredential | None:
    """The certificate credential the extras describe, or None when they give no private key.

    The key comes from exactly one place: ``certificate_private_key`` (PEM), its old name
    ``certificate_key``, or ``certificate_key_path`` (a PEM file, so the key need not be in the connection).
    """
    sources = [name for name in (KEY_EXTRA, *RENAMED_SECRET_EXTRAS, KEY_PATH_EXTRA) if extra.get(name)]
    if not sources:
        return None
    if len(sources) > 1:
        raise DataverseConfigError(
            f"the connection gives the certificate's private key more than once ({', '.join(map(repr, sources))}): "
            f"keep only {KEY_EXTRA!r} (PEM) or {KEY_PATH_EXTRA!r} (file path)"
        )
    if sources == [KEY_PATH_EXTRA]:
        key_pem = read_pem(extra[KEY_PATH_EXTRA], "certificate private key")
        _mask(key_pem)  # read from disk, so Airflow has never seen it
    else:
        key_pem = extra[sources[0]]
    public = read_pem(extra["certificate_path"], "certificate") if extra.get("certificate_path") else None
    return CertificateCredential(
        private_key_pem=key_pem,
        public_certificate_pem=public,
        thumbprint=extra.get("certificate_thumbprint") or None,
        passphrase=extra.get("certificate_passphrase") or None,
    )


#: Connection extras that tune the client, with their types; ``timeout`` sets ``DataverseConfig.timeout_seconds``.
CLIENT_EXTRAS: dict[str, type] = {"api_version": str, "max_page_size": int, "timeout": float, "max_concurrency": int}


def typed_extras(extra: dict[str, Any], types: dict[str, type]) -> dict[str, Any]:
    """The extras named in ``types`` that are set, each converted to its type (a bad value names the extra)."""
    values: dict[str, Any] = {}
    for name, cast in types.items():
        if extra.get(name) not in (None, ""):
            try:
                values[name] = cast(extra[name])
            except ValueError:
                raise DataverseConfigError(
                    f"connection extra {name!r} must be a {cast.__name__}, got {extra[name]!r}"
                ) from None
    return values


def retry_policy_from_extras(extra: dict[str, Any]) -> RetryPolicy:
    """The retry policy the extras ask for: each :class:`RetryPolicy` setting under its own name (``max_attempts``,
    ``max_total_seconds``, ``base_delay_seconds``, ``max_delay_seconds``), its default where none is given."""
    return RetryPolicy(**typed_extras(extra, {f.name: type(f.default) for f in fields(RetryPolicy)}))


def config_from_connection(conn: Any) -> DataverseConfig:
    """Map an Airflow connection onto client settings, retry policy included, masking every secret it holds in
    this process's logs.

    host = organisation URL, login = application (client) id, password = client secret; extras:
    ``tenant_id`` (required), ``authority`` (only for a non-Microsoft authority such as the local
    emulator), ``api_version``, ``verify`` (true/false or a CA bundle path), ``max_page_size``,
    ``timeout``, ``max_concurrency``, the retry settings of :func:`retry_policy_from_extras`, and for
    certificate credentials ``certificate_key_path`` (PEM file) or ``certificate_private_key`` (PEM),
    ``certificate_path`` (public certificate PEM file), ``certificate_thumbprint``, ``certificate_passphrase``.
    """
    extra = unprefixed_extras(conn.extra_dejson or {})
    _mask(conn.password, *(extra.get(name) for name in (*SECRET_EXTRAS, *RENAMED_SECRET_EXTRAS)))
    if advice := unmasked_extras_advice(extra):
        log.warning("%s", advice)
    certificate = certificate_from_extras(extra)
    options = typed_extras(extra, CLIENT_EXTRAS)
    if "timeout" in options:
        options["timeout_seconds"] = options.pop("timeout")
    return DataverseConfig(
        org_url=org_url_from(conn.host, conn.port),
        tenant_id=extra.get("tenant_id", ""),
        client_id=conn.login or "",
        client_secret=None if certificate else (conn.password or None),
        certificate=certificate,
        authority=extra.get("authority") or None,
        verify=_as_bool_or_path(extra.get("verify", True)),
        retry=retry_policy_from_extras(extra),
        **options,
    )


def client_from_connection(conn: Any) -> DataverseClient:
    """The one way a Dataverse client is built from an Airflow connection — by the hook (so tasks, sensors and
    the connection form's Test button) and by the triggers: every secret the connection holds is masked in this
    process's logs first (:func:`config_from_connection`), and a bad setting names the connection. No I/O: the
    client signs in on its first request."""
    # Imported here: the client loads MSAL and requests, which a DAG file parsing operators never needs.
    from dynamics_campaign_sync.dataverse.client import DataverseClient

    try:
        config = config_from_connection(conn)
    except DataverseConfigError as exc:
        raise DataverseConfigError(f"connection {conn.conn_id!r}: {exc}") from None
    return DataverseClient(config)


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
    def connection(self) -> Any:
        return self.get_connection(self.dynamics_conn_id)

    @cached_property
    def config(self) -> DataverseConfig:
        return self.client.config

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        """How the client retries each request: the connection's retry extras over the policy's defaults."""
        return self.config.retry

    @cached_property
    def client(self) -> DataverseClient:
        return client_from_connection(self.connection)

    def get_conn(self) -> DataverseClient:
        return self.client

    def test_connection(self) -> tuple[bool, str]:
        """Fetch a token and read one campaign: proves URL, credential and privileges in one go.

        The UI shows the message, so it also carries the advice to rename secret extras Airflow does not mask.
        """
        try:
            self.client.check_access()
        except DataverseError as exc:
            ok, message = False, str(exc)
        else:
            ok, message = True, f"Connected to {self.config.org_url} as application {self.config.client_id}"
        advice = unmasked_extras_advice(unprefixed_extras(self.connection.extra_dejson or {}))
        return ok, f"{message.rstrip('.')}. Warning: {advice}." if advice else message
