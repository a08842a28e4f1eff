"""Creating leads for people known only by email: one POST each vs ``create_leads`` ($batch).

Starts a throwaway emulator, creates the same N leads both ways (the emulator emptied in between) and prints
wall time, requests sent, and how many leads were stored. Requests are what Dataverse's service protection
limits count (6,000 per user per 5 minutes), so they matter more than local seconds.

    python include/benchmarks/bench_create_leads.py [--leads 2500]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "include"))  # our package itself is installed (make install)

from dataverse_emulator.testing import start_emulator  # noqa: E402
from dynamics_campaign_sync.dataverse import DataverseClient, DataverseConfig  # noqa: E402
from dynamics_campaign_sync.dataverse.models import NewLead  # noqa: E402


def client_for(emulator) -> DataverseClient:
    return DataverseClient(DataverseConfig(**emulator.client_settings()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2500)
    args = parser.parse_args()
    emails = [f"bench-{i:05d}@bench.example" for i in range(args.leads)]
    ways = {
        "one POST each (create_lead)": lambda client: [client.create_lead(email=e) for e in emails],
        "create_leads ($batch, 1,000 per request)": lambda client: client.create_leads(
            [NewLead(email=e) for e in emails]),
    }
    print("| way | leads | wall s | requests | leads stored |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-leads-") as folder, start_emulator(Path(folder)) as emulator:
        for label, create in ways.items():
            emulator.reset()
            with client_for(emulator) as client:
                client.check_access()  # token and TLS set-up, not timed
                before = client.stats.requests
                started = time.perf_counter()
                ids = create(client)
                elapsed = time.perf_counter() - started
                sent = client.stats.requests - before
                stored = sum(1 for _ in client.iter_records("leads", **{"$select": "leadid"}))
            assert len(set(ids)) == len(emails), label
            print(f"| {label} | {len(emails):,} | {elapsed:.2f} | {sent:,} | {stored:,} |", flush=True)


if __name__ == "__main__":
    main()
