"""Who may read the dashboard: Airflow's own authentication and authorization, nothing of our own.

Identity comes from :func:`airflow.api_fastapi.core_api.security.get_user` — an ``Authorization: Bearer`` JWT
(from ``POST /auth/token``) or else the ``_token`` cookie the Airflow UI holds, which the browser also sends
to this same-origin plugin page and its ``fetch()`` calls. No token: 401; a bad token: 403.

What a campaign shows is its sync DAG's run history, so reading it takes the same permission as reading that
DAG's runs (``GET`` on ``DagAccessEntity.RUN`` of ``campaign_sync__<key>``), whichever auth manager is
configured (simple, FAB, Keycloak ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, HTTPException, Request, status


def can_read_sync_runs(request: Request, user: GetUserDep) -> BaseUser:
    """An authenticated user who may read DAG runs at all (403 otherwise); per-campaign checks follow."""
    requires_access_dag("GET", DagAccessEntity.RUN)(request, user)
    return user


ReaderDep = Annotated[BaseUser, Depends(can_read_sync_runs)]


def require_campaign_access(request: Request, user: BaseUser, dag_id: str) -> None:
    """403 unless ``user`` may read the runs of ``dag_id`` (Airflow's own check, teams included)."""
    requires_access_dag("GET", DagAccessEntity.RUN, param_dag_id=dag_id)(request, user)


def readable(request: Request, user: BaseUser, dag_ids: Iterable[str]) -> set[str]:
    """The subset of ``dag_ids`` whose runs ``user`` may read: the same check as one campaign's page."""
    allowed = set()
    for dag_id in dag_ids:
        try:
            require_campaign_access(request, user, dag_id)
        except HTTPException as error:
            if error.status_code != status.HTTP_403_FORBIDDEN:
                raise
            continue
        allowed.add(dag_id)
    return allowed
