"""The "Microsoft Dynamics 365" connection type: provider metadata, form fields, how a certificate is given,
and the UI's Test button (the REST endpoint it calls) against the emulator."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from support import emulator_connection, encrypted_client_key, token_claims

pytestmark = pytest.mark.e2e


def test_provider_registers_the_connection_type_with_labelled_fields():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "dynamics-campaign-sync" in manager.providers, "run `make install`: the project is not installed"
    widgets = {k: v for k, v in manager.connection_form_widgets.items() if k.startswith("extra__dynamics__")}
    labels = {w.field_name: w.field["schema"].get("title") for w in widgets.values()}
    assert labels["tenant_id"] == "Tenant ID" and "certificate_key_path" in labels
    assert labels["certificate_private_key"] == "Certificate private key (PEM)"
    assert widgets["extra__dynamics__certificate_passphrase"].is_sensitive
    behaviour = manager.field_behaviours["dynamics"]
    assert behaviour["relabeling"] == {"host": "Organization URL", "login": "Client ID", "password": "Client secret"}


def test_every_secret_field_of_the_form_is_one_airflow_redacts_by_name():
    from airflow._shared.secrets_masker import should_hide_value_for_key
    from airflow.providers_manager import ProvidersManager

    from dynamics_campaign_sync.hooks.dynamics import SECRET_EXTRAS

    fields = {w.field_name for k, w in ProvidersManager().connection_form_widgets.items()
              if k.startswith("extra__dynamics__")}
    assert set(SECRET_EXTRAS) <= fields, "the form must offer every secret field under its masked name"
    for name in SECRET_EXTRAS:  # the UI stores extras plain or with the form's prefix
        assert should_hide_value_for_key(name) and should_hide_value_for_key(f"extra__dynamics__{name}"), name


def use_connection(monkeypatch, conn_id: str, connection: dict) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))


def certificate_connection(emulator, **extra) -> dict:
    """The emulator's connection signing in with its registered certificate instead of the client secret."""
    connection = emulator_connection(emulator, certificate_path=emulator.client_cert_path, **extra)
    del connection["password"]
    return connection


def test_a_key_file_with_a_passphrase_signs_in_with_a_client_assertion_and_is_masked(
    fresh_emulator, monkeypatch, tmp_path
):
    from airflow.sdk._shared.secrets_masker import redact

    from dynamics_campaign_sync.hooks.dynamics import DynamicsHook

    key_path, passphrase = tmp_path / "mounted" / "client-key.pem", "file-key-passphrase-7Qx"
    key_path.parent.mkdir()
    key_pem = encrypted_client_key(fresh_emulator, key_path, passphrase)
    use_connection(monkeypatch, "dynamics_cert_file", certificate_connection(
        fresh_emulator, certificate_key_path=str(key_path), certificate_passphrase=passphrase))

    hook = DynamicsHook("dynamics_cert_file")
    ok, message = hook.test_connection()
    assert ok, message
    assert token_claims(hook.client.tokens.get_token())["appidacr"] == "2", "signed in with the client secret"
    # The key never passed through Airflow's connection, so only the hook can have masked it.
    assert redact(f"task log line: {key_pem}") == "task log line: ***"


def test_the_old_key_name_still_signs_in_and_is_reported_without_its_value(fresh_emulator, monkeypatch, caplog):
    from dynamics_campaign_sync.hooks.dynamics import DynamicsHook

    key_pem = Path(fresh_emulator.client_key_path).read_text()
    use_connection(monkeypatch, "dynamics_old_key", certificate_connection(fresh_emulator, certificate_key=key_pem))
    caplog.set_level(logging.WARNING, logger="dynamics_campaign_sync.hooks.dynamics")

    ok, message = DynamicsHook("dynamics_old_key").test_connection()
    assert ok, message
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings, "the task log must say the old name is not masked"
    for text in (message, warnings[0]):
        assert "'certificate_key' is not masked by Airflow" in text and "'certificate_private_key'" in text
    assert key_pem not in message and key_pem not in caplog.text


@pytest.mark.parametrize("extra, expected", [
    ({"certificate_private_key": "PEM", "certificate_key_path": "/secrets/key.pem"},
     "more than once ('certificate_private_key', 'certificate_key_path')"),
    ({"certificate_key_path": "/nonexistent/dynamics/key.pem"},
     "cannot read the certificate private key file '/nonexistent/dynamics/key.pem': No such file"),
])
def test_a_key_given_twice_or_unreadable_is_a_clear_error(monkeypatch, extra, expected):
    from dynamics_campaign_sync.dataverse import DataverseConfigError
    from dynamics_campaign_sync.hooks.dynamics import DynamicsHook

    use_connection(monkeypatch, "dynamics_bad_key", {
        "conn_type": "dynamics", "host": "https://contoso.crm.dynamics.com", "login": "app",
        "extra": {"tenant_id": "tenant", **extra}})
    with pytest.raises(DataverseConfigError, match="connection 'dynamics_bad_key'") as raised:
        _ = DynamicsHook("dynamics_bad_key").config
    assert expected in str(raised.value)


@pytest.fixture
def api(airflow_db, monkeypatch):
    from fastapi.testclient import TestClient

    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "test-only-jwt-signing-key-for-the-in-process-api-server-0123456789")
    from airflow.api_fastapi.app import create_app

    with TestClient(create_app()) as client:
        yield client


def form_values(emulator, **changes) -> dict:
    """What the connection form sends, with extras under the form's prefixed names."""
    connection = emulator_connection(emulator)
    body = {"connection_id": "dynamics_ui_test", "conn_type": "dynamics", "host": connection["host"],
            "login": connection["login"], "password": connection["password"],
            "extra": json.dumps({f"extra__dynamics__{k}": v for k, v in connection["extra"].items()})}
    return body | changes


def test_the_test_button_succeeds_against_the_emulator(api, fresh_emulator):
    response = api.post("/api/v2/connections/test", json=form_values(fresh_emulator))
    assert response.status_code == 200, response.text
    assert response.json()["status"] is True, response.json()
    assert fresh_emulator.org_url in response.json()["message"]


def test_the_test_button_reports_a_wrong_secret_without_showing_it(api, fresh_emulator):
    response = api.post("/api/v2/connections/test", json=form_values(fresh_emulator, password="Wr0ng-secret-value"))
    result = response.json()
    assert result["status"] is False and "invalid_client" in result["message"]
    assert "Wr0ng-secret-value" not in response.text
