"""A ``requests.Session`` that verifies TLS the way the configuration says, on every request.

Where ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` is set, ``requests`` merges that environment
value over ``Session.verify`` and silently ignores a private CA set on the session. Passing
``verify=`` per request is the only setting it honours, so this session does exactly that, for our
own calls and for MSAL's (MSAL accepts it as ``http_client``).

Its connection pool holds ``pool_size`` connections: ``requests`` keeps 10 per host by default and throws away
every connection beyond, so a client sending more requests at once would open a new TLS connection each time.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

#: ``requests``' own pool size per host.
DEFAULT_POOL_SIZE = 10


class ConfiguredTlsSession(requests.Session):
    """Verifies TLS as configured (``True``, ``False`` or a CA bundle path) on every request, whatever the
    environment says."""

    def __init__(self, verify: bool | str, *, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        super().__init__()
        self.verify = verify
        self._forced_verify = verify
        self.mount("https://", HTTPAdapter(pool_maxsize=max(pool_size, DEFAULT_POOL_SIZE)))

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["verify"] = self._forced_verify
        return super().request(method, url, *args, **kwargs)
