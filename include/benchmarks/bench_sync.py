"""A first campaign sync of 100,000 people against the emulator with realistic Dataverse latency, phase by phase.

Run 1 (first sync): every person qualifies; a share is known only by email (their leads exist in Dynamics and are
matched by email). Each ``AddListMembersList`` of 1,000 takes ``--latency`` seconds (the emulator's slow-answer
fault), as Dataverse's would. Printed per phase: wall time, Dataverse requests, the most requests the emulator
saw in flight at once; the adds are compared with ⌈chunks / cap⌉ × latency.
Run 2 (the next day's plan): what resolving costs once the email-only people's ids are remembered.
Service protection: adds with tight request limits and no latency; throughput against the limit's ceiling.

    python include/benchmarks/bench_sync.py [--people 100000] [--latency 1.0] [--cap 12] [--ledger-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "include"), str(Path(__file__).parent)]  # our package itself is installed

import pandas as pd  # noqa: E402
from bench_faults import fresh_postgres_schema, spec_for  # noqa: E402
from sqlalchemy import func, make_url, select  # noqa: E402

import dynamics_campaign_sync.sync.planning as planning_module  # noqa: E402
from dataverse_emulator.testing import start_emulator  # noqa: E402
from dynamics_campaign_sync.dataverse import DataverseClient, DataverseConfig, RetryPolicy  # noqa: E402
from dynamics_campaign_sync.ledger import Ledger  # noqa: E402
from dynamics_campaign_sync.ledger.schema import intents  # noqa: E402
from dynamics_campaign_sync.qualification.sources import DataFrameSource  # noqa: E402
from dynamics_campaign_sync.sync.service import CampaignSync, RunContext  # noqa: E402

DAY = dt.timedelta(days=1)
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
MEMBER_CHUNK = 1000
SEED_CHUNK = 20_000


def client_for(emulator: Any, cap: int | None) -> DataverseClient:
    settings = {"max_concurrency": cap} if cap else {}
    return DataverseClient(DataverseConfig(**emulator.client_settings(), **settings),
                           policy=RetryPolicy(max_attempts=12, max_total_seconds=600))


def people_and_leads(people: int, email_only_share: float) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """The source's people (every one qualifies) and their leads in Dynamics; every ``1/share``-th person is known
    to the source only by email."""
    step = max(1, round(1 / email_only_share)) if email_only_share else people + 1
    leads = [{"leadid": str(uuid.uuid4()), "lastname": f"P{n}", "emailaddress1": f"p{n}@bench-sync.example"}
             for n in range(people)]
    frame = pd.DataFrame({
        "person_id": [f"S{n}" for n in range(people)],
        "member_type": "lead",
        "dynamics_id": [None if n % step == 0 else lead["leadid"] for n, lead in enumerate(leads)],
        "email": [lead["emailaddress1"] for lead in leads],
        "country": "DE",
        "created_at": pd.Timestamp("2025-01-01", tz="UTC"),
    })
    return frame, leads


class Phases:
    """Wall time per phase, from wrapping the methods that do each phase's work (a method that is not there is
    reported as n/a, so the benchmark runs against older and newer code alike)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float | None] = {}

    def wrap(self, owner: Any, names: tuple[str, ...], phase: str) -> None:
        self.seconds.setdefault(phase, None)
        for name in names:
            original = getattr(owner, name, None)
            if original is None:
                continue
            self.seconds[phase] = 0.0

            def timed(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.seconds[phase] = (self.seconds[phase] or 0.0) + time.perf_counter() - started

            setattr(owner, name, timed)


def peak_in_flight(emulator: Any, since: int | None) -> int:
    """The most Web API requests the emulator had in flight at once: its own counter where it keeps one, else
    worked out from the request log (start = end − duration)."""
    peak = emulator.status().get("concurrency", {}).get("peak")
    if peak is not None:
        return int(peak)
    moments = []
    for entry in emulator.requests_log(since):
        end = dt.datetime.fromisoformat(entry["time"]).timestamp()
        moments += [(end - entry.get("duration_ms", 0) / 1000, 1), (end, -1)]
    current = best = 0
    for _moment, step in sorted(moments, key=lambda m: (m[0], m[1])):
        current += step
        best = max(best, current)
    return best


def reset_peak(emulator: Any) -> None:
    emulator.configure(limits={})  # a configuration change starts the emulator's in-flight counter afresh


def last_log_id(emulator: Any) -> int | None:
    log = emulator.requests_log()
    return log[-1]["id"] if log else None


def count_requests(emulator: Any, since: int | None, path: str) -> int:
    return sum(1 for r in emulator.requests_log(since) if path in r["path"])


def pending_intents(ledger: Ledger, key: str) -> int:
    with ledger.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(intents).where(
            intents.c.campaign_key == key, intents.c.completed_at.is_(None)))


