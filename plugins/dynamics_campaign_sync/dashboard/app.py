"""The dashboard's FastAPI app, mounted by the Airflow API server under :data:`URL_PREFIX`.

``/`` is the page (plain HTML, CSS and JavaScript from ``static/``, no CDN), ``/api/campaigns`` and
``/api/campaigns/{key}`` the JSON it draws from. Only ``GET`` routes exist: the dashboard never writes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from airflow.api_fastapi.app import API_ROOT_PATH
from airflow.api_fastapi.core_api.security import bearer_scheme, get_user
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.staticfiles import StaticFiles

from dynamics_campaign_sync.dashboard import access, sources, summaries

URL_PREFIX = "/campaign-sync"
STATIC = Path(__file__).parent / "static"
#: Answers carry membership data: never keep them in a browser or proxy cache.
NO_STORE = {"Cache-Control": "no-store"}


def _snapshot() -> tuple[summaries.Snapshot, sources.SpecCatalog, dict[str, Any]]:
    catalog = sources.load_catalog()
    try:
        ledger = sources.read_only_ledger(sources.ledger_url())
        state = {"available": True, "message": None}
    except sources.LedgerUnavailable as reason:
        ledger, state = None, {"available": False, "message": str(reason)}
    return summaries.Snapshot(ledger, catalog.specs), catalog, state


def campaigns(request: Request, response: Response, user: access.ReaderDep) -> dict[str, Any]:
    """Every campaign sync the user may read: specs, plus keys the ledger still holds members for."""
    response.headers.update(NO_STORE)
    snapshot, catalog, ledger_state = _snapshot()
    allowed = access.readable(request, user, (summaries.dag_id(key) for key in snapshot.keys))
    return {
        "generated_at": datetime.now(UTC),
        "ledger": ledger_state,
        "spec_errors": catalog.errors,
        "campaigns": [
            summaries.summary(snapshot, key, catalog.specs.get(key))
            for key in snapshot.keys
            if summaries.dag_id(key) in allowed
        ],
    }


def campaign(
    key: str,
    request: Request,
    response: Response,
    user: access.ReaderDep,
    events: Annotated[int, Query(ge=1, le=500, description="recent events to list")] = 50,
    plan_items: Annotated[int, Query(ge=1, le=500, description="dry-run plan people per action")] = 50,
) -> dict[str, Any]:
    """One campaign sync in full: lists, runs, timeline, recent events and the latest dry run."""
    response.headers.update(NO_STORE)
    access.require_campaign_access(request, user, summaries.dag_id(key))
    snapshot, catalog, ledger_state = _snapshot()
    if key not in snapshot.keys:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no campaign sync with key {key!r}")
    document = summaries.detail(snapshot, key, catalog.specs.get(key), summaries.Limits(events, plan_items))
    return {"generated_at": datetime.now(UTC), "ledger": ledger_state, **document}


async def page(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Response:
    """The page, for a logged-in user; anyone else is sent to Airflow's login and back."""
    try:
        await get_user(request, None, bearer)
    except HTTPException:
        login = f"{API_ROOT_PATH}api/v2/auth/login?{urlencode({'next': str(request.url)})}"
        return RedirectResponse(login, status_code=status.HTTP_307_TEMPORARY_REDIRECT)
    return FileResponse(STATIC / "index.html", headers=NO_STORE)


def create_app() -> FastAPI:
    app = FastAPI(
        title="Campaign Sync dashboard",
        description="Read-only membership dashboard of the Dynamics 365 campaign syncs.",
        docs_url=None,
        redoc_url=None,
    )
    app.add_api_route("/", page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/api/campaigns", campaigns, methods=["GET"])
    app.add_api_route("/api/campaigns/{key}", campaign, methods=["GET"])
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
