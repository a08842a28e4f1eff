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
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from dynamics_campaign_sync.qualification.contract import PERSON_ID
from dynamics_campaign_sync.qualification.sources import ActivityCounts, ActivityRequest

#: ``low <= person_id < high``; None leaves that side open (and the range with no low bound
#: also holds activities without a person id, so the ranges of a cut cover every row).
PersonRange = tuple[str | None, str | None]
RangeCounter = Callable[[ActivityRequest, PersonRange], ActivityCounts]
#: Builds a worker's counter once per worker (the fork inherits it: nothing is pickled).
CountingFactory = Callable[[], RangeCounter]

EVERYONE: PersonRange = (None, None)

_worker_count: RangeCounter | None = None


def time_slices(request: ActivityRequest, parts: int) -> list[ActivityRequest]:
    """``request`` as ``parts`` requests over consecutive, disjoint parts of its window.

    An open window (no start) is not cut. Conditions relative to the as-of
    time keep the request's reference time.
    """
    if request.start is None or parts < 2:
        return [request]
    step = (request.end - request.start) / parts
    bounds = [request.start + step * i for i in range(parts)] + [request.end]
    as_of = request.reference_time
    return [
        dataclasses.replace(request, start=low, end=high, as_of=as_of)
        for low, high in zip(bounds, bounds[1:], strict=False)
        if low < high
    ]


def person_ranges(boundaries: Sequence[str]) -> list[PersonRange]:
    """The consecutive, disjoint ranges that ``boundaries`` (sorted ids) cut all person ids into."""
    bounds: list[str | None] = [None, *boundaries, None]
    return list(zip(bounds, bounds[1:], strict=False))


def _packed(counts: ActivityCounts) -> tuple[np.ndarray, np.ndarray, int]:
    """Counts as plain arrays: they cross the process boundary several times faster than a Series."""
    return counts.counts.index.to_numpy(dtype=object), counts.counts.to_numpy(dtype=np.int64), counts.rows


def _unpacked(packed: tuple[np.ndarray, np.ndarray, int]) -> ActivityCounts:
    ids, values, rows = packed
    if not len(values):
        return ActivityCounts(rows=rows)
    return ActivityCounts(
        counts=pd.Series(values, index=pd.Index(ids, dtype="str", name=PERSON_ID)), rows=rows
    )


def _start_worker(factory: CountingFactory) -> None:
    global _worker_count
    _worker_count = factory()


def _count(task: tuple[ActivityRequest, PersonRange]) -> tuple[np.ndarray, np.ndarray, int]:
    assert _worker_count is not None, "worker not initialised"
    return _packed(_worker_count(*task))


def count_in_processes(
    factory: CountingFactory, requests: Sequence[ActivityRequest], boundaries: Sequence[str]
) -> list[ActivityCounts]:
    """The counts of ``requests``, each cut at the person-id ``boundaries`` and counted by one
    forked worker per range, each with what ``factory`` builds (its own database connections:
    connections never cross a fork)."""
    ranges = person_ranges(boundaries)
    if len(ranges) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        count = factory()
        return [count(request, EVERYONE) for request in requests]
    tasks = [(request, people) for request in requests for people in ranges]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        len(ranges), mp_context=context, initializer=_start_worker, initargs=(factory,)
    ) as pool:
        results = iter(list(pool.map(_count, tasks)))
    return [_concatenated([next(results) for _ in ranges]) for _ in requests]


def _concatenated(pieces: Sequence[tuple[np.ndarray, np.ndarray, int]]) -> ActivityCounts:
    """The counts of a request from those of its disjoint person ranges: no person is in two."""
    ids, values = (np.concatenate([piece[i] for piece in pieces]) for i in (0, 1))
    return _unpacked((ids, values, sum(piece[2] for piece in pieces)))
