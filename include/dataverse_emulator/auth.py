"""A stand-in for the Microsoft Entra ID token service (client credentials only) and bearer-token checks.

It serves what unmodified MSAL reads: ``<authority>/v2.0/.well-known/openid-configuration`` and the v2.0 token
endpoint. A client proves itself with the client secret or with a JWT client assertion signed by the key of
the registered client certificate (MSAL sends ``x5t#S256`` with PS256, or ``x5t`` with RS256). Failures answer
with Entra's error shape and AADSTS codes, and never echo the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .errors import UNAUTHORIZED, ODataError
from .httputil import Headers, Request, Response, json_response
from .settings import Settings

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SIGNING_KEY_FILE = "token-signing.key"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_signing_key(data_dir: Path) -> bytes:
    """The per-data-folder HMAC key for issued tokens (created once, so tokens survive a restart)."""
    path = data_dir / SIGNING_KEY_FILE
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return bytes.fromhex(path.read_text().strip())


class AuthError(Exception):
    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.code, self.description = status, error, code, description


class TokenService:
    def __init__(self, settings: Settings, client_cert: x509.Certificate, signing_key: bytes) -> None:
        self.settings = settings
        self.client_cert = client_cert
        self.signing_key = signing_key
        der = client_cert.public_bytes(serialization.Encoding.DER)
        self.x5t = _b64url(hashlib.sha1(der).digest())  # noqa: S324 - the x5t header is defined as SHA-1
        self.x5t_s256 = _b64url(hashlib.sha256(der).digest())
        self.lifetime_seconds = 3600

    # -- discovery ----------------------------------------------------------------------------------------
    def origin(self, request: Request) -> str:
        """The origin the client used, when it is one of ours (so MSAL keeps talking to the same host)."""
        host = request.headers.get("Host") or ""
        candidate = f"https://{host}"
        return candidate if candidate in self.settings.org_aliases else self.settings.org_url

    def tenant_known(self, tenant: str) -> bool:
        return tenant.lower() == self.settings.tenant_id.lower()

    def discovery(self, request: Request, tenant: str) -> Response:
        origin = self.origin(request)
        if not self.tenant_known(tenant):
            return self._error_response(origin, AuthError(
                400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found. Check to make sure you have the "
                "correct tenant ID and are signing into the correct cloud."))
        base = f"{origin}/{self.settings.tenant_id}"
        return json_response(200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/openid/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "ver", "oid"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": "emulator.local",
            "cloud_graph_host_name": "graph.emulator.local",
            "msgraph_host": "graph.emulator.local",
        }, content_type="application/json; charset=utf-8")

    def keys(self, request: Request, tenant: str) -> Response:
        # Issued tokens are HMAC-signed: there is no public key to publish.
        return json_response(200, {"keys": []}, content_type="application/json; charset=utf-8")

    # -- token endpoint -----------------------------------------------------------------------------------
    def token(self, request: Request, tenant: str) -> tuple[Response, str | None]:
        """Answer a token request; also return the client id for the request log."""
        origin = self.origin(request)
        form: dict[str, str] = {}
        try:
            form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
            return self._issue(request, tenant, form), form.get("client_id")
        except AuthError as err:
            return self._error_response(origin, err), form.get("client_id")

    def _issue(self, request: Request, tenant: str, form: dict[str, str]) -> Response:
        s = self.settings
        if not self.tenant_known(tenant):
            raise AuthError(400, "invalid_request", 90002, f"Tenant '{tenant}' not found. Check to make sure you "
                            "have the correct tenant ID and are signing into the correct cloud.")
        basic = request.headers.get("Authorization", "")
        if basic.lower().startswith("basic "):
            user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
            form.setdefault("client_id", user)
            form.setdefault("client_secret", password)
        grant = form.get("grant_type")
        if not grant:
            raise AuthError(400, "invalid_request", 900144,
                            "The request body must contain the following parameter: 'grant_type'.")
        if grant != "client_credentials":
            raise AuthError(400, "unsupported_grant_type", 70003,
                            f"The app requested an unsupported grant type '{grant}'.")
        assertion = form.get("client_assertion")
        client_id = form.get("client_id") or (self._unverified_issuer(assertion) if assertion else None)
        if not client_id:
            raise AuthError(400, "invalid_request", 900144,
                            "The request body must contain the following parameter: 'client_id'.")
        if client_id.lower() != s.client_id.lower():
            raise AuthError(400, "unauthorized_client", 700016,
                            f"Application with identifier '{client_id}' was not found in the directory "
                            f"'{s.tenant_id}'. This can happen if the application has not been installed by the "
                            "administrator of the tenant or consented to by any user in the tenant. You may have "
                            "sent your authentication request to the wrong tenant.")
        if assertion:
            if form.get("client_assertion_type") != JWT_BEARER:
                raise AuthError(400, "invalid_request", 900144, "The request body must contain the following "
                                f"parameter: 'client_assertion_type' with the value '{JWT_BEARER}'.")
            self._check_assertion(request, assertion)
            credential = "2"
        else:
            secret = form.get("client_secret")
            if not secret:
                raise AuthError(401, "invalid_client", 7000218, "The request body must contain the following "
                                "parameter: 'client_assertion' or 'client_secret'.")
            if not hmac.compare_digest(secret.encode(), s.client_secret.encode()):
                raise AuthError(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the "
                                "secret being sent in the request is the client secret value, not the client "
                                f"secret ID, for a secret added to app '{s.client_id}'.")
            credential = "1"
        resource = self._resource(form.get("scope"))
        now = int(time.time())
        lifetime = int(self.lifetime_seconds)
        claims = {
            "aud": resource, "iss": f"https://sts.windows.net/{s.tenant_id}/", "iat": now, "nbf": now,
            "exp": now + lifetime, "appid": s.client_id, "appidacr": credential,
            "idp": f"https://sts.windows.net/{s.tenant_id}/", "oid": s.client_id, "sub": s.client_id,
            "tid": s.tenant_id, "ver": "1.0", "idtyp": "app", "uti": secrets.token_urlsafe(16),
        }
        token = jwt.encode(claims, self.signing_key, algorithm="HS256", headers={"kid": "emulator"})
        return json_response(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                                   "access_token": token}, content_type="application/json; charset=utf-8")

    @staticmethod
    def _unverified_issuer(assertion: str) -> str | None:
        try:
            return jwt.decode(assertion, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            return None

    def _resource(self, scope: str | None) -> str:
        if not scope:
            raise AuthError(400, "invalid_request", 900144,
                            "The request body must contain the following parameter: 'scope'.")
        scopes = [x for x in scope.split() if x not in ("openid", "profile", "offline_access", "email")]
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise AuthError(400, "invalid_scope", 1002012,
                            f"The provided value for scope {scope} is not valid. Client credential flows must have "
                            "a scope value with /.default suffixed to the resource identifier (application ID URI).")
        resource = scopes[0][: -len("/.default")]
        if resource.rstrip("/") not in self.settings.org_aliases:
            raise AuthError(400, "invalid_resource", 500011,
                            f"The resource principal named {resource} was not found in the tenant named "
                            f"{self.settings.tenant_id}. This can happen if the application has not been installed "
                            "by the administrator of the tenant or consented to by any user in the tenant. You might "
                            "have sent your authentication request to the wrong tenant.")
        return resource

    def _check_assertion(self, request: Request, assertion: str) -> None:
        s = self.settings
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise AuthError(401, "invalid_client", 50027, "JWT token is invalid or malformed.") from None
        alg = header.get("alg")
        if alg not in ("RS256", "PS256", "RS384", "RS512", "PS384", "PS512"):
            raise AuthError(401, "invalid_client", 5002738,
                            f"Invalid JWT token. '{alg}' is not a supported signature algorithm.")
        presented = header.get("x5t#S256") or header.get("x5t")
        # Padding is optional in base64url (MSAL keeps it); compare without it.
        if str(presented).rstrip("=") not in (self.x5t_s256, self.x5t):
            raise AuthError(401, "invalid_client", 700027,
                            "Client assertion failed signature validation. [Reason - The key was not found., "
                            f"Thumbprint of key used by client: '{presented}']")
        endpoints = [f"{origin}/{s.tenant_id}/oauth2/v2.0/token" for origin in s.org_aliases]
        try:
            claims = jwt.decode(assertion, self.client_cert.public_key(), algorithms=[alg], audience=endpoints,
                                options={"require": ["exp", "aud", "iss", "sub"]})
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "invalid_client", 700024,
                            "Client assertion is not within its valid time range.") from None
        except jwt.InvalidAudienceError:
            raise AuthError(401, "invalid_client", 700212, "The audience of the client assertion must be the "
                            "token endpoint of this tenant.") from None
        except jwt.InvalidSignatureError:
            raise AuthError(401, "invalid_client", 700027,
                            "Client assertion failed signature validation.") from None
        except jwt.PyJWTError as err:
            raise AuthError(401, "invalid_client", 50027, f"JWT token is invalid or malformed: {err}.") from None
        expected = s.client_id.lower()
        if str(claims.get("iss")).lower() != expected or str(claims.get("sub")).lower() != expected:
            raise AuthError(401, "invalid_client", 700023, "The 'iss' and 'sub' claims of the client assertion must "
                            "both be the client id of the application.")

    def unavailable(self, status: int, message: str) -> Response:
        """An injected token-service failure as Entra words one (``temporarily_unavailable`` for a 503)."""
        error = "temporarily_unavailable" if status == 503 else "server_error"
        return self._error_response(self.settings.org_url, AuthError(status, error, 90033, message))

    def _error_response(self, origin: str, err: AuthError) -> Response:
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        description = (f"AADSTS{err.code}: {err.description} Trace ID: {trace} Correlation ID: {correlation} "
                       f"Timestamp: {stamp}")
        return json_response(err.status, {
            "error": err.error, "error_description": description, "error_codes": [err.code], "timestamp": stamp,
            "trace_id": trace, "correlation_id": correlation, "error_uri": f"{origin}/error?code={err.code}",
        }, content_type="application/json; charset=utf-8")

    # -- resource side ------------------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> str:
        """The caller's application id from a valid bearer token, or a 401 ``ODataError``."""
        s = self.settings
        challenge = Headers({"WWW-Authenticate": f"Bearer authorization_uri={s.authority}/oauth2/authorize, "
                                                 f"resource_id={s.org_url}/"})

        def unauthorized(message: str) -> ODataError:
            return ODataError(401, UNAUTHORIZED, message, challenge)

        if not authorization or not authorization.lower().startswith("bearer "):
            raise unauthorized("The request is not authenticated: send 'Authorization: Bearer <access token>'.")
        token = authorization[7:].strip()
        audiences = [a for origin in s.org_aliases for a in (origin, origin + "/")]
        try:
            claims: dict[str, Any] = jwt.decode(token, self.signing_key, algorithms=["HS256"], audience=audiences,
                                                options={"require": ["exp", "aud", "appid", "tid"]})
        except jwt.ExpiredSignatureError:
            raise unauthorized("The access token has expired. Acquire a new token and send the request again.") \
                from None
        except jwt.InvalidAudienceError:
            aud = jwt.decode(token, options={"verify_signature": False}).get("aud")
            raise unauthorized(f"The access token was issued for the audience '{aud}', not for this "
                               f"organization ({s.org_url}).") from None
        except jwt.InvalidSignatureError:
            raise unauthorized("The access token signature is invalid.") from None
        except jwt.PyJWTError as err:
            raise unauthorized(f"The access token is invalid: {err}.") from None
        if str(claims["tid"]).lower() != s.tenant_id.lower() or str(claims["appid"]).lower() != s.client_id.lower():
            raise unauthorized("The access token was not issued to the application registered for this "
                               "organization.")
        return str(claims["appid"])
