"""Counting several activity requests at once, in forked worker processes.

SQLite runs each query on one core. The behaviour filters of a spec are
independent, and the counts of a request are the union of its counts over
disjoint ranges of person ids, so every request is cut at a few person-id
boundaries and the pieces are counted by worker processes in parallel. Cutting
by person rather than by time makes the pieces' counts disjoint: the parent
concatenates them instead of adding up the counts of people seen by several
workers, and each person's id crosses the process boundary once.

Processes rather than threads: threads in one process did not scale (reading
rows into Python holds the GIL, and SQLite's allocator takes a global lock),
separate processes did. Workers are forked, so they start in milliseconds with
everything imported; where ``fork`` does not exist the requests are counted one
after the other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from dynamics_campaign_sync.lazy_exports import lazy_module
from dynamics_campaign_sync.qualification.contract import PERSON_ID
from dynamics_campaign_sync.qualification.joined_ids import SEPARATOR
from dynamics_campaign_sync.qualification.sources import ActivityCounts, ActivityRequest

if TYPE_CHECKING:
    import pandas as pd
else:  # on first use: the compiled evaluation answers with numpy arrays alone (see lazy_exports.lazy_module)
    pd = lazy_module("pandas")

#: ``low <= person_id < high``; None leaves that side open (and the range with no low bound
#: also holds activities without a person id, so the ranges of a cut cover every row).
PersonRange = tuple[str | None, str | None]
RangeCounter = Callable[[ActivityRequest, PersonRange], ActivityCounts]
#: Builds a worker's counter once per worker (the fork inherits it: nothing is pickled).
CountingFactory = Callable[[], RangeCounter]

EVERYONE: PersonRange = (None, None)

_worker_count: RangeCounter | None = None


#: The first piece of a window is this fraction of it; later pieces are sized from the rows found.
FIRST_PIECE_PARTS = 16
#: A piece is at most this many times longer than the one before (a sparse piece is no promise).
MAX_PIECE_GROWTH = 4


def next_slice(
    request: ActivityRequest, previous: ActivityRequest | None, previous_rows: int, rows_per_piece: int
) -> ActivityRequest | None:
    """The piece of ``request``'s window after ``previous`` (the first when None); None after the last.

    Pieces are consecutive and disjoint and cover the window. Each is sized to
    hold about ``rows_per_piece`` rows at the density of the piece before it
    (``previous_rows`` rows), so the rows are not counted beforehand to cut the
    window. An open window (no start) is one piece. Conditions relative to the
    as-of time keep the request's reference time.
    """
    if request.start is None:
        return request if previous is None else None
    if previous is None:
        low, step = request.start, (request.end - request.start) / FIRST_PIECE_PARTS
    else:
        assert previous.start is not None
        if previous.end >= request.end:
            return None
        growth = min(MAX_PIECE_GROWTH, rows_per_piece / max(previous_rows, 1))
        low, step = previous.end, (previous.end - previous.start) * growth
    high = min(low + max(step, dt.timedelta(microseconds=1)), request.end)
    return dataclasses.replace(request, start=low, end=high, as_of=request.reference_time)


def person_ranges(boundaries: Sequence[str]) -> list[PersonRange]:
    """The consecutive, disjoint ranges that ``boundaries`` (sorted ids) cut all person ids into."""
    bounds: list[str | None] = [None, *boundaries, None]
    return list(zip(bounds, bounds[1:], strict=False))


#: The ids of a worker's counts as one text joined by ``SEPARATOR`` (one string to pickle, split in C
#: by the parent), or as an array where an id holds the separator.
PackedIds = str | np.ndarray
Packed = tuple[PackedIds, np.ndarray, int]


def _packed(counts: ActivityCounts) -> Packed:
    """Counts as plain values: a joined text and an array cross the process boundary several
    times faster than a Series or an array of strings (one pickled object per id)."""
    ids = counts.counts.index.tolist()
    try:
        joined: str | None = SEPARATOR.join(ids)
    except TypeError:  # a NULL id (rows without a person id): sent as is, the evaluator leaves it out
        joined = None
    packed: PackedIds = np.array(ids, dtype=object)
    if joined is not None and joined.count(SEPARATOR) == len(ids) - 1:
        packed = joined
    return packed, counts.counts.to_numpy(dtype=np.int64), counts.rows


def _ids(packed: Packed) -> list[str]:
    ids, values, _ = packed
    if not len(values):
        return []
    return ids.split(SEPARATOR) if isinstance(ids, str) else ids.tolist()


def _start_worker(factory: CountingFactory) -> None:
    global _worker_count
    _worker_count = factory()


def _count(task: tuple[ActivityRequest, PersonRange]) -> Packed:
    assert _worker_count is not None, "worker not initialised"
    return _packed(_worker_count(*task))


def _can_fork() -> bool:
    """Whether forking is safe here: the platform has it, and DuckDB (whose threads a fork would copy in the
    middle of their work, breaking the worker) is not loaded in this process."""
    return "fork" in multiprocessing.get_all_start_methods() and "duckdb" not in sys.modules


def count_in_processes(
    factory: CountingFactory, requests: Sequence[ActivityRequest], boundaries: Sequence[str]
) -> list[ActivityCounts]:
    """The counts of ``requests``, each cut at the person-id ``boundaries`` and counted by one
    forked worker per range, each with what ``factory`` builds (its own database connections:
    connections never cross a fork)."""
    ranges = person_ranges(boundaries)
    if len(ranges) < 2 or not _can_fork():
        count = factory()
        return [count(request, EVERYONE) for request in requests]
    order = _likely_largest_first(requests)
    tasks = [(requests[position], people) for position in order for people in ranges]
    context = multiprocessing.get_context("fork")
    counted: dict[int, ActivityCounts] = {}
    with ProcessPoolExecutor(
        len(ranges), mp_context=context, initializer=_start_worker, initargs=(factory,)
    ) as pool:
        results = pool.map(_count, tasks)  # in task order, as they finish
        for position in order:  # while the workers count the next requests
            counted[position] = _concatenated([next(results) for _ in ranges])
    return [counted[position] for position in range(len(requests))]


def _likely_largest_first(requests: Sequence[ActivityRequest]) -> list[int]:
    """Positions of ``requests``, those likely to count the most rows first: requests without
    conditions (every activity of the type), then the longest windows. The parent turns each
    request's counts into a Series while the workers count the smaller requests after it,
    instead of after the last, largest one."""

    def size(position: int) -> tuple[int, bool, dt.timedelta]:
        request = requests[position]
        if request.start is None:
            return len(request.conditions), False, dt.timedelta(0)
        return len(request.conditions), True, request.start - request.end

    return sorted(range(len(requests)), key=size)


def _concatenated(pieces: Sequence[Packed]) -> ActivityCounts:
    """The counts of a request from those of its disjoint person ranges: no person is in two."""
    ids = [person for piece in pieces for person in _ids(piece)]
    rows = sum(piece[2] for piece in pieces)
    if not ids:
        return ActivityCounts(rows=rows)
    values = np.concatenate([piece[1] for piece in pieces])
    return ActivityCounts(
        counts=pd.Series(values, index=pd.Index(ids, dtype="str", name=PERSON_ID)), rows=rows
    )
