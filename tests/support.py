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


def client_for(emulator, policy=None, **overrides):
    """A DataverseClient for the emulator, with fast retries unless a policy is given."""
    from dynamics_campaign_sync.dataverse import DataverseClient, DataverseConfig, RetryPolicy

    settings = {**emulator.client_settings(), **overrides}
    policy = policy or RetryPolicy(max_attempts=6, max_total_seconds=60, base_delay_seconds=0.01,
                                   max_delay_seconds=0.05)
    return DataverseClient(DataverseConfig(**settings), policy=policy)


def encrypted_client_key(emulator, path, passphrase: str) -> str:
    """The emulator's registered client key, encrypted with ``passphrase`` into the PEM file ``path``.

    Returns the PEM text: what a secret field would hold, and what must never come back in clear.
    """
    from pathlib import Path

    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(Path(emulator.client_key_path).read_bytes(), password=None)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(passphrase.encode())).decode()
    Path(path).write_text(pem)
    return pem


def token_claims(token: str) -> dict:
    """The claims of an access token the emulator issued (``appidacr`` "2" means a certificate signed in)."""
    import jwt

    return jwt.decode(token, options={"verify_signature": False})


def lead_campaign_sync(client, ledger, key: str, run, **sync_options):
    """``(CampaignSync, campaign id)`` for a new active campaign synced by spec ``key`` (leads in Germany), with its
    owned lead list created; ``ledger`` is migrated first."""
    import uuid

    from dynamics_campaign_sync.spec import CampaignSpec
    from dynamics_campaign_sync.sync.service import CampaignSync

    campaign_id = client.create("campaigns", {"name": f"{key} {uuid.uuid4().hex[:6]}", "statecode": 0,
                                              "statuscode": 2})
    spec = CampaignSpec.model_validate({
        "key": key, "title": key.replace("_", " ").capitalize(), "owner": "tests@example.com",
        "campaign": {"id": campaign_id}, "member_types": ["lead"],
        "schedule": {"cron": "0 6 * * *", "start_date": "2026-01-01"},
        "rules": {"filters": [{"type": "demographic", "field": "country", "operator": "is", "value": "DE"}]},
    })
    ledger.migrate()
    sync = CampaignSync(spec, client=client, ledger=ledger, **sync_options)
    sync.ensure_lists(campaign_id, run)
    return sync, campaign_id
