"""Airflow provider metadata: makes "Microsoft Dynamics 365" a connection type with a labelled form.

Registered through the ``apache_airflow_provider`` entry point in pyproject.toml; ``make`` installs
the project into the virtual environment (editable), so imports stay ``dynamics_campaign_sync...``.
"""

from __future__ import annotations

from typing import Any

_TEXT = {"type": ["string", "null"]}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "dynamics-campaign-sync",
        "name": "Microsoft Dynamics 365 Campaign Sync",
        "description": "Sync qualified leads and contacts into Microsoft Dynamics 365 campaigns.",
        "versions": ["0.1.0"],
        "connection-types": [
            {
                "hook-class-name": "dynamics_campaign_sync.hooks.dynamics.DynamicsHook",
                "hook-name": "Microsoft Dynamics 365",
                "connection-type": "dynamics",
                "conn-fields": {
                    "tenant_id": {"label": "Tenant ID", "schema": _TEXT,
                                  "description": "Directory (tenant) id of the app registration"},
                    "authority": {"label": "Authority URL", "schema": _TEXT,
                                  "description": "Only for a non-Microsoft authority, e.g. the local emulator"},
                    "verify": {"label": "TLS verification", "schema": {**_TEXT, "default": "true"},
                               "description": "true, false, or the path of a CA bundle"},
                    "api_version": {"label": "Web API version", "schema": {**_TEXT, "default": "9.2"}},
                    "max_page_size": {"label": "Page size", "schema": {"type": ["integer", "null"], "default": 5000}},
                    # Secret extras are named so that Airflow's own masking (by name) redacts them everywhere.
                    "certificate_key_path": {"label": "Certificate private key (PEM file path)", "schema": _TEXT,
                                             "description": "Preferred: a mounted secret; the key stays out of "
                                                            "the connection"},
                    "certificate_private_key": {"label": "Certificate private key (PEM)",
                                                "schema": {**_TEXT, "format": "multiline"},
                                                "description": "Only if no file path is given; Airflow "
                                                               "redacts it by name"},
                    "certificate_path": {"label": "Certificate (PEM file path)", "schema": _TEXT},
                    "certificate_thumbprint": {"label": "Certificate thumbprint (SHA-1)", "schema": _TEXT},
                    "certificate_passphrase": {"label": "Certificate key passphrase",
                                               "schema": {**_TEXT, "format": "password"}},
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"host": "Organization URL", "login": "Client ID", "password": "Client secret"},
                    "placeholders": {
                        "host": "https://contoso.crm.dynamics.com",
                        "login": "00000000-0000-0000-0000-000000000000",
                        "tenant_id": "00000000-0000-0000-0000-000000000000",
                        "verify": "true",
                    },
                },
            }
        ],
    }
