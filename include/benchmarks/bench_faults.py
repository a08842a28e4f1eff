"""A fault run and a crash run of the member-write path on a PostgreSQL ledger, with figures.

Fault run: N leads added to a campaign while the emulator answers 20 % of the list writes with 500/503, loses 5 %
of the answers after carrying the request out, and enforces tight service-protection limits. Crash run: a writer
process is SIGKILLed in the middle of its chunks; a second attempt heals what it left. Both end by checking the
outcome: every person a member in Dynamics once, one ledger event per person, no pending intent.

    python include/benchmarks/bench_faults.py [--people 10000] [--ledger-url postgresql+psycopg2://...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "include"))  # our package itself is installed (make install)

from project_env import python_path  # noqa: E402
from sqlalchemy import create_engine, func, make_url, select, text  # noqa: E402

from dataverse_emulator.testing import start_emulator  # noqa: E402
from dynamics_campaign_sync.dataverse import DataverseClient, DataverseConfig  # noqa: E402
from dynamics_campaign_sync.ledger import Ledger  # noqa: E402
from dynamics_campaign_sync.ledger.schema import events, intents  # noqa: E402
from dynamics_campaign_sync.spec import CampaignSpec  # noqa: E402
from dynamics_campaign_sync.sync.service import CampaignSync, RunContext  # noqa: E402

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
END = START + dt.timedelta(days=1)
FAULTS = [{"path": "AddListMembersList", "error_rate": 0.2, "lost_response_rate": 0.05}]
LIMITS = {"requests_per_window": 3, "window_seconds": 5}


def client_for(settings: dict) -> DataverseClient:
    """A client from ``RunningEmulator.client_settings()`` (what a child process is handed)."""
    return DataverseClient(DataverseConfig(**settings))


def spec_for(campaign_id: str) -> CampaignSpec:
    return CampaignSpec.model_validate({
        "key": f"bench_faults_{campaign_id[:8]}", "title": "Fault run", "owner": "bench@example.com",
        "campaign": {"id": campaign_id}, "member_types": ["lead"],
        "schedule": {"cron": "0 6 * * *", "start_date": "2026-01-01"},
        "rules": {"filters": [{"type": "demographic", "field": "country", "operator": "is", "value": "DE"}]}})


def write(job: dict) -> dict:
    """One add task: apply the recorded plan (the crash run runs this in a child process)."""
    ledger = Ledger.from_url(job["ledger_url"])
    with client_for(job["emulator"]) as client:
        sync = CampaignSync(spec_for(job["campaign_id"]), client=client, ledger=ledger)
        started = time.perf_counter()
        outcome = sync.apply("add", job["campaign_id"], RunContext(job["run_id"], START, END))
        stats = client.stats
        return {"wall_s": round(time.perf_counter() - started, 2), "succeeded": outcome.succeeded,
                "healed": outcome.healed, "failed": len(outcome.failed), "requests": stats.requests,
                "retries": stats.retries, "throttled": stats.throttled,
                "throttle_wait_s": round(stats.throttle_wait_seconds, 1)}


def prepare(emulator, ledger_url: str, people: int) -> dict:
    """A campaign, N leads in Dynamics, the owned list, and an approved plan adding everyone."""
    info = emulator.client_settings()
    leads = [str(uuid.uuid4()) for _ in range(people)]
    emulator.seed({"leads": [{"leadid": lead, "lastname": f"L{n}"} for n, lead in enumerate(leads)]})
    ledger = Ledger.from_url(ledger_url)
    ledger.migrate()
    with client_for(info) as client:
        campaign_id = client.create("campaigns", {"name": f"Bench {uuid.uuid4().hex[:6]}", "statecode": 0,
                                                  "statuscode": 2})
        sync = CampaignSync(spec_for(campaign_id), client=client, ledger=ledger)
        sync.ensure_lists(campaign_id, RunContext("setup", START, END))
    run_id = f"bench-{uuid.uuid4().hex[:6]}"
    ledger.record_plan(campaign_key=sync.key, run_id=run_id, interval_start=START, interval_end=END,
                       status="applied", counts={"to_add": people},
                       items=[(lead, "lead", "add", {"source_person_id": lead}) for lead in leads])
    ledger.close()
    return {"emulator": info, "ledger_url": ledger_url, "campaign_id": campaign_id, "run_id": run_id,
            "key": sync.key, "people": people}


def verify(job: dict) -> dict:
    ledger = Ledger.from_url(job["ledger_url"])
    with client_for(job["emulator"]) as client:
        owned = ledger.owned_list(job["campaign_id"], "lead")
        in_dynamics = sum(1 for _ in client.iter_list_member_ids(owned.list_id))
    with ledger.engine.connect() as connection:
        per_person = connection.execute(
            select(func.count(), func.count(events.c.person_id.distinct())).where(events.c.run_id == job["run_id"])
        ).one()
        pending = connection.scalar(select(func.count()).select_from(intents).where(
            intents.c.campaign_key == job["key"], intents.c.completed_at.is_(None)))
    batches = len(ledger.event_batches(campaign_key=job["key"]))
    ledger.close()
    return {"members_in_dynamics": in_dynamics, "ledger_events": per_person[0],
            "people_with_an_event": per_person[1], "event_batches": batches, "pending_intents": pending}


def crash_run(emulator, job: dict) -> dict:
    """SIGKILL a writer process while it sends a chunk (after a few), then let a second attempt heal and finish."""
    env = {**os.environ, "PYTHONPATH": python_path()}
    child = subprocess.Popen([sys.executable, __file__, "--write", json.dumps(job)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = create_engine(job["ledger_url"])
    started = time.perf_counter()
    while child.poll() is None:
        with engine.connect() as connection:
            done, open_ = connection.execute(select(
                func.count(intents.c.completed_at), func.count() - func.count(intents.c.completed_at)).where(
                intents.c.campaign_key == job["key"])).one()
        if done >= 3 and open_:  # killed while a chunk is sent and not yet recorded
            os.kill(child.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    child.wait()
    engine.dispose()
    killed_after = round(time.perf_counter() - started, 2)
    second = write(job)
    return {"killed_after_s": killed_after, **{f"retry_{k}": v for k, v in second.items()}}


def fresh_postgres_schema(url: str) -> str:
    schema = f"bench_faults_{uuid.uuid4().hex[:8]}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--ledger-url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/test")
    parser.add_argument("--write", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        print(json.dumps(write(json.loads(args.write))))
        return
    ledger_url = fresh_postgres_schema(args.ledger_url) if args.ledger_url.startswith("postgres") else args.ledger_url
    print(f"ledger: {make_url(ledger_url).render_as_string(hide_password=True)}; {args.people:,} people; "
          f"faults {FAULTS}; limits {LIMITS}\n")
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as folder, start_emulator(Path(folder)) as emulator:
        rows = []
        emulator.configure(faults=FAULTS, limits=LIMITS, fault_seed=7)
        job = prepare(emulator, ledger_url, args.people)
        rows.append(("fault run", write(job), verify(job)))
        emulator.configure(faults=[{"path": "AddListMembersList", "slow_rate": 1, "slow_seconds": 0.3}],
                           limits={"requests_per_window": 6000, "window_seconds": 300})
        job = prepare(emulator, ledger_url, args.people)
        rows.append(("crash run (SIGKILL mid-write)", crash_run(emulator, job), verify(job)))
    for label, figures, checked in rows:
        print(f"## {label}")
        print("\n".join(f"  {k:<22} {v}" for k, v in {**figures, **checked}.items()), "\n")


if __name__ == "__main__":
    main()
