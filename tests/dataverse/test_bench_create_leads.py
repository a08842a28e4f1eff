"""``make bench-leads`` runs, and compares the two ways on the same leads (request counts, not times)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_benchmark_prints_one_row_per_way_with_requests_and_stored_leads() -> None:
    result = subprocess.run([sys.executable, str(REPO / "include/benchmarks/bench_create_leads.py"), "--leads", "30"],
                            capture_output=True, text=True, timeout=120, check=True)
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in result.stdout.splitlines()[2:]]
    assert [(way.split(" (")[0], leads, requests, stored) for way, leads, _, requests, stored in rows] == [
        ("one POST each", "30", "30", "30"), ("create_leads", "30", "1", "30")]
