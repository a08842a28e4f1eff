"""The "Microsoft Dynamics 365" connection type: provider metadata, form fields, and the UI's Test button
(the REST endpoint it calls) against the emulator."""

from __future__ import annotations

import json

import pytest

from support import emulator_connection

pytestmark = pytest.mark.e2e


def test_provider_registers_the_connection_type_with_labelled_fields():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "dynamics-campaign-sync" in manager.providers, "run `make install`: the project is not installed"
    widgets = {k: v for k, v in manager.connection_form_widgets.items() if k.startswith("extra__dynamics__")}
    labels = {w.field_name: w.field["schema"].get("title") for w in widgets.values()}
    assert labels["tenant_id"] == "Tenant ID" and "certificate_key_path" in labels
    assert widgets["extra__dynamics__certificate_passphrase"].is_sensitive
    behaviour = manager.field_behaviours["dynamics"]
    assert behaviour["relabeling"] == {"host": "Organization URL", "login": "Client ID", "password": "Client secret"}


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
