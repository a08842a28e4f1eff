"""The admin API under ``/_emulator/`` (no token; loopback callers only unless ``--admin-anywhere``).

====================  =========================================================================================
``GET    info``        connection details (the ``EMULATOR READY`` JSON), version, record counts, configuration,
                       and ``concurrency.peak``: the most requests one caller had in flight at once since the
                       last configuration change or reset
``POST   reset``       wipe all records, the request log and throttling blocks; optional body: a seed document
                       (``?seed=default`` loads the shipped demo data)
``POST   seed``        upsert the records of a seed document
``GET    config``      limits, fault rules, fault seed, token lifetime
``PATCH  config``      change them (``limits`` merges, ``null`` restores start-up limits; ``faults`` replaces)
``DELETE config``      back to the start-up configuration
``GET    requests``    the request log (``?since=<id>`` for newer entries only)
``DELETE requests``    clear the request log
====================  =========================================================================================
"""

from __future__ import annotations

import copy
import ipaddress
import json
from typing import TYPE_CHECKING, Any

from .httputil import Request, Response, json_response
from .seed import default_seed, load_seed

if TYPE_CHECKING:
    from .app import Emulator


def _error(status: int, message: str) -> Response:
    return json_response(status, {"error": {"code": "emulator_admin", "message": message}},
                         content_type="application/json")


def _ok(payload: Any) -> Response:
    return json_response(200, payload, content_type="application/json")


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip.split("%")[0]).is_loopback
    except ValueError:
        return False


def _body(request: Request) -> Any:
    try:
        return request.json()
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"the request body is not valid JSON: {err}") from None


def handle(emu: Emulator, request: Request) -> Response:
    if not emu.settings.admin_anywhere and not _is_loopback(request.client_ip):
        return _error(403, "The admin API only answers loopback clients (start with --admin-anywhere to change).")
    route = request.path.removeprefix("/_emulator").strip("/")
    method = request.method.upper()
    params = {name: value for name, value, _raw in request.query_params()}
    try:
        if route == "info" and method == "GET":
            return _ok(emu.status())
        if route == "reset" and method == "POST":
            doc = default_seed() if params.get("seed") == "default" else _body(request)
            return _ok({"reset": True, "loaded": emu.reset(doc)})
        if route == "seed" and method == "POST":
            doc = default_seed() if params.get("seed") == "default" else _body(request)
            if doc is None:
                return _error(400, "POST /_emulator/seed needs a seed document as its JSON body.")
            return _ok({"loaded": load_seed(emu.store, doc)})
        if route == "config":
            if method == "GET":
                return _ok(emu.config.to_dict())
            if method == "PATCH":
                emu.apply_config(emu.config.patched(_body(request) or {}, emu.startup_config))
                return _ok(emu.config.to_dict())
            if method == "DELETE":
                emu.apply_config(copy.deepcopy(emu.startup_config))
                return _ok(emu.config.to_dict())
        if route == "requests":
            if method == "GET":
                since = params.get("since")
                return _ok(emu.log.since(int(since) if since else None))
            if method == "DELETE":
                emu.log.clear()
                return _ok({"cleared": True})
    except (ValueError, TypeError) as err:
        return _error(400, str(err))
    except json.JSONDecodeError as err:
        return _error(400, str(err))
    return _error(404, f"No admin endpoint '{method} /_emulator/{route}'. See GET /_emulator/info.")