def first_sync(emulator: Any, ledger_url: str, args: argparse.Namespace) -> list[tuple[str, Any]]:
    people, leads = people_and_leads(args.people, args.email_only)
    for start in range(0, len(leads), SEED_CHUNK):
        emulator.seed({"leads": leads[start:start + SEED_CHUNK]})
    ledger = Ledger.from_url(ledger_url)
    ledger.migrate()
    rows: list[tuple[str, Any]] = []
    with client_for(emulator, args.cap) as client:
        cap = client.config.max_concurrency
        campaign_id = client.create("campaigns", {"name": f"Bench {uuid.uuid4().hex[:6]}", "statecode": 0,
                                                  "statuscode": 2})
        sync = CampaignSync(spec_for(campaign_id), client=client, ledger=ledger,
                            source_factory=lambda: DataFrameSource(people))
        run = RunContext("bench_first", START, START + DAY)
        sync.ensure_lists(campaign_id, run)
        emulator.configure(faults=[{"path": "AddListMembersList", "slow_rate": 1, "slow_seconds": args.latency}])

        phases = Phases()
        phases.wrap(planning_module, ("resolve",), "resolve")
        phases.wrap(ledger, ("record_plan",), "plan write")
        phases.wrap(ledger, ("record", "last_qualified"), "qualification history")
        since = last_log_id(emulator)
        started = time.perf_counter()
        counts = sync.plan(campaign_id, run)["counts"]
        plan_seconds = time.perf_counter() - started
        rows += [("people / to add", f"{args.people:,} / {counts['to_add']:,} "
                                     f"({int(people['dynamics_id'].isna().sum()):,} known only by email)"),
                 ("plan task", f"{plan_seconds:.2f} s, {count_requests(emulator, since, '/api/'):,} requests")]
        rows += [(f"  {phase}", "n/a" if s is None else f"{s:.2f} s") for phase, s in phases.seconds.items()]
        rows.append(("  email lookups", f"{count_requests(emulator, since, 'emailaddress1'):,} requests"))

        sync.guard(run, override=False)
        phases = Phases()
        phases.wrap(ledger, ("begin_intent",), "intents begun (ledger)")
        phases.wrap(ledger, ("complete_intent",), "intents completed (ledger)")
        reset_peak(emulator)
        since = last_log_id(emulator)
        started = time.perf_counter()
        outcome = sync.apply("add", campaign_id, run)
        add_seconds = time.perf_counter() - started
        chunks = math.ceil(counts["to_add"] / MEMBER_CHUNK)
        expected = math.ceil(chunks / cap) * args.latency
        adds = count_requests(emulator, since, "AddListMembersList")
        rows += [("add task", f"{add_seconds:.2f} s for {outcome.succeeded:,} people, {adds} AddListMembersList "
                              f"of ≤ {MEMBER_CHUNK:,}"),
                 ("  max in flight (emulator)", f"{peak_in_flight(emulator, since)} (cap {cap})"),
                 ("  expected ⌈chunks / cap⌉ × latency", f"⌈{chunks} / {cap}⌉ × {args.latency:g} s = "
                                                         f"{expected:.1f} s ({add_seconds / max(expected, 1e-9):.2f}×)"),
                 ("  Dataverse busy (sum of request times)", f"{busy_seconds(emulator, since):.1f} s"),
                 *((f"  {phase}", "n/a" if s is None else f"{s:.2f} s") for phase, s in phases.seconds.items()),
                 ("first sync, plan + add", f"{plan_seconds + add_seconds:.2f} s")]
        owned = ledger.owned_list(campaign_id, "lead")
        in_list = sum(1 for _ in client.iter_list_member_ids(owned.list_id))
        rows.append(("check", f"{in_list:,} members in Dynamics, {len(ledger.members(campaign_id)):,} in the "
                              f"ledger, {pending_intents(ledger, sync.key)} pending intents"))

        emulator.configure(faults=[])
        again = RunContext("bench_second", START + DAY, START + 2 * DAY)
        phases = Phases()
        phases.wrap(planning_module, ("resolve",), "resolve")
        since = last_log_id(emulator)
        started = time.perf_counter()
        sync.plan(campaign_id, again)
        rows += [("next day's plan", f"{time.perf_counter() - started:.2f} s"),
                 ("  resolve", "n/a" if phases.seconds["resolve"] is None else f"{phases.seconds['resolve']:.2f} s"),
                 ("  email lookups", f"{count_requests(emulator, since, 'emailaddress1'):,} requests")]
    ledger.close()
    return rows


