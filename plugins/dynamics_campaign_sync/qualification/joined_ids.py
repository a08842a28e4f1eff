"""Counting activities per person on SQLite from the person ids joined into one text per query.

SQLite groups by sorting (``GROUP BY person_id`` costs about 0.6 s per
million rows, on one core), and fetching one row per activity costs a Python
tuple and string each (about 0.3 s per million). ``group_concat`` over the
same covering index scan hands the ids over as one text (about 0.1 s per
million). When every id has the same width in ASCII (the usual generated ids),
numpy reads the text as a matrix of bytes, sorts the ids as integers (ids of at
most 8 bytes; longer ones as byte strings) and counts the runs: about 0.05 s per
million, seven times faster than splitting the text and counting the pieces in
``Counter``, which counts ids of any other shape.

The ids are joined with ``group_concat``'s default separator, a comma: a
separator argument is evaluated per row and costs a fifth more. The query
returns the row count beside the text, so an id that contains a comma (or a
NULL id, which ``group_concat`` skips) shows as a mismatch and the caller falls
back to the grouped query, which is exact for any id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from dynamics_campaign_sync.lazy_exports import lazy_module
from dynamics_campaign_sync.qualification.contract import PERSON_ID

if TYPE_CHECKING:
    import pandas as pd
else:  # on first use: the compiled evaluation answers with numpy arrays alone (see lazy_exports.lazy_module)
    pd = lazy_module("pandas")

SEPARATOR = ","  # group_concat's default


def joined_ids_query(person: ColumnElement[Any], where: Iterable[ColumnElement[bool]]) -> sa.Select[Any]:
    """One row: the number of matching rows and their person ids joined by ``SEPARATOR``."""
    joined = sa.func.group_concat(person)
    return sa.select(sa.func.count().label("n"), joined.label("ids")).where(*where)


def count_joined(pieces: Iterable[tuple[int, str | None]]) -> pd.Series | None:
    """Occurrences of each id over ``(row count, joined ids)`` pieces; None when a piece's ids do
    not split into its row count.

    Each piece's text is dropped once read (as fixed-width ids, or counted), so
    memory holds one text and the ids as bytes, not every piece's text at once.
    """
    fixed: list[np.ndarray] = []  # the pieces so far, while they all hold ids of one width
    counter: Counter[str] | None = None
    for rows, joined in pieces:
        if not rows:
            continue
        if joined is None:
            return None
        if counter is None:
            ids = _fixed_width_ids(joined, rows)
            if ids is not None and (not fixed or ids.dtype == fixed[0].dtype):
                fixed.append(ids)
                continue
            counter = Counter(np.concatenate(fixed).astype(str).tolist() if fixed else [])
        split = joined.split(SEPARATOR)
        if len(split) != rows:
            return None
        counter.update(split)
    if counter is not None:
        return _series(
            list(counter.keys()), np.fromiter(counter.values(), dtype=np.int64, count=len(counter))
        )
    if not fixed:
        return _series([], np.zeros(0, dtype=np.int64))
    return _sorted_counts(np.concatenate(fixed))


def _fixed_width_ids(joined: str, rows: int) -> np.ndarray | None:
    """The ids of one piece as byte strings when they are ASCII, of one width and without NUL (which
    numpy's byte strings drop); None otherwise.

    The text must be ``rows`` ids of that width and their separators, with
    every separator between two ids: then every id is where the matrix puts
    it, whatever it contains.
    """
    width = (len(joined) + 1) // rows - 1
    if (
        width < 1
        or len(joined) != rows * (width + 1) - 1
        or not joined.isascii()
        or "\0" in joined
        or joined.count(SEPARATOR) != rows - 1
    ):
        return None
    matrix = np.frombuffer((joined + SEPARATOR).encode("ascii"), dtype=np.uint8).reshape(rows, width + 1)
    if not (matrix[:, width] == ord(SEPARATOR)).all():
        return None
    return np.ascontiguousarray(matrix[:, :width]).view(f"S{width}").ravel()


def _sorted_counts(ids: np.ndarray) -> pd.Series:
    """Occurrences of each fixed-width id: sorted, then the length of each run of equal ids."""
    width = ids.dtype.itemsize
    if width <= 8:  # right-aligned big-endian bytes: integer order is byte order, one id per integer
        padded = np.zeros((len(ids), 8), dtype=np.uint8)
        padded[:, 8 - width :] = ids.view(np.uint8).reshape(-1, width)
        numbers = np.sort(padded.view(">u8").ravel().astype(np.uint64))
        starts = _run_starts(numbers)
        unique = numbers[starts].astype(">u8").view(np.uint8).reshape(-1, 8)[:, 8 - width :]
        names = np.ascontiguousarray(unique).view(f"S{width}").ravel()
    else:
        ordered = np.sort(ids)
        starts = _run_starts(ordered)
        names = ordered[starts]
    counts = np.diff(np.append(starts, len(ids))).astype(np.int64)
    return _series(names.astype(str), counts)


def _run_starts(keys: np.ndarray) -> np.ndarray:
    """Where each run of equal values of the sorted ``keys`` starts."""
    return np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))


def _series(ids: Sequence[str] | np.ndarray, counts: np.ndarray) -> pd.Series:
    return pd.Series(counts, index=pd.Index(ids, dtype="str", name=PERSON_ID))
