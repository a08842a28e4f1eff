"""People from Dynamics: a full read of 100,000 leads, then a change-tracked read after 1 % of them changed.

Starts a throwaway emulator with N leads, and evaluates a demographic spec (``people: dataverse``) three ways:
the first change-tracked run (the whole table, kept in a SQLite ledger with its delta link), the next run after
1 % of the leads changed (only the delta link is read), and a run without change tracking (a ``$filter`` built
from the spec). Prints requests (what Dataverse's service protection limits count), records received, wall
time and the people qualified — the same in the last two rows, as a full read and a delta read must agree.

    python include/benchmarks/bench_dataverse_source.py [--leads 100000] [--changed 0.01]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "include")]  # our package itself is installed (make install)

from bench_create_leads import client_for  # noqa: E402

from dataverse_emulator.testing import start_emulator  # noqa: E402
from dynamics_campaign_sync.ledger import Ledger  # noqa: E402
from dynamics_campaign_sync.qualification import evaluate  # noqa: E402
from dynamics_campaign_sync.qualification.dataverse_source import DataverseSource  # noqa: E402
from dynamics_campaign_sync.spec.models import CampaignSpec  # noqa: E402

END = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
TITLES = ["CTO", "Chief Technology Officer", "VP Engineering", "Engineer", "Student", "Head of Data", None]
COUNTRIES = ["United Kingdom", "Germany", "France", "United States", None]
SEED_CHUNK = 10_000


def lead(i: int, rng: random.Random) -> dict:
    return {"leadid": str(uuid.UUID(int=i + 1)), "lastname": f"Lead {i}", "emailaddress1": f"lead{i}@bench.example",
            "jobtitle": rng.choice(TITLES), "address1_country": rng.choice(COUNTRIES),
            "numberofemployees": rng.choice([10, 50, 250, 1000, 5000, None]),
            "createdon": f"2026-0{rng.randint(1, 5)}-{rng.randint(10, 28)}T08:00:00Z"}


def spec(change_tracking: bool) -> CampaignSpec:
    return CampaignSpec.model_validate({
        "key": "bench_dataverse", "title": "Bench", "owner": "bench@example.com", "campaign": {"name": "Bench"},
        "schedule": {"cron": "0 6 * * *", "start_date": "2026-01-01"},
        "source": {"people": "dataverse", "entity": "leads", "change_tracking": change_tracking},
        "rules": {"filters": [
            {"type": "demographic", "field": "jobtitle", "operator": "contains", "value": ["chief", "cto", "head"]},
            {"type": "demographic", "field": "numberofemployees", "operator": "gte", "value": 250},
            {"type": "demographic", "field": "address1_country", "operator": "in",
             "value": ["United Kingdom", "Germany"]}]}})


def run(label: str, emulator, campaign: CampaignSpec, ledger: Ledger | None) -> None:
    with client_for(emulator) as client:
        source = DataverseSource.for_spec(campaign, client, ledger)
        started = time.perf_counter()
        result = evaluate(campaign, source, END - dt.timedelta(days=1), END)
        wall = time.perf_counter() - started
    stats = source.stats
    print(f"| {label} | {', '.join(stats.reads.values())} | {stats.requests} | {stats.pages} | {stats.records} | "
          f"{wall:.2f} | {len(result.qualified)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.01)
    args = parser.parse_args()
    rng = random.Random(7)
    leads = [lead(i, rng) for i in range(args.leads)]
    with tempfile.TemporaryDirectory(prefix="bench-dv-source-") as folder, \
            start_emulator(Path(folder) / "emulator", extra_args=["--empty"]) as emulator:
        started = time.perf_counter()
        for start in range(0, len(leads), SEED_CHUNK):
            emulator.seed({"leads": leads[start:start + SEED_CHUNK]})
        print(f"seeded {len(leads):,} leads in {time.perf_counter() - started:.1f} s\n")
        ledger = Ledger.from_url(f"sqlite:///{folder}/ledger.db")
        ledger.migrate()
        print("| read | how | requests | pages | records received | wall s | qualified |\n|---|---|---|---|---|---|---|")
        run("first run, change tracking", emulator, spec(True), ledger)
        changed = rng.sample(leads, int(len(leads) * args.changed))
        emulator.seed({"leads": [{**record, "jobtitle": "CTO", "numberofemployees": 5000,
                                  "address1_country": "Germany"} for record in changed]})
        run(f"next run, {args.changed:.0%} changed", emulator, spec(True), ledger)
        run("without change tracking ($filter)", emulator, spec(False), None)
        ledger.close()


if __name__ == "__main__":
    main()