def busy_seconds(emulator: Any, since: int | None) -> float:
    return sum(r.get("duration_ms", 0) for r in emulator.requests_log(since)) / 1000


def throttled(emulator: Any, ledger_url: str, args: argparse.Namespace) -> list[tuple[str, Any]]:
    """Adds while the request limit binds: requests per second against the ceiling the limit allows."""
    emulator.configure(faults=[], limits={"requests_per_window": args.window_requests,
                                          "window_seconds": args.window_seconds})
    ledger = Ledger.from_url(ledger_url)
    ledger.migrate()
    leads = [str(uuid.uuid4()) for _ in range(args.throttle_people)]
    emulator.seed({"leads": [{"leadid": lead, "lastname": f"T{n}"} for n, lead in enumerate(leads)]})
    with client_for(emulator, args.cap) as client:
        campaign_id = client.create("campaigns", {"name": f"Throttled {uuid.uuid4().hex[:6]}", "statecode": 0,
                                                  "statuscode": 2})
        sync = CampaignSync(spec_for(campaign_id), client=client, ledger=ledger)
        run = RunContext("bench_throttled", START, START + DAY)
        sync.ensure_lists(campaign_id, run)
        ledger.record_plan(campaign_key=sync.key, run_id=run.run_id, interval_start=run.interval_start,
                           interval_end=run.interval_end, status="applied", counts={"to_add": len(leads)},
                           items=[(lead, "lead", "add", {"source_person_id": lead}) for lead in leads])
        time.sleep(args.window_seconds)  # start with the window empty
        since = last_log_id(emulator)
        started = time.perf_counter()
        outcome = sync.apply("add", campaign_id, run)
        seconds = time.perf_counter() - started
        answered = [r for r in emulator.requests_log(since) if "AddListMembersList" in r["path"]]
        done = sum(1 for r in answered if r["status"] < 400)
        ceiling = args.window_requests / args.window_seconds
        stats = client.stats
        rows = [("limit", f"{args.window_requests} requests / {args.window_seconds:g} s = {ceiling:.2f} requests/s"),
                ("adds", f"{outcome.succeeded:,} people, {done} accepted requests, "
                         f"{len(answered) - done} answered 429, in {seconds:.1f} s"),
                ("throughput", f"{done / seconds:.2f} requests/s = {done / seconds / ceiling:.0%} of the ceiling"),
                ("client", f"{stats.retries} retries, {stats.throttled} throttled, "
                           f"{stats.throttle_wait_seconds:.1f} s throttle waits")]
    ledger.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--email-only", type=float, default=0.05, help="share known only by email (0.05)")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per AddListMembersList (1.0)")
    parser.add_argument("--cap", type=int, help="requests in flight (default: the connection's default)")
    parser.add_argument("--ledger-url", help="default: a SQLite file; postgresql+psycopg2://... for PostgreSQL")
    # Dataverse allows 6,000 requests per 300 s; a window of seconds keeps the run short, and 10 s keeps the
    # whole-second Retry-After's rounding (up to 1 s per block) the small part of a window it is in Dataverse.
    parser.add_argument("--throttle-people", type=int, default=90_000)
    parser.add_argument("--window-requests", type=int, default=30)
    parser.add_argument("--window-seconds", type=float, default=10.0)
    parser.add_argument("--skip-throttle", action="store_true")
    parser.add_argument("--only-throttle", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as folder:
        ledger_url = args.ledger_url or f"sqlite:///{Path(folder) / 'ledger.db'}"
        if ledger_url.startswith("postgres"):
            ledger_url = fresh_postgres_schema(ledger_url)
        print(f"ledger: {make_url(ledger_url).render_as_string(hide_password=True)}")
        with start_emulator(Path(folder) / "emulator") as emulator:
            emulator.reset()
            sections = [] if args.only_throttle else [("first sync", first_sync(emulator, ledger_url, args))]
            if not args.skip_throttle:
                sections.append(("service protection", throttled(emulator, ledger_url, args)))
    for title, rows in sections:
        print(f"\n## {title}")
        width = max(len(label) for label, _ in rows)
        print("\n".join(f"  {label:<{width}}  {value}" for label, value in rows))


if __name__ == "__main__":
    main()
