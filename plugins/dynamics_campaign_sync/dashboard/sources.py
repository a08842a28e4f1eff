"""Where the dashboard reads from: the campaign sync specs and a read-only view of the ledger.

Everything is resolved per request (a connection or a spec can change while the API server runs); only the
database engine is kept, one per ledger URL. The engine is read-only at the database level — SQLite is opened
with ``mode=ro``, PostgreSQL sessions default to read-only transactions — so the dashboard cannot write, even
by mistake.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from airflow.sdk.exceptions import AirflowNotFoundException
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from dynamics_campaign_sync.failure_reasons import FAILURE_REASON_KEY
from dynamics_campaign_sync.hooks.database import LedgerHook, data_dir, url_from_connection
from dynamics_campaign_sync.ledger import Ledger
from dynamics_campaign_sync.ledger.engine import create_ledger_engine
from dynamics_campaign_sync.spec import CampaignSpec, collect_specs
from dynamics_campaign_sync.spec.folder import specs_folder

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class SpecCatalog:
    """The valid specs by key, and one message per spec file that does not validate."""

    specs: dict[str, CampaignSpec] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def load_catalog(directory: Path | None = None) -> SpecCatalog:
    """Every spec of the folder; a broken file is reported instead of hiding the others."""
    folder = directory or specs_folder()  # the DAG files' lookup: the dashboard shows the syncs they build
    catalog = SpecCatalog()
    if not folder.is_dir():
        catalog.errors.append(f"{folder}: the campaign spec folder does not exist")
        return catalog
    collection = collect_specs(folder)
    catalog.specs.update((spec.key, spec) for spec in collection.specs)
    catalog.errors.extend(str(problem) for problem in collection.problems)
    return catalog


def ledger_url() -> str:
    """The ledger's URL from connection ``campaign_sync_ledger``, else the local SQLite file the DAGs use.

    Unlike :attr:`LedgerHook.url` this never creates the data folder: the dashboard only reads.
    """
    hook = LedgerHook()
    try:
        connection = hook.get_connection(hook.conn_id)
    except AirflowNotFoundException:
        return f"sqlite:///{data_dir() / LedgerHook.default_file}"
    return url_from_connection(connection)


class LedgerUnavailable(Exception):
    """The ledger does not exist yet (no sync has run) or was never migrated."""


_ledgers: dict[str, Ledger] = {}
_ledgers_lock = threading.Lock()


def read_only_ledger(url: str) -> Ledger:
    """A cached read-only :class:`Ledger` for ``url``; :class:`LedgerUnavailable` if there is nothing to read."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not parsed.database or parsed.database == ":memory:" or not path.is_file():
            raise LedgerUnavailable(f"no ledger at {parsed.database or url}: no campaign sync has run yet")
    with _ledgers_lock:
        ledger = _ledgers.get(url)
        if ledger is None:
            ledger = _open_read_only(url)
            try:
                version = ledger.schema_version()
            except SQLAlchemyError:  # a warning on the page; the details (hosts, SQL) only in the server log
                log.exception("The dashboard cannot read the ledger at %s", make_url(url).render_as_string())
                ledger.engine.dispose()
                raise LedgerUnavailable("cannot read the ledger: see the API server log") from None
            if version == 0:
                ledger.engine.dispose()
                raise LedgerUnavailable("the ledger has no tables yet: no campaign sync has run yet")
            _ledgers[url] = ledger
    return ledger


def _open_read_only(url: str) -> Ledger:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "").resolve()
        # SQLite URI filename: the driver refuses every write on this connection.
        engine = create_ledger_engine(f"sqlite:///file:{quote(str(path))}?mode=ro&uri=true")
    else:
        engine = create_ledger_engine(
            url, connect_args={"options": "-c default_transaction_read_only=on"}, pool_pre_ping=True
        )
    return Ledger(engine)


def forget_ledgers() -> None:
    """Drop the cached engines (tests switch ledgers between cases)."""
    with _ledgers_lock:
        for ledger in _ledgers.values():
            ledger.engine.dispose()
        _ledgers.clear()


#: Task states that stopped a run: shown with the task's log link.
FAILED_TASK_STATES = ("failed",)  # not the upstream_failed tasks after it: they name no cause


def latest_dag_runs(dag_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per DAG id, its newest run in Airflow's metadata (state, conf's dry run, times) and the tasks that failed
    in it with the Airflow UI route of their log. DAGs that never ran are absent.

    Read with Airflow's own ORM in the API server process, the same metadata the Airflow UI shows. Airflow 3
    keeps no exception text on a task instance: the reason shown is the one our failure callback kept as an XCom
    (:mod:`dynamics_campaign_sync.failure_reasons`); the whole story is in the linked log.
    """
    if not dag_ids:
        return {}
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    newest = (select(DagRun.dag_id, func.max(DagRun.run_after).label("run_after"))
              .where(DagRun.dag_id.in_(dag_ids)).group_by(DagRun.dag_id).subquery())
    with create_session() as session:
        runs = session.scalars(select(DagRun).join(
            newest, (DagRun.dag_id == newest.c.dag_id) & (DagRun.run_after == newest.c.run_after))).all()
        found = {run.dag_id: _dag_run(run) for run in runs}
        failed = session.execute(
            select(TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state,
                   TaskInstance.try_number, TaskInstance.end_date)
            .where(TaskInstance.dag_id.in_(list(found)),
                   TaskInstance.run_id.in_([run["run_id"] for run in found.values()]),
                   TaskInstance.state.in_(FAILED_TASK_STATES))
            .order_by(TaskInstance.end_date)
        ).all()
        reasons = _failure_reasons(session, [(d, r, t) for d, r, t, *_ in failed])
    for dag_id, run_id, task_id, state, try_number, ended in failed:
        if found[dag_id]["run_id"] == run_id:
            found[dag_id]["failed_tasks"].append({
                "task_id": task_id, "state": str(state), "try_number": try_number, "ended_at": ended,
                "error": reasons.get((dag_id, run_id, task_id)),
                "log_url": f"/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}/tasks/"
                           f"{quote(task_id, safe='')}",
            })
    return found


def _failure_reasons(session: Any, tasks: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], str]:
    """The reasons the failed tasks' failure callback kept (:mod:`dynamics_campaign_sync.failure_reasons`)."""
    if not tasks:
        return {}
    from airflow.models.xcom import XComModel
    from sqlalchemy import select, tuple_

    rows = session.execute(
        select(XComModel.dag_id, XComModel.run_id, XComModel.task_id, XComModel.value)
        .where(XComModel.key == FAILURE_REASON_KEY,
               tuple_(XComModel.dag_id, XComModel.run_id, XComModel.task_id).in_(tasks))).all()
    # A string XCom is stored as itself (JSON); anything else would not come from our callback.
    return {(d, r, t): value for d, r, t, value in rows if isinstance(value, str)}


def _dag_run(run: Any) -> dict[str, Any]:
    conf = run.conf if isinstance(run.conf, dict) else {}
    return {
        "run_id": run.run_id, "state": str(run.state), "dry_run": bool(conf.get("dry_run")),
        "run_after": run.run_after, "start_date": run.start_date, "end_date": run.end_date,
        "data_interval_end": run.data_interval_end, "failed_tasks": [],
    }
