"""Start the emulator from tests and scripts, and drive its admin API.

Stable API (other test suites build on it, typically through a session-scoped pytest fixture)::

    from dataverse_emulator.testing import start_emulator

    with start_emulator(tmp_path / "emulator") as emu:          # port 0: a free port; demo data loaded
        emu.org_url, emu.api_url, emu.authority, emu.tenant_id, emu.client_id, emu.client_secret
        emu.ca_path, emu.client_cert_path, emu.client_key_path, emu.data_dir, emu.admin_url, emu.info
        emu.reset()                    # no records; emu.reset(doc) loads a seed document, "default" the demo data
        emu.seed(doc)                  # upsert records from a seed document
        emu.configure(limits={"requests_per_window": 5, "window_seconds": 2},
                      faults=[{"path": "AddListMembersList", "error_rate": 0.5}], fault_seed=7,
                      token_lifetime_seconds=60)   # PATCH /_emulator/config; returns the new config
        emu.config(), emu.reset_config()   # GET the configuration / back to the start-up configuration
        emu.status()                   # GET /_emulator/info: details, record counts, configuration, and
                                       #   concurrency.peak (most requests in flight at once since configure)
        emu.requests_log(since=None)   # [{"id", "method", "path", "status", "request_id", "duration_ms", "time",
                                       #   "client", "fault", ...}]
        emu.clear_requests_log()
        emu.session()                  # requests.Session that verifies TLS against the emulator's CA only
        emu.access_token()             # a bearer token from the token endpoint (client secret)
        emu.api_session()              # session() with the token and OData headers set
    # leaving the block (or emu.stop()) stops the process

    demo_record("campaigns", statuscode=2)   # a record of the shipped demo data (demo_seed() is all of it)

The session always passes ``verify=<ca>`` per request, because ``REQUESTS_CA_BUNDLE`` (set on many machines)
makes ``requests`` ignore ``Session.verify``. Hand ``emu.session()`` to MSAL as ``http_client=``.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests

INCLUDE_DIR = Path(__file__).resolve().parents[1]
READY_PREFIX = "EMULATOR READY "


def demo_seed() -> dict[str, Any]:
    """The shipped demo data (what a new emulator database starts with)."""
    from .seed import default_seed

    return default_seed()


def demo_record(section: str, **match: Any) -> dict[str, Any]:
    """The first demo record in ``section`` (e.g. ``"campaigns"``) whose fields equal ``match``."""
    for item in demo_seed()[section]:
        if all(item.get(k) == v for k, v in match.items()):
            return dict(item)
    raise LookupError(f"no demo {section} record with {match}")


class EmulatorSession(requests.Session):
    """A ``requests.Session`` for talking to the emulator: trusts its CA bundle (and only it) and waits at most
    60 s for an answer, unless a request says otherwise."""

    def __init__(self, ca_path: str) -> None:
        super().__init__()
        self.ca_path = ca_path
        self.verify = ca_path

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("verify", self.ca_path)
        kwargs.setdefault("timeout", 60)
        return super().request(method, url, *args, **kwargs)


class EmulatorError(RuntimeError):
    pass


class RunningEmulator:
    """A started emulator process; attributes mirror the ``EMULATOR READY`` JSON."""

    org_url: str
    api_url: str
    authority: str
    tenant_id: str
    client_id: str
    client_secret: str
    ca_path: str
    client_cert_path: str
    client_key_path: str
    data_dir: str
    admin_url: str

    def __init__(self, process: subprocess.Popen[str], info: dict[str, Any], output: list[str]) -> None:
        self.process = process
        self.info = info
        self.output = output  # everything the process printed (kept for diagnostics)
        for key, value in info.items():
            setattr(self, key, value)
        self._admin = EmulatorSession(self.ca_path)

    def client_settings(self) -> dict[str, str]:
        """The settings of a ``DataverseConfig`` that reaches this emulator (plain values: a child process can
        take them)."""
        return {"org_url": self.org_url, "tenant_id": self.tenant_id, "client_id": self.client_id,
                "client_secret": self.client_secret, "authority": self.authority, "verify": self.ca_path}

    # -- lifecycle ------------------------------------------------------------------------------------
    def stop(self, timeout: float = 15) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._admin.close()

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- admin API ------------------------------------------------------------------------------------
    def _call(self, method: str, route: str, payload: Any = None, params: dict[str, Any] | None = None) -> Any:
        kwargs: dict[str, Any] = {"params": params}
        if payload is not None:
            kwargs["data"] = json.dumps(payload)
            kwargs["headers"] = {"Content-Type": "application/json"}
        response = self._admin.request(method, self.admin_url + route, **kwargs)
        if response.status_code >= 400:
            raise EmulatorError(f"{method} /_emulator/{route} -> {response.status_code}: {response.text}")
        return response.json()

    def reset(self, seed: dict[str, Any] | str | None = None) -> dict[str, Any]:
        """Wipe every record, the request log and throttling state; then load ``seed`` ("default": demo data)."""
        if seed == "default":
            return self._call("POST", "reset", params={"seed": "default"})
        return self._call("POST", "reset", seed)

    def seed(self, doc: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "seed", doc)

    def configure(self, **patch: Any) -> dict[str, Any]:
        return self._call("PATCH", "config", patch)

    def config(self) -> dict[str, Any]:
        return self._call("GET", "config")

    def reset_config(self) -> dict[str, Any]:
        return self._call("DELETE", "config")

    def requests_log(self, since: int | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "requests", params={"since": since} if since is not None else None)

    def clear_requests_log(self) -> None:
        self._call("DELETE", "requests")

    def status(self) -> dict[str, Any]:
        return self._call("GET", "info")

    # -- clients --------------------------------------------------------------------------------------
    def session(self) -> EmulatorSession:
        return EmulatorSession(self.ca_path)

    def token_url(self) -> str:
        return f"{self.authority}/oauth2/v2.0/token"

    def access_token(self) -> str:
        response = self.session().post(self.token_url(), data={
            "grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret,
            "scope": f"{self.org_url}/.default"})
        response.raise_for_status()
        return str(response.json()["access_token"])

    def api_session(self) -> EmulatorSession:
        session = self.session()
        session.headers.update({"Authorization": f"Bearer {self.access_token()}", "Accept": "application/json",
                                "OData-MaxVersion": "4.0", "OData-Version": "4.0"})
        return session


def start_emulator(data_dir: Path, *, port: int = 0, seed: Path | None = None, extra_args: Iterable[str] = (),
                   timeout: float = 30) -> RunningEmulator:
    """Launch ``python -m dataverse_emulator`` and return once it printed ``EMULATOR READY``."""
    args = [sys.executable, "-m", "dataverse_emulator", "--data-dir", str(data_dir), "--port", str(port),
            "--exit-with-parent"]
    if seed is not None:
        args += ["--seed", str(seed)]
    args += list(extra_args)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(INCLUDE_DIR), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               text=True, env=env)
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:  # keep draining so the child never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip("\n"))
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True, name="emulator-output").start()
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(0.05, remaining)) if remaining > 0 else None
        except queue.Empty:
            line = None
        if line is None:
            process.kill()
            raise EmulatorError("the emulator did not start:\n" + "\n".join(output[-40:]))
        if line.startswith(READY_PREFIX):
            return RunningEmulator(process, json.loads(line[len(READY_PREFIX):]), output)
