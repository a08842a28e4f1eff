"""TLS with the private CA, the Entra-like token endpoint (real MSAL), and bearer-token checks on the Web API."""

from __future__ import annotations

import json
import os
import socket
import ssl
import time
import uuid
from pathlib import Path

import jwt
import msal
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dataverse_emulator.testing import RunningEmulator

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def _msal_app(emu: RunningEmulator, credential: object) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(emu.client_id, client_credential=credential, authority=emu.authority,
                                              instance_discovery=False, http_client=emu.session())


def _whoami(emu: RunningEmulator, token: str) -> requests.Response:
    return emu.session().get(emu.api_url + "WhoAmI", headers={"Authorization": f"Bearer {token}"})


def test_tls_is_trusted_only_through_the_private_ca(emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", SYSTEM_BUNDLE)
    assert requests.get(emu.admin_url + "info", verify=emu.ca_path, timeout=10).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(emu.admin_url + "info", timeout=10)  # falls back to REQUESTS_CA_BUNDLE: the system CAs
    port = int(emu.org_url.rsplit(":", 1)[1])
    for host in ("127.0.0.1", "localhost"):  # both names are in the certificate
        context = ssl.create_default_context(cafile=emu.ca_path)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
    if os.path.exists(SYSTEM_BUNDLE):
        context = ssl.create_default_context(cafile=SYSTEM_BUNDLE)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with pytest.raises(ssl.SSLCertVerificationError):
                context.wrap_socket(raw, server_hostname="127.0.0.1")


def test_msal_client_secret_gets_a_token_the_web_api_accepts(emu: RunningEmulator) -> None:
    app = _msal_app(emu, emu.client_secret)
    first = app.acquire_token_for_client([f"{emu.org_url}/.default"])
    assert "access_token" in first, first
    assert first["token_type"] == "Bearer" and first["expires_in"] > 3000
    second = app.acquire_token_for_client([f"{emu.org_url}/.default"])
    assert second["access_token"] == first["access_token"]  # served from MSAL's cache
    claims = jwt.decode(first["access_token"], options={"verify_signature": False})
    assert claims["aud"] == emu.org_url and claims["appid"] == emu.client_id and claims["tid"] == emu.tenant_id
    response = _whoami(emu, first["access_token"])
    assert response.status_code == 200 and response.headers["OData-Version"] == "4.0"
    assert {"UserId", "BusinessUnitId", "OrganizationId"} <= response.json().keys()
    assert response.headers["REQ_ID"] == response.headers["x-ms-service-request-id"]


@pytest.mark.parametrize("flavour", ["public_certificate (PS256, x5t#S256)", "thumbprint (RS256, x5t)"])
def test_msal_certificate_credential(emu: RunningEmulator, flavour: str) -> None:
    cert_pem = Path(emu.client_cert_path).read_text()
    key_pem = Path(emu.client_key_path).read_text()
    if flavour.startswith("public_certificate"):
        credential = {"private_key": key_pem, "public_certificate": cert_pem}
    else:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
        credential = {"private_key": key_pem, "thumbprint": cert.fingerprint(hashes.SHA1()).hex()}
    result = _msal_app(emu, credential).acquire_token_for_client([f"{emu.org_url}/.default"])
    assert "access_token" in result, result
    assert _whoami(emu, result["access_token"]).status_code == 200


def test_a_certificate_that_is_not_registered_is_refused(emu: RunningEmulator, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    registered = x509.load_pem_x509_certificate(Path(emu.client_cert_path).read_bytes())
    # Right thumbprint, wrong key: the signature check must catch it.
    credential = {"private_key": key_pem, "thumbprint": registered.fingerprint(hashes.SHA1()).hex()}
    result = _msal_app(emu, credential).acquire_token_for_client([f"{emu.org_url}/.default"])
    assert result.get("error") == "invalid_client" and 700027 in result["error_codes"]


def test_wrong_secret_is_invalid_client_and_never_echoed(emu: RunningEmulator) -> None:
    wrong = "wrong-" + uuid.uuid4().hex
    result = _msal_app(emu, wrong).acquire_token_for_client([f"{emu.org_url}/.default"])
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]
    raw = emu.session().post(emu.authority + "/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": emu.client_id, "client_secret": wrong,
        "scope": f"{emu.org_url}/.default"})
    assert raw.status_code == 401
    body = raw.json()
    assert {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id"} <= body.keys()
    assert body["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert wrong not in raw.text and emu.client_secret not in raw.text


def test_token_endpoint_refusals_have_entra_shapes(emu: RunningEmulator) -> None:
    session = emu.session()
    form = {"grant_type": "client_credentials", "client_id": emu.client_id, "client_secret": emu.client_secret,
            "scope": f"{emu.org_url}/.default"}
    unknown_app = session.post(emu.authority + "/oauth2/v2.0/token", data={**form, "client_id": str(uuid.uuid4())})
    assert unknown_app.status_code == 400 and unknown_app.json()["error"] == "unauthorized_client"
    assert unknown_app.json()["error_codes"] == [700016]
    bad_scope = session.post(emu.authority + "/oauth2/v2.0/token", data={**form, "scope": "user.read"})
    assert bad_scope.status_code == 400 and bad_scope.json()["error"] == "invalid_scope"
    other_org = session.post(emu.authority + "/oauth2/v2.0/token",
                             data={**form, "scope": "https://contoso.crm.dynamics.com/.default"})
    assert other_org.status_code == 400 and other_org.json()["error"] == "invalid_resource"
    grant = session.post(emu.authority + "/oauth2/v2.0/token", data={**form, "grant_type": "password"})
    assert grant.json()["error"] == "unsupported_grant_type"
    tenant = str(uuid.uuid4())
    discovery = session.get(f"{emu.org_url}/{tenant}/v2.0/.well-known/openid-configuration")
    assert discovery.status_code == 400 and discovery.json()["error"] == "invalid_tenant"
    assert f"AADSTS90002: Tenant '{tenant}' not found" in discovery.json()["error_description"]
    with pytest.raises(ValueError, match="Unable to get authority configuration"):  # what MSAL makes of it
        msal.ConfidentialClientApplication(emu.client_id, client_credential=emu.client_secret,
                                           authority=f"{emu.org_url}/{tenant}", instance_discovery=False,
                                           http_client=emu.session())
    config = session.get(emu.authority + "/v2.0/.well-known/openid-configuration").json()
    assert config["token_endpoint"] == emu.authority + "/oauth2/v2.0/token"
    assert config["issuer"].startswith(emu.authority) and config["authorization_endpoint"].startswith(emu.authority)


def _forge(emu: RunningEmulator, key: bytes, **claims: object) -> str:
    now = int(time.time())
    base = {"aud": emu.org_url, "exp": now + 600, "iat": now, "nbf": now, "appid": emu.client_id,
            "tid": emu.tenant_id}
    return jwt.encode({**base, **claims}, key, algorithm="HS256")


def test_web_api_rejects_missing_expired_foreign_and_tampered_tokens(emu: RunningEmulator) -> None:
    session = emu.session()
    missing = session.get(emu.api_url + "campaigns")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    assert missing.json()["error"]["code"].startswith("0x")
    signing_key = bytes.fromhex((Path(emu.data_dir) / "token-signing.key").read_text().strip())
    foreign = _whoami(emu, _forge(emu, signing_key, aud="https://contoso.crm.dynamics.com"))
    assert foreign.status_code == 401 and "contoso.crm.dynamics.com" in foreign.json()["error"]["message"]
    tampered = _whoami(emu, _forge(emu, b"another-key-entirely-0123456789abcdef"))
    assert tampered.status_code == 401 and "signature" in tampered.json()["error"]["message"]
    stale = _whoami(emu, _forge(emu, signing_key, exp=int(time.time()) - 5))
    assert stale.status_code == 401 and "expired" in stale.json()["error"]["message"]
    assert _whoami(emu, _forge(emu, signing_key)).status_code == 200


def test_configured_token_lifetime_expires_real_tokens(emu: RunningEmulator) -> None:
    emu.configure(token_lifetime_seconds=1)
    response = emu.session().post(emu.authority + "/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": emu.client_id, "client_secret": emu.client_secret,
        "scope": f"{emu.org_url}/.default"}).json()
    assert response["expires_in"] == 1
    time.sleep(2.1)
    expired = _whoami(emu, response["access_token"])
    assert expired.status_code == 401
    assert json.loads(expired.text)["error"]["message"].startswith("The access token has expired")
