"""A note on every finished campaign sync run, saying what it did: "interval 11-30 → 12-01: +57 −0, 4 not ours".

The summary task words the note and returns it in its XCom (``note``). Airflow 3.3's Task SDK cannot set a
run's note from inside a task (its execution API only reads it), so a DAG-run listener — run by the scheduler,
or by ``dag.test()``, when the run finishes — copies the note onto the run. Dry runs and superseded runs say
so first, so a green run is never read as "applied" when nothing was written.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow.listeners import hookimpl

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun

SUMMARY_TASK_ID = "summary"
#: DAG run notes hold at most 1,000 characters.
NOTE_LIMIT = 1000
_NOTHING_WRITTEN = {
    "dry_run": "DRY RUN, nothing written",
    "superseded": "SUPERSEDED, nothing written: a newer interval is already applied",
}


def _moment(value: datetime) -> str:
    """``11-30``, or ``11-30 06:00`` when the interval does not start or end at midnight."""
    return value.strftime("%m-%d" if (value.hour, value.minute) == (0, 0) else "%m-%d %H:%M")


def run_note(status: str, interval_start: datetime, interval_end: datetime, summary: dict[str, Any]) -> str:
    """The one-line account of a run, from its plan's status and interval and the summary's counts."""
    interval = f"interval {_moment(interval_start)} → {_moment(interval_end)}"
    if status in _NOTHING_WRITTEN:
        counts = f"plan +{summary['planned_adds']} −{summary['planned_removes']}"
        return f"{_NOTHING_WRITTEN[status]} ({interval}, {counts})"
    parts = [f"+{summary['added']} −{summary['removed']}"]
    if summary.get("not_ours"):
        parts.append(f"{summary['not_ours']} not ours")
    if summary.get("failed"):
        parts.append(f"{summary['failed']} failed")
    note = f"{interval}: {', '.join(parts)}"
    return note if status == "applied" else f"{note} (plan {status})"


def _summary_note(dag_run: DagRun, session: Any) -> str | None:
    from airflow.models.xcom import XComModel

    row = session.scalars(XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id,
                                             task_ids=SUMMARY_TASK_ID, key="return_value")).first()
    summary = XComModel.deserialize_value(row) if row is not None else None
    note = summary.get("note") if isinstance(summary, dict) else None
    return note if isinstance(note, str) and note else None


def _write_note(dag_run: DagRun, session: Any) -> None:
    note = _summary_note(dag_run, session)
    if note is None:
        return
    existing = dag_run.note or ""
    if note not in existing:
        dag_run.note = (f"{existing}\n\n{note}" if existing else note)[:NOTE_LIMIT]


def note_run(dag_run: DagRun) -> None:
    """Put the summary's note on the run; a note someone wrote by hand is kept, with ours below it.

    The scheduler hands the listener a run bound to its own session (the note is saved with the run's new
    state); ``dag.test()`` hands over a detached one, which is noted in a short session of our own.
    """
    from sqlalchemy.orm import object_session

    session = object_session(dag_run)
    if session is not None:
        _write_note(dag_run, session)
        return
    from airflow.models.dagrun import DagRun as DagRunModel
    from airflow.utils.session import create_session

    with create_session() as own:
        attached = own.get(DagRunModel, dag_run.id)
        if attached is not None:
            _write_note(attached, own)


@hookimpl
def on_dag_run_success(dag_run: DagRun, msg: str) -> None:
    note_run(dag_run)


@hookimpl
def on_dag_run_failed(dag_run: DagRun, msg: str) -> None:
    note_run(dag_run)
