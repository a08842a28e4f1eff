"""Sample data for campaign sync: people and activities in the contract's tables, in a DuckDB file (the
default, ``.duckdb``) or a SQLite file (any other suffix).

Deterministic for a seed and sizes, realistic in shape (see ``vocab``), and
fast at scale: a million people and twenty million activities are generated
with numpy and bulk-inserted chunk by chunk, with bounded memory. The same
people can be written as a Dataverse emulator seed file, with the same GUIDs.

Run ``python -m sample_data --help`` (with ``include/`` and ``plugins/`` on
``sys.path``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from dynamics_campaign_sync.qualification.contract import DUCKDB_SUFFIXES, source_file_url
from sample_data.activities import activity_chunks
from sample_data.emulator_seed import write_seed
from sample_data.people import people_chunks, population
from sample_data.writer import SqliteWriter, add_missing_indexes, read_info

DEFAULT_DB = Path(".data/source.duckdb")
source_url = source_file_url


def is_duckdb(path: Path) -> bool:
    return path.suffix in DUCKDB_SUFFIXES


def read_any_info(path: Path) -> dict[str, str]:
    if is_duckdb(path):
        from sample_data.duckdb_writer import read_duckdb_info

        return read_duckdb_info(path)
    return read_info(path)
DEFAULT_END = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
DEFAULT_SEED = 20260601


def _epoch(moment: dt.datetime) -> int:
    return int(moment.astimezone(dt.UTC).timestamp())


def _progress(
    label: str, chunks: Iterable[dict[str, np.ndarray]], total: int, log: Callable[[str], None]
) -> Iterator[dict[str, np.ndarray]]:
    started, done = time.perf_counter(), 0
    for chunk in chunks:
        yield chunk
        done += len(next(iter(chunk.values())))
        elapsed = time.perf_counter() - started
        log(f"{label}: {done:,}/{total:,} rows, {done / max(elapsed, 1e-9):,.0f} rows/s")


def describe(people: int, activities: int, seed: int, end: dt.datetime, changes: int = 0) -> dict[str, str]:
    """What a database generated with these parameters holds (stored in it, compared on reuse; ``changes``
    only when there are some, so databases generated before they existed still match)."""
    info = {"people": str(people), "activities": str(activities), "seed": str(seed), "end": end.isoformat()}
    return info | ({"changes": str(changes)} if changes else {})


def generate(
    db_path: Path = DEFAULT_DB,
    *,
    people: int = 10_000,
    activities: int = 200_000,
    seed: int = DEFAULT_SEED,
    end: dt.datetime = DEFAULT_END,
    force: bool = False,
    log: Callable[[str], None] = print,
    changes: int = 0,
) -> bool:
    """Write the sample database; returns False when an identical one already exists (kept as is).

    ``changes`` change activities (``data_value_changed``, ``score_changed``) are added to the
    ``activities`` ones, interleaved in time order; none by default."""
    info = describe(people, activities, seed, end, changes)
    if not force and read_any_info(db_path) == info:
        log(f"{db_path}: already holds {people:,} people and {activities:,} activities (seed {seed}); kept")
        added = [] if is_duckdb(db_path) else add_missing_indexes(db_path)
        if added:
            log(f"{db_path}: added the recommended indexes {', '.join(added)}")
        return False
    end_ts = _epoch(end)
    if is_duckdb(db_path):
        from sample_data.duckdb_writer import DuckdbWriter

        writer: SqliteWriter | DuckdbWriter = DuckdbWriter(db_path)
    else:
        writer = SqliteWriter(db_path)
    writer.write("people", _progress("people", people_chunks(seed, people, end_ts), people, log))
    everyone = population(seed, people, end_ts)
    chunks = activity_chunks(seed, activities, end_ts, everyone, changes)
    writer.write("activities", _progress("activities", chunks, activities + changes, log))
    log("building indexes …" if not is_duckdb(db_path) else "sorting activities by type and time …")
    writer.finish(info)
    log(f"{db_path}: {people:,} people, {activities:,} activities"
        + (f" and {changes:,} change activities" if changes else ""))
    return True


def write_emulator_seed(
    path: Path, *, people: int, seed: int = DEFAULT_SEED, end: dt.datetime = DEFAULT_END
) -> tuple[int, int]:
    """Write the emulator seed for the same people as :func:`generate` (same seed, size and end)."""
    return write_seed(path, people_chunks(seed, people, _epoch(end)))


__all__ = ["DEFAULT_DB", "DEFAULT_END", "DEFAULT_SEED", "describe", "generate", "is_duckdb", "read_any_info",
           "source_url", "write_emulator_seed"]
