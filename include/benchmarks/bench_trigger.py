"""Trigger campaign latency: from an activity's insert to the person being a member of the campaign in Dynamics.

A real Airflow (api-server, dag-processor, scheduler, triggerer; LocalExecutor, SQLite metadata as ``make run``), the
Dataverse emulator, a SQLite source and ledger. A trigger-only spec (demo requests from Germany, watched on the
activities table) is unpaused; qualifying demo requests are inserted at a steady rate, each for a new person, and
the owned list is read back through the Web API every second. Prints, per rate: p50 / p95 / max latency, runs
started, requests per person, and whether anyone was added twice or missed.

    python include/benchmarks/bench_trigger.py [--rates 1,10] [--seconds 30] [--poll-seconds 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "include"), str(REPO / "tests"), str(REPO / "tests" / "e2e")]  # our package is installed

import sqlalchemy as sa  # noqa: E402
from trigger_stack import (  # noqa: E402
    airflow_stack,
    insert_demo_requests,
    lead_id,
    members,
    start,
    triggered_dag_id,
    write_world,
)

from dataverse_emulator.testing import start_emulator  # noqa: E402
from dynamics_campaign_sync.ledger import Ledger  # noqa: E402
from dynamics_campaign_sync.ledger.schema import events  # noqa: E402

KEY = "bench_demo_requests"
DAG_ID = triggered_dag_id(KEY)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run_rate(rate: int, seconds: int, first: int, source_url: str, emulator, ledger: Ledger, stack) -> dict:
    """Insert ``rate`` qualifying demo requests per second for ``seconds``; wait until each is a member."""
    engine = sa.create_engine(source_url)
    inserted: dict[str, float] = {}
    runs_before = len(stack.api.dag_runs(DAG_ID))
    requests_before = len(emulator.requests_log())
    started = time.monotonic()
    n = first
    for tick in range(seconds * rate):
        due = started + tick / rate
        time.sleep(max(0.0, due - time.monotonic()))
        insert_demo_requests(engine, [n])
        inserted[lead_id(n)] = time.monotonic()
        n += 1
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 300
    while len(seen) < len(inserted) and time.monotonic() < deadline:
        now = time.monotonic()
        for member in members(emulator, ledger) & inserted.keys():
            seen.setdefault(member, now)
        time.sleep(1.0)
    engine.dispose()
    latencies = [seen[p] - inserted[p] for p in seen]
    with ledger.engine.connect() as connection:
        added = connection.execute(sa.select(events.c.person_id, sa.func.count()).where(
            events.c.person_id.in_(list(inserted)), events.c.action == "add").group_by(events.c.person_id)).all()
    return {
        "rate": rate, "people": len(inserted),
        "p50": statistics.median(latencies) if latencies else None,
        "p95": percentile(latencies, 0.95) if latencies else None,
        "max": max(latencies) if latencies else None,
        "runs": len(stack.api.dag_runs(DAG_ID)) - runs_before,
        "requests_per_person": (len(emulator.requests_log()) - requests_before) / max(1, len(inserted)),
        "added_twice": sum(1 for _, count in added if count > 1),
        "missed": len(inserted) - len(seen),
        "next": n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="1,10", help="activities per second, comma-separated")
    parser.add_argument("--seconds", type=int, default=30, help="how long each rate lasts")
    parser.add_argument("--poll-seconds", type=float, default=2.0, help="the trigger's poll interval")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    people = sum(rate * args.seconds for rate in rates)
    with tempfile.TemporaryDirectory(prefix="bench-trigger-") as folder, \
            start_emulator(Path(folder) / "emulator") as emulator:
        tmp = Path(folder)
        source_url, ledger_path = write_world(tmp, KEY, people, emulator, args.poll_seconds)
        with airflow_stack(tmp, emulator, source_url, ledger_path) as stack:
            start(stack, DAG_ID)
            ledger = Ledger.from_url(f"sqlite:///{ledger_path}")
            ledger.migrate()
            results, first = [], 0
            for rate in rates:
                result = run_rate(rate, args.seconds, first, source_url, emulator, ledger, stack)
                first = result.pop("next")
                results.append(result)
                print(f"rate {rate}/s done: {result}", flush=True)
            ledger.close()
    print(f"\nTrigger campaign latency (poll {args.poll_seconds:g} s, {args.seconds} s per rate; activity insert "
          "to member in Dynamics, read back through the Web API every second)")
    print(f"{'rate/s':>7} {'people':>7} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'runs':>5} {'req/person':>11} "
          f"{'added twice':>12} {'missed':>7}")
    for r in results:
        print(f"{r['rate']:>7} {r['people']:>7} {r['p50']:>7.1f} {r['p95']:>7.1f} {r['max']:>7.1f} {r['runs']:>5} "
              f"{r['requests_per_person']:>11.2f} {r['added_twice']:>12} {r['missed']:>7}")


if __name__ == "__main__":
    main()
