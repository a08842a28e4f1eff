"""Local Dataverse Web API v9.2 emulator: a standalone HTTPS server for running Campaign Sync without a Dynamics org.

Run it with ``python -m dataverse_emulator`` (``include/`` on ``PYTHONPATH``); drive it from tests with
:mod:`dataverse_emulator.testing`. Only the standard library, ``cryptography`` and ``PyJWT`` are used.
"""

from __future__ import annotations

__version__ = "0.1.0"

API_VERSIONS = ("v9.0", "v9.1", "v9.2")
DEFAULT_API_VERSION = "v9.2"
DEFAULT_TENANT_ID = "72f988bf-0000-4000-8000-00000000c0de"
DEFAULT_CLIENT_ID = "51f81489-12ee-4a9e-aaae-a2591f45987d"
# A development-only secret: the emulator holds no real data, and a fixed value keeps `make run` zero-config.
DEFAULT_CLIENT_SECRET = "local-emulator-secret"
