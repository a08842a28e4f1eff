"""Command line: ``python -m sample_data [--people N] [--activities M] [--changes C] [--db PATH]
[--emulator-seed PATH]``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from sample_data import DEFAULT_DB, DEFAULT_END, DEFAULT_SEED, generate, write_emulator_seed


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_data", description=__doc__)
    parser.add_argument("--people", type=int, default=10_000, help="number of people (default 10,000)")
    parser.add_argument(
        "--activities", type=int, default=200_000, help="number of activities (default 200,000)"
    )
    parser.add_argument(
        "--changes", type=int, default=0,
        help="change activities (data_value_changed, score_changed) besides the others (default 0)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same data)")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"database file: DuckDB (.duckdb) or SQLite (other suffix); default {DEFAULT_DB}")
    parser.add_argument(
        "--end",
        type=_moment,
        default=DEFAULT_END,
        help="data end, UTC (default 2026-06-01); activities cover the year before",
    )
    parser.add_argument(
        "--emulator-seed", type=Path, help="also write the people as a Dataverse emulator seed JSON"
    )
    parser.add_argument(
        "--force", action="store_true", help="regenerate even if the database already matches"
    )
    args = parser.parse_args(argv)
    if args.people < 1 or args.activities < 0 or args.changes < 0:
        parser.error("--people must be >= 1, --activities and --changes >= 0")

    started = time.perf_counter()
    generate(
        args.db,
        people=args.people,
        activities=args.activities,
        seed=args.seed,
        end=args.end,
        force=args.force,
        changes=args.changes,
    )
    if args.emulator_seed:
        leads, contacts = write_emulator_seed(
            args.emulator_seed, people=args.people, seed=args.seed, end=args.end
        )
        print(f"{args.emulator_seed}: {leads:,} leads, {contacts:,} contacts")
    print(f"done in {time.perf_counter() - started:,.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
