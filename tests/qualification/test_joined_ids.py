"""Counting joined person ids: the fixed-width numpy path and the general path agree with a plain count."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynamics_campaign_sync.qualification.joined_ids import SEPARATOR, count_joined
from dynamics_campaign_sync.qualification.parallel_counts import _concatenated, _packed
from dynamics_campaign_sync.qualification.sources import ActivityCounts

Pieces = list[tuple[int, str | None]]


def _expected(pieces: Pieces) -> dict[str, int] | None:
    counter: Counter[str] = Counter()
    for rows, joined in pieces:
        ids = joined.split(SEPARATOR) if rows and joined is not None else []
        if len(ids) != rows:
            return None
        counter.update(ids)
    return dict(counter)


def _counted(pieces: Pieces) -> dict[str, int] | None:
    counts = count_joined(pieces)
    return None if counts is None else dict(zip(counts.index, counts.tolist(), strict=True))


@pytest.mark.parametrize(
    "pieces",
    [
        [(3, f"P01{SEPARATOR}P02{SEPARATOR}P01")],  # fixed width, integer keys
        [(2, f"P0000000001{SEPARATOR}P0000000002"), (1, "P0000000001")],  # fixed width, byte strings
        [(2, f"P1{SEPARATOR}P22"), (1, "P1")],  # mixed widths
        [(2, f"P1{SEPARATOR}P2"), (2, f"P33{SEPARATOR}P1")],  # a later piece of another width
        [(2, f"Ä1{SEPARATOR}Ä1")],  # not ASCII
        [(2, f"a\0{SEPARATOR}a\0")],  # NUL, which byte strings drop
        [(2, f"a{SEPARATOR}b{SEPARATOR}c")],  # an id holding the separator
        [(2, "ab")],  # a NULL id, skipped by group_concat
        [(1, None)],
        [(0, None), (1, "x")],
        [],
    ],
)
def test_joined_ids_are_counted_exactly(pieces: Pieces):
    assert _counted(pieces) == _expected(pieces)


@given(
    st.lists(
        st.lists(st.text(alphabet=f"ab9Ä\0{SEPARATOR}", min_size=0, max_size=3), max_size=6).map(
            lambda ids: (len(ids), SEPARATOR.join(ids) if ids else None)
        ),
        max_size=4,
    )
)
def test_any_ids_are_counted_exactly(pieces: Pieces):
    assert _counted(pieces) == _expected(pieces)


def test_counts_cross_the_process_boundary_unchanged():
    plain = count_joined([(3, f"P1{SEPARATOR}P2{SEPARATOR}P1")])
    odd = count_joined([(2, f"x{SEPARATOR}y")])
    assert plain is not None and odd is not None
    odd.index = odd.index.str.replace("x", f"x{SEPARATOR}")  # an id holding the separator travels as an array
    merged = _concatenated(
        [_packed(ActivityCounts(plain, 3)), _packed(ActivityCounts(odd, 2)), _packed(ActivityCounts())]
    )
    assert merged.rows == 5
    assert merged.counts.to_dict() == {"P1": 2, "P2": 1, f"x{SEPARATOR}": 1, "y": 1}
