"""Helpers shared by test modules (importable because pyproject puts tests/ on sys.path)."""

from __future__ import annotations


def emulator_connection(emulator, **extra) -> dict:
    """An Airflow connection (as a dict) for the emulator, trusting only its private CA."""
    return {
        "conn_type": "dynamics",
        "host": emulator.org_url,
        "login": emulator.client_id,
        "password": emulator.client_secret,
        "extra": {"tenant_id": emulator.tenant_id, "authority": emulator.authority,
                  "verify": emulator.ca_path, **extra},
    }
