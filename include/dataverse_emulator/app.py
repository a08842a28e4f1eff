"""The emulator's request pipeline: routing, authentication, service protection limits, fault injection and
the request log. Transport-free, so the HTTP server stays a thin shell around :meth:`Emulator.handle`."""

from __future__ import annotations

import copy
import re
import time
import traceback
from typing import Any

from . import __version__, admin, webapi
from .auth import TokenService, load_signing_key
from .batch import execute_batch
from .errors import UNEXPECTED, ODataError, method_not_allowed
from .faults import FaultDecision, FaultInjector, break_body
from .httputil import DROP, Drop, Headers, Request, Response, json_response, new_request_id
from .limits import Limiter, Rejection
from .requestlog import RequestLog
from .seed import load_seed
from .settings import RuntimeConfig, Settings
from .store import Store
from .tls import TlsFiles, load_certificate

_API = re.compile(r"^/api/data/(v9\.[0-2])(?:/(.*))?$")
_TOKEN = re.compile(r"^/([^/]+)/oauth2/v2\.0/token/?$")
_DISCOVERY = re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration/?$")
_KEYS = re.compile(r"^/([^/]+)/discovery/v2\.0/keys/?$")


def _json_or_none(response: Response) -> Any:
    """The answer's JSON, or None when it has none (an injected broken body, say)."""
    try:
        return response.json() if response.body.startswith(b"{") else None
    except ValueError:
        return None


