"""Secrets of a Dynamics connection, as a real api-server process shows them through the REST API.

Airflow redacts connection extras by *name*; these tests prove that the names the product reads (the client
secret in ``password``, ``certificate_private_key``, ``certificate_passphrase``), plain or with the form's
prefix, never come back in clear from ``GET /api/v2/connections`` or ``GET /api/v2/connections/{id}``; that
the old name ``certificate_key``, which Airflow does not mask, is reported by the Test button; and that a key
given as a file path signs in through the same button.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.airflow_processes import AirflowStack, airflow_environment, free_port
from deploy.sync_helpers import prepare_metadata
from dynamics_campaign_sync.hooks.dynamics import SECRET_EXTRAS
from support import emulator_connection, encrypted_client_key

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

PASSPHRASE = "rest-api-key-passphrase-4Kd"
FORM_PREFIX = "extra__dynamics__"


def pem_lines(pem: str) -> list[str]:
    """The base64 lines of a PEM: a leak of any one of them is a leak of the key."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def strings_in(node: Any) -> Iterator[str]:
    """Every string of a REST response, with each connection's ``extra`` (a JSON string) opened up too."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "extra" and isinstance(value, str) and value.startswith("{"):
                value = json.loads(value)
            yield from strings_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings_in(item)
    elif isinstance(node, str):
        yield node


def leaked(response: Any, secrets: dict[str, str]) -> list[str]:
    """Names of the secrets whose value (or, for a PEM, any line of it) appears anywhere in ``response``."""
    text = "\n".join(strings_in(response))
    return [name for name, value in secrets.items()
            if value in text or any(line in text for line in pem_lines(value))]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowStack]:
    """A migrated metadata DB and an api-server process with the connection Test button enabled."""
    home = tmp_path_factory.mktemp("airflow-secrets")
    env = airflow_environment(home, executor="LocalExecutor", sql_alchemy_conn=None, api_port=free_port(),
                              extra={"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"})
    with AirflowStack(home, env) as running:
        prepare_metadata(running)
        running.start("api-server", "api-server")
        running.wait_healthy(timeout=180)
        yield running


@pytest.fixture(scope="module")
def key(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The emulator's registered client key, encrypted with PASSPHRASE: its file and its PEM text."""
    path = tmp_path_factory.mktemp("keys") / "client-key.pem"
    return path, encrypted_client_key(emulator, path, PASSPHRASE)


def rest_body(conn_id: str, connection: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A connection as ``POST /api/v2/connections`` (and ``/connections/test``) takes it."""
    extra = {f"{prefix}{name}": value for name, value in connection["extra"].items()}
    return {"connection_id": conn_id, "conn_type": connection["conn_type"], "host": connection["host"],
            "login": connection["login"], "password": connection.get("password"), "extra": json.dumps(extra)}


def certificate_connection(emulator: Any, **extra: str) -> dict[str, Any]:
    """The emulator's connection with its registered certificate; the client secret stays in ``password``."""
    return emulator_connection(emulator, certificate_path=emulator.client_cert_path, **extra)


def test_no_secret_field_comes_back_in_clear_from_the_connections_endpoints(
    stack: AirflowStack, emulator: Any, key: tuple[Path, str]
) -> None:
    # Every extra the hook treats as secret, then the documented ones with real values (the same names, today).
    secret_extras = {**{name: f"{name}-value-{uuid.uuid4().hex}" for name in SECRET_EXTRAS},
                     "certificate_private_key": key[1], "certificate_passphrase": PASSPHRASE}
    connection = certificate_connection(emulator, **secret_extras)
    secrets = {"password (client secret)": emulator.client_secret, **secret_extras}
    created = {"dynamics_plain_names": "", "dynamics_form_names": FORM_PREFIX}
    for conn_id, prefix in created.items():
        stack.api.call("POST", "connections", json=rest_body(conn_id, connection, prefix))

    listed = stack.api.call("GET", "connections", params={"limit": 100})["connections"]
    assert {c["connection_id"] for c in listed} >= set(created)
    for conn_id, prefix in created.items():
        one = stack.api.call("GET", f"connections/{conn_id}")
        from_list = next(c for c in listed if c["connection_id"] == conn_id)
        for response in (one, from_list):
            assert leaked(response, secrets) == [], f"{conn_id}: in clear from the REST API"
            extra = json.loads(response["extra"])
            assert response["password"] == "***"
            assert {extra[f"{prefix}{name}"] for name in secret_extras} == {"***"}
            assert extra[f"{prefix}tenant_id"] == emulator.tenant_id, "only secrets are redacted"


def test_the_old_key_name_is_shown_by_airflow_and_reported_by_the_test_button(
    stack: AirflowStack, emulator: Any
) -> None:
    key_pem = Path(emulator.client_key_path).read_text()
    body = rest_body("dynamics_old_key_name", certificate_connection(emulator, certificate_key=key_pem))
    stack.api.call("POST", "connections", json=body)

    # Airflow's behaviour, and the reason for the new name: the old one is not masked.
    shown = stack.api.call("GET", "connections/dynamics_old_key_name")
    assert leaked(shown, {"certificate_key": key_pem}) == ["certificate_key"]

    result = stack.api.call("POST", "connections/test", json=body)
    assert result["status"] is True, result["message"]
    assert "'certificate_key' is not masked by Airflow" in result["message"]
    assert "rename 'certificate_key' to 'certificate_private_key'" in result["message"]
    assert leaked(result, {"certificate_key": key_pem}) == []


@pytest.mark.parametrize("how", ["file path", "PEM in the connection"])
def test_a_certificate_signs_in_through_the_test_button(
    stack: AirflowStack, emulator: Any, key: tuple[Path, str], how: str
) -> None:
    given = ({"certificate_key_path": str(key[0])} if how == "file path" else {"certificate_private_key": key[1]})
    connection = certificate_connection(emulator, certificate_passphrase=PASSPHRASE, **given)
    connection["password"] = None  # so only the certificate can sign in
    result = stack.api.call("POST", "connections/test", json=rest_body("dynamics_cert_test", connection, FORM_PREFIX))
    assert result["status"] is True, result["message"]
    assert emulator.org_url in result["message"] and "Warning" not in result["message"]
