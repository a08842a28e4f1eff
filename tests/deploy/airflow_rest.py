"""A small client of Airflow's public REST API (``/api/v2``), authenticated with a JWT from ``/auth/token``."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import requests

TERMINAL_RUN_STATES = {"success", "failed"}


class AirflowApi:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password

    @cached_property
    def session(self) -> requests.Session:
        response = requests.post(f"{self.base_url}/auth/token",
                                 json={"username": self.username, "password": self.password}, timeout=30)
        response.raise_for_status()
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return session

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.base_url}/api/v2/{path.lstrip('/')}", timeout=30,
                                        **kwargs)
        if response.status_code >= 400:
            raise requests.HTTPError(f"{method} {path} -> {response.status_code}: {response.text}",
                                     response=response)
        return response.json() if response.content else None

    # -- what the tests need -------------------------------------------------------------------------------

    def dag_parsed(self, dag_id: str) -> bool:
        try:
            self.call("GET", f"dags/{dag_id}")
        except requests.HTTPError as exc:
            if exc.response is not None and exc.response.status_code == 404:
                return False
            raise
        return True

    def unpause(self, dag_id: str) -> None:
        self.call("PATCH", f"dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        run = self.call("POST", f"dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        return str(run["dag_run_id"])

    def dag_runs(self, dag_id: str, **params: Any) -> list[dict[str, Any]]:
        return self.call("GET", f"dags/{dag_id}/dagRuns", params={"limit": 100, **params})["dag_runs"]

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.call("GET", f"dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}

    def backfills(self, dag_id: str) -> list[dict[str, Any]]:
        return self.call("GET", "backfills", params={"dag_id": dag_id})["backfills"]

    def asset_events(self, source_dag_id: str) -> list[dict[str, Any]]:
        return self.call("GET", "assets/events",
                         params={"source_dag_id": source_dag_id, "limit": 100})["asset_events"]