class Emulator:
    def __init__(self, settings: Settings, tls: TlsFiles, config: RuntimeConfig,
                 initial_seed: dict[str, Any] | None) -> None:
        self.settings = settings
        self.tls = tls
        self.store = Store(settings.data_dir / "emulator.db")
        if self.store.is_new and initial_seed:
            load_seed(self.store, initial_seed)
        self.startup_config = copy.deepcopy(config)
        self.tokens = TokenService(settings, load_certificate(tls.client_cert), load_signing_key(settings.data_dir))
        self.limiter = Limiter(config.limits)
        self.faults = FaultInjector(config.faults, config.fault_seed)
        self.config = config
        self.apply_config(config)
        self.log = RequestLog()
        self.started = time.time()

    # -- configuration ------------------------------------------------------------------------------------
    def apply_config(self, config: RuntimeConfig) -> None:
        self.config = config
        self.limiter.configure(config.limits)
        self.faults.configure(config.faults, config.fault_seed)
        self.tokens.lifetime_seconds = config.token_lifetime_seconds

    def reset(self, seed_doc: dict[str, Any] | None) -> dict[str, int]:
        """Wipe all records (then load ``seed_doc``); forget the request log, blocks and fault draws."""
        with self.store.transaction():
            self.store.wipe()
            counts = load_seed(self.store, seed_doc) if seed_doc else {}
        self.log.clear()
        self.limiter.reset()
        self.faults.reseed()
        return counts

    def info(self) -> dict[str, Any]:
        s = self.settings
        return {
            "org_url": s.org_url,
            "api_url": f"{s.org_url}/api/data/v9.2/",
            "authority": s.authority,
            "tenant_id": s.tenant_id,
            "client_id": s.client_id,
            "client_secret": s.client_secret,
            "ca_path": str(self.tls.ca_cert),
            "client_cert_path": str(self.tls.client_cert),
            "client_key_path": str(self.tls.client_key),
            "data_dir": str(s.data_dir),
            "admin_url": f"{s.org_url}/_emulator/",
        }

    def status(self) -> dict[str, Any]:
        return {**self.info(), "version": __version__, "uptime_seconds": round(time.time() - self.started, 1),
                "records": self.store.counts(), "config": self.config.to_dict(),
                "concurrency": {"peak": self.limiter.peak_concurrent}}

    # -- requests -----------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response | Drop:
        if request.path == "/_emulator" or request.path.startswith("/_emulator/"):
            try:
                return admin.handle(self, request)  # the admin API stays out of the request log
            except Exception as err:
                traceback.print_exc()
                return json_response(500, {"error": {"code": "emulator_admin",
                                                     "message": f"{type(err).__name__}: {err}"}})
        started = time.perf_counter()
        entry: dict[str, Any] = {"method": request.method, "path": request.target, "status": 0, "client": None,
                                 "remote": request.client_ip, "fault": None}
        request_id = new_request_id()
        try:
            result = self._dispatch(request, entry)
        except Exception as err:  # never let a bug take the connection down silently
            traceback.print_exc()
            result = ODataError(500, UNEXPECTED, f"An unexpected error occurred: {type(err).__name__}").to_response()
        entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
        if isinstance(result, Drop):
            entry["status"] = 0
        else:
            entry["status"] = result.status
            entry["request_id"] = request_id  # what a client's error should quote
            result.headers["REQ_ID"] = request_id
            result.headers["x-ms-service-request-id"] = request_id
            if result.status >= 400:
                body = _json_or_none(result)
                if isinstance(body, dict):
                    error = body.get("error")
                    entry["error"] = error.get("code") if isinstance(error, dict) else error
        self.log.add(entry)
        return result

    def _dispatch(self, request: Request, entry: dict[str, Any]) -> Response | Drop:
        path = request.path
        api = _API.match(path)
        if api:
            return self._api(request, api.group(1), api.group(2) or "", entry)
        for pattern, kind in ((_TOKEN, "token"), (_DISCOVERY, "discovery"), (_KEYS, "keys")):
            m = pattern.match(path)
            if not m:
                continue
            tenant = m.group(1)
            if kind == "token":
                if request.method != "POST":
                    return json_response(405, {"error": "invalid_request",
                                               "error_description": "The token endpoint only accepts POST."})
                decision = self.faults.decide(request.method, request.target, token_endpoint=True)
                faulted = self._apply_fault(decision, entry, token_endpoint=True)
                if faulted is not None:
                    return faulted
                response, client_id = self.tokens.token(request, tenant)
                entry["client"] = client_id
                return break_body(response, decision.broken_body) if decision.broken_body else response
            if request.method != "GET":
                return json_response(405, {"error": "invalid_request", "error_description": "Use GET."})
            if kind == "discovery":
                return self.tokens.discovery(request, tenant)
            return self.tokens.keys(request, tenant)
        message = f"No resource at '{path}'. The Web API is under /api/data/v9.2/."
        return json_response(404, {"error": {"code": "0x80060888", "message": message}})

    def _apply_fault(self, decision: FaultDecision, entry: dict[str, Any], *,
                     token_endpoint: bool = False) -> Response | Drop | None:
        """Sleep, drop or answer with an injected error as ``decision`` says; None lets the request through.
        Injected errors have the shape of the endpoint they stand in for: Entra's or the Web API's."""
        entry["fault"] = decision.kind
        if decision.delay:
            time.sleep(decision.delay)
        if decision.drop:
            return DROP
        if not decision.status:
            return None
        message = ("An unexpected error occurred." if decision.status == 500
                   else "The service is temporarily unavailable. Try again later.")
        if token_endpoint:
            response = self.tokens.unavailable(decision.status, message)
        else:
            response = ODataError(decision.status, UNEXPECTED, message).to_response()
            response.headers["OData-Version"] = "4.0"
        if decision.retry_after is not None:
            response.headers["Retry-After"] = str(decision.retry_after)
        return response

    def _api(self, request: Request, version: str, resource: str, entry: dict[str, Any]) -> Response | Drop:
        try:
            principal = self.tokens.authenticate(request.headers.get("Authorization"))
        except ODataError as err:
            response = err.to_response()
            response.headers["OData-Version"] = "4.0"
            return response
        entry["client"] = principal
        ticket = self.limiter.admit(principal)
        if isinstance(ticket, Rejection):
            response = ODataError(429, ticket.code, ticket.message,
                                  Headers({"Retry-After": str(ticket.retry_after)})).to_response()
            response.headers["OData-Version"] = "4.0"
            entry["retry_after"] = ticket.retry_after
            return response
        try:
            decision = self.faults.decide(request.method, request.target, token_endpoint=False)
            faulted = self._apply_fault(decision, entry)
            if faulted is not None:
                return faulted
            ctx = webapi.ApiContext(self.store, self.settings.org_url, version, principal)
            if resource.strip("/") == "$batch":
                if request.method != "POST":
                    return method_not_allowed(request.method, "$batch").to_response()
                batch_ctx = webapi.ApiContext(self.store, self.settings.org_url, version, principal, in_batch=True)
                try:
                    response, operations = execute_batch(
                        request, version, lambda sub, res: webapi.handle(batch_ctx, sub, res), self.store.transaction)
                except ODataError as err:
                    response, operations = err.to_response(), []
                response.headers["OData-Version"] = "4.0"
                entry["operations"] = operations
            else:
                response = webapi.handle(ctx, request, resource)
        finally:
            self.limiter.release(ticket)
        if decision.lose_response:
            return DROP  # carried out; the client never hears about it
        if decision.broken_body:
            response = break_body(response, decision.broken_body)  # carried out; the answer arrives mangled
        requests_left, time_left = self.limiter.remaining(principal)
        response.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] = str(requests_left)
        response.headers["x-ms-ratelimit-time-remaining-xrm-requests"] = f"{time_left:,.2f}"
        return response
