"""A ``requests.Session`` that verifies TLS the way the configuration says, on every request.

Where ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` is set, ``requests`` merges that environment
value over ``Session.verify`` and silently ignores a private CA set on the session. Passing
``verify=`` per request is the only setting it honours, so this session does exactly that, for our
own calls and for MSAL's (MSAL accepts it as ``http_client``).
"""

from __future__ import annotations

from typing import Any

import requests


class ConfiguredTlsSession(requests.Session):
    """Verifies TLS as configured (``True``, ``False`` or a CA bundle path) on every request, whatever the
    environment says."""

    def __init__(self, verify: bool | str) -> None:
        super().__init__()
        self.verify = verify
        self._forced_verify = verify

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["verify"] = self._forced_verify
        return super().request(method, url, *args, **kwargs)
