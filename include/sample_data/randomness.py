"""Deterministic random streams and vectorized helpers shared by the generators.

Every piece of data comes from its own stream ``(seed, stream, chunk)``, so
the output depends only on the seed and the sizes, never on the order in
which chunks are produced or how much is generated in one go.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PEOPLE_STREAM = 1
COMPANY_STREAM = 2
PLAN_STREAM = 3
ACTIVITY_STREAM = 4
CHANGE_PLAN_STREAM = 5
CHANGE_STREAM = 6


def stream(seed: int, name: int, chunk: int = 0) -> np.random.Generator:
    """The random generator of one stream and chunk."""
    return np.random.default_rng([seed, name, chunk])


def cumulative(weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Normalized cumulative weights, for :func:`pick`."""
    cdf = np.cumsum(np.asarray(weights, dtype="float64"))
    return cdf / cdf[-1]


def pick(rng: np.random.Generator, cdf: np.ndarray, size: int) -> np.ndarray:
    """``size`` indices drawn with the probabilities behind ``cdf``."""
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(cdf) - 1)


def guids(rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` random version-4 GUIDs as lower-case text, without a Python loop per GUID."""
    raw = rng.integers(0, 256, size=(size, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    digits = np.frombuffer(b"0123456789abcdef", dtype="S1")
    hexed = np.empty((size, 32), dtype="S1")
    hexed[:, 0::2] = digits[raw >> 4]
    hexed[:, 1::2] = digits[raw & 0x0F]
    dashed = np.full((size, 36), b"-", dtype="S1")
    for (src_start, src_end), dst_start in zip(
        ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32)), (0, 9, 14, 19, 24), strict=True
    ):
        dashed[:, dst_start : dst_start + src_end - src_start] = hexed[:, src_start:src_end]
    return dashed.view("S36").ravel().astype(str)


def with_nulls(values: np.ndarray, null_mask: np.ndarray) -> np.ndarray:
    """An object array of ``values`` with None where ``null_mask`` is set (NULL in the database)."""
    out = values.astype(object)
    out[null_mask] = None
    return out
