"""The dashboard's FastAPI app, mounted by the Airflow API server under :data:`URL_PREFIX`.

``/`` is the page (plain HTML, CSS and JavaScript from ``static/``, no CDN), ``/api/campaigns`` and
``/api/campaigns/{key}`` the JSON it draws from. Only ``GET`` routes exist: the dashboard never writes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from airflow.api_fastapi.app import API_ROOT_PATH
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import bearer_scheme, get_user
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.staticfiles import StaticFiles

from dynamics_campaign_sync.dashboard import access, sources, summaries
from dynamics_campaign_sync.ledger import Ledger
from dynamics_campaign_sync.ledger.reports import EventFilter
from dynamics_campaign_sync.naming import sync_dag_id

URL_PREFIX = "/campaign-sync"
STATIC = Path(__file__).parent / "static"
#: Answers carry membership data: never keep them in a browser or proxy cache.
NO_STORE = {"Cache-Control": "no-store"}


def _ledger() -> tuple[Ledger | None, dict[str, Any]]:
    try:
        return sources.read_only_ledger(sources.ledger_url()), {"available": True, "message": None}
    except sources.LedgerUnavailable as reason:
        return None, {"available": False, "message": str(reason)}


def _snapshot(dag_ids: list[str] | None = None) -> tuple[summaries.Snapshot, sources.SpecCatalog, dict[str, Any]]:
    """Specs, ledger and the newest Airflow runs of ``dag_ids`` (of every spec's DAG when None)."""
    catalog = sources.load_catalog()
    ledger, state = _ledger()
    snapshot = summaries.Snapshot(ledger, catalog.specs)
    wanted = dag_ids if dag_ids is not None else [sync_dag_id(key) for key in snapshot.keys]
    snapshot.airflow_runs.update(sources.latest_dag_runs(wanted))
    return snapshot, catalog, state


def campaigns(request: Request, response: Response, user: access.ReaderDep) -> dict[str, Any]:
    """Every campaign sync the user may read: specs, plus keys the ledger still holds members for."""
    response.headers.update(NO_STORE)
    snapshot, catalog, ledger_state = _snapshot()
    allowed = access.readable(request, user, (sync_dag_id(key) for key in snapshot.keys))
    return {
        "generated_at": datetime.now(UTC),
        "ledger": ledger_state,
        "spec_errors": catalog.errors,
        # Every campaign the catalog DAG read from Dynamics, synced or not: where users find campaign ids.
        "dynamics_campaigns": summaries.dynamics_campaigns(snapshot),
        "campaigns": [
            summaries.summary(snapshot, key, catalog.specs.get(key))
            for key in snapshot.keys
            if sync_dag_id(key) in allowed
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
    access.require_campaign_access(request, user, sync_dag_id(key))
    snapshot, catalog, ledger_state = _snapshot([sync_dag_id(key)])
    if key not in snapshot.keys:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no campaign sync with key {key!r}")
    document = summaries.detail(snapshot, key, catalog.specs.get(key), summaries.Limits(events, plan_items))
    return {"generated_at": datetime.now(UTC), "ledger": ledger_state, **document}


def _campaign_ledger(request: Request, user: BaseUser, key: str) -> Ledger:
    """The ledger, once the user may read ``key``'s runs and the campaign is known (403 / 404 otherwise)."""
    access.require_campaign_access(request, user, sync_dag_id(key))
    ledger, state = _ledger()
    if ledger is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, state["message"])
    catalog = sources.load_catalog()
    if key not in catalog.specs and key not in summaries.Snapshot(ledger, {}).keys:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no campaign sync with key {key!r}")
    return ledger


def _event_filter(since: date | None, until: date | None, action: str | None, q: str | None) -> EventFilter:
    if since is not None and until is not None and since > until:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"since ({since}) is after until ({until}): no day can match")
    return EventFilter(since=since, until=until, action=action, search=q or None)


Since = Annotated[date | None, Query(description="first recorded day (UTC), inclusive")]
Until = Annotated[date | None, Query(description="last recorded day (UTC), inclusive")]
Action = Annotated[Literal["add", "remove"] | None, Query(description="only adds or only removes")]
Search = Annotated[str | None, Query(max_length=400, description="Dynamics id, source id, email or name")]


def campaign_events(
    key: str, request: Request, response: Response, user: access.ReaderDep,
    since: Since = None, until: Until = None, action: Action = None, q: Search = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """One page of a campaign's membership events, newest first, with the total that match the filter."""
    response.headers.update(NO_STORE)
    ledger = _campaign_ledger(request, user, key)
    spec = sources.load_catalog().specs.get(key)
    total, rows = ledger.events_page(key, _event_filter(since, until, action, q), limit=limit, offset=offset)
    rules = summaries.rules(spec)
    return {"total": total, "limit": limit, "offset": offset,
            "events": [summaries.event(row, rules) for row in rows]}


def campaign_events_csv(
    key: str, request: Request, user: access.ReaderDep,
    since: Since = None, until: Until = None, action: Action = None, q: Search = None,
) -> Response:
    """Every event that matches the filter, as CSV (a spreadsheet-ready download)."""
    ledger = _campaign_ledger(request, user, key)
    spec = sources.load_catalog().specs.get(key)
    _, rows = ledger.events_page(key, _event_filter(since, until, action, q))
    body = summaries.events_csv([summaries.event(row, summaries.rules(spec)) for row in rows])
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        **NO_STORE, "Content-Disposition": f'attachment; filename="{key}-events.csv"'})


def person(
    who: str, request: Request, response: Response, user: access.ReaderDep,
) -> dict[str, Any]:
    """Everything done to one person (Dynamics id, source id or email) across the campaigns the user may read."""
    response.headers.update(NO_STORE)
    ledger, state = _ledger()
    if ledger is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, state["message"])
    report = ledger.person_report(who)
    keys = {row["campaign_key"] for rows in report.values() for row in rows if isinstance(row, dict)}
    readable = access.readable(request, user, [sync_dag_id(key) for key in keys])
    allowed = {key for key in keys if sync_dag_id(key) in readable}
    specs = sources.load_catalog().specs
    return {"generated_at": datetime.now(UTC), "query": who, **summaries.person_document(report, allowed, specs)}


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
    app.add_api_route("/api/campaigns/{key}/events", campaign_events, methods=["GET"])
    app.add_api_route("/api/campaigns/{key}/events.csv", campaign_events_csv, methods=["GET"])
    app.add_api_route("/api/people/{who}", person, methods=["GET"])
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
