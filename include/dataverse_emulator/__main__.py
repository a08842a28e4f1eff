"""``python -m dataverse_emulator``: run the emulator in the foreground until SIGINT/SIGTERM.

Every option has a ``DATAVERSE_EMULATOR_<OPTION>`` environment variable as its default. The last line printed
on start is ``EMULATOR READY <json>``; the same JSON is written to ``<data-dir>/emulator.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from . import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, __version__
from .app import Emulator
from .seed import default_seed, read_seed_file
from .server import EmulatorServer
from .settings import RuntimeConfig, Settings
from .tls import ensure_tls_files, server_context

ENV = "DATAVERSE_EMULATOR_"


def _env(name: str, default: str) -> str:
    return os.environ.get(ENV + name, default)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m dataverse_emulator", description=(
        "Local HTTPS emulator of the Dataverse Web API v9.2 and of the Entra ID client-credentials token "
        "endpoint. Options default to DATAVERSE_EMULATOR_<OPTION> environment variables."))
    p.add_argument("--host", default=_env("HOST", "127.0.0.1"), help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=int(_env("PORT", "8443")), help="port; 0 picks a free one")
    p.add_argument("--public-host", default=_env("PUBLIC_HOST", ""),
                   help="host name clients use in URLs (default: --host, or 127.0.0.1 for a wildcard bind)")
    p.add_argument("--data-dir", type=Path, default=Path(_env("DATA_DIR", ".data/emulator")),
                   help="state, certificates and keys (default .data/emulator)")
    p.add_argument("--seed", type=Path, default=Path(v) if (v := _env("SEED", "")) else None,
                   help="seed document loaded when the database is new (default: the shipped demo data)")
    p.add_argument("--empty", action="store_true", default=_env("EMPTY", "") == "1",
                   help="start a new database with no records instead of the demo data")
    p.add_argument("--tenant-id", default=_env("TENANT_ID", DEFAULT_TENANT_ID))
    p.add_argument("--client-id", default=_env("CLIENT_ID", DEFAULT_CLIENT_ID))
    p.add_argument("--client-secret", default=_env("CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
                   help="the app's client secret (the default is a development-only value)")
    p.add_argument("--config", type=Path, default=Path(v) if (v := _env("CONFIG", "")) else None,
                   help="JSON runtime configuration (limits, faults, fault_seed, token_lifetime_seconds)")
    p.add_argument("--admin-anywhere", action="store_true", default=_env("ADMIN_ANYWHERE", "") == "1",
                   help="let non-loopback clients use /_emulator/ (e.g. from other containers)")
    p.add_argument("--exit-with-parent", action="store_true",
                   help="stop when the launching process goes away (used by dataverse_emulator.testing)")
    return p.parse_args(argv)


def _watch_parent(stop: threading.Event) -> None:
    parent = os.getppid()
    while not stop.wait(0.5):
        if os.getppid() != parent:
            stop.set()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    wildcard = args.host in ("0.0.0.0", "::", "")
    public_host = args.public_host or ("127.0.0.1" if wildcard else args.host)
    config = RuntimeConfig()
    if args.config:
        config = config.patched(json.loads(args.config.read_text(encoding="utf-8")))
    seed_doc = None if args.empty else (read_seed_file(args.seed) if args.seed else default_seed())

    hosts = [public_host, "127.0.0.1", "localhost"] + ([] if wildcard else [args.host])
    tls = ensure_tls_files(data_dir, hosts)
    server = EmulatorServer((args.host, args.port), server_context(tls))
    port = server.server_address[1]
    settings = Settings(host=args.host, port=port, public_host=public_host, tenant_id=args.tenant_id,
                        client_id=args.client_id, client_secret=args.client_secret, data_dir=data_dir,
                        admin_anywhere=args.admin_anywhere)
    emulator = Emulator(settings, tls, config, seed_doc)
    server.app = emulator
    info = emulator.info()
    (data_dir / "emulator.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if args.exit_with_parent:
        threading.Thread(target=_watch_parent, args=(stop,), daemon=True).start()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()

    print("\n".join([
        f"Dataverse emulator {__version__} (local, for development and tests only)",
        f"  Organization URL   {info['org_url']}",
        f"  Web API            {info['api_url']}",
        f"  Authority          {info['authority']}",
        f"  Tenant id          {info['tenant_id']}",
        f"  Client id          {info['client_id']}",
        f"  Client secret      {info['client_secret']}",
        f"  Trust this CA      {info['ca_path']}",
        f"  Client certificate {info['client_cert_path']}",
        f"  Client key         {info['client_key_path']}",
        f"  Data folder        {info['data_dir']}",
        f"  Admin API          {info['admin_url']}",
        f"EMULATOR READY {json.dumps(info)}",
    ]), flush=True)

    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    emulator.store.close()
    print("Dataverse emulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
