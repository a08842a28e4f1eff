"""Consecutive slices of a sequence: how every long list is cut to a limit (SQL parameters, URL length, request
size, people per mapped task)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def chunked(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items, in order."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
