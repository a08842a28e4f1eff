"""Why each person qualified: matched filter numbers and behaviour counts, as compact JSON text.

``{"matched":[1,3],"counts":{"3":4}}`` says filters 1 and 3 matched and the
person had 4 activities counted by behaviour filter 3. Counts are given for
the behaviour and inactivity filters the person matched (an inactivity filter
matched counts 0): they say why the person qualified, and a source reads them
from the people each filter matches alone (see ``compiler.query``). One text is built per
distinct combination of matched filters and counts, and the column is a pandas
categorical of those texts (a code per person): never a Python loop or a text
object per person, however many people share a reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dynamics_campaign_sync.lazy_exports import lazy_module

if TYPE_CHECKING:
    import pandas as pd
else:  # on first use: the compiled evaluation answers with numpy arrays alone (see lazy_exports.lazy_module)
    pd = lazy_module("pandas")


def _distinct_rows(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of the non-negative integer ``columns`` and each row's index among them: one
    mixed-radix key per row when it fits in 63 bits (a sort of integers), else numpy's row-wise unique."""
    radices = [int(column.max()) + 1 for column in columns]
    if math.prod(radices) >= 2**62:
        distinct, inverse = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)
        return distinct, inverse.ravel()
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column, radix in zip(columns, radices, strict=True):
        key = key * radix + column
    if math.prod(radices) <= max(2 * len(key), 1 << 16):  # few possible keys: a table, no sort
        present = np.zeros(math.prod(radices), dtype=bool)
        present[key] = True
        keys = np.flatnonzero(present)
        inverse = (np.cumsum(present) - 1)[key]
    else:
        keys, inverse = np.unique(key, return_inverse=True)
    distinct = np.empty((len(keys), len(columns)), dtype=np.int64)
    for position in range(len(columns) - 1, -1, -1):
        keys, distinct[:, position] = np.divmod(keys, radices[position])
    return distinct, inverse


@dataclass(frozen=True)
class Reasons:
    """Each row's reasons as a code: the position of its text in ``texts`` (one text per distinct reason)."""

    codes: np.ndarray  # int32, one per row
    texts: list[str]

    def categorical(self) -> pd.Categorical:
        """The reasons as a pandas categorical (a code per row, no text object per row)."""
        return pd.Categorical.from_codes(self.codes, categories=pd.Index(self.texts, dtype=object), validate=False)


def reason_codes(
    numbers: Sequence[int],
    bits: np.ndarray,
    counts: Mapping[int, np.ndarray],
) -> Reasons:
    """The reasons of each row from its matched filters as bits (bit ``i`` set: filter ``numbers[i]`` matched)
    and its per-activity-filter counts (those of filters a row did not match are left out, whatever they are)."""
    if len(bits) == 0:
        return Reasons(np.empty(0, dtype=np.int32), [])
    bits = np.asarray(bits, dtype=np.int64)
    bit_of = {number: bit for bit, number in enumerate(numbers)}
    matched_counts = [np.where(bits >> bit_of[number] & 1, np.asarray(values, dtype=np.int64), 0)
                      for number, values in counts.items()]  # one distinct row per reason, not per count left out
    distinct, inverse = _distinct_rows([bits, *matched_counts])

    def text(code: int, *values: int) -> str:
        listed = json.dumps([n for bit, n in enumerate(numbers) if code >> bit & 1], separators=(",", ":"))
        if not counts:
            return '{"matched":' + listed + "}"
        pairs = ",".join(f'"{number}":{value}' for number, value in zip(counts, values, strict=True)
                         if code >> bit_of[number] & 1)
        return '{"matched":' + listed + ',"counts":{' + pairs + "}}"

    # one text per distinct (matched filters, counts): few, however many people share them
    return Reasons(inverse.astype(np.int32), [text(*row) for row in distinct.tolist()])


def reasons_json(
    numbers: Sequence[int],
    matched: Mapping[int, np.ndarray],
    counts: Mapping[int, np.ndarray],
) -> pd.Categorical:
    """The reasons of each row from per-filter match masks and per-activity-filter counts."""
    size = len(next(iter(matched.values()))) if matched else 0
    bits = np.zeros(size, dtype=np.int64)
    for bit, number in enumerate(numbers):
        bits |= matched[number].astype(np.int64) << bit
    return reason_codes(numbers, bits, counts).categorical()


def parse_reasons(text: str) -> dict[str, Any]:
    """A reasons text as a dict (counts keyed by filter number as text, as JSON requires)."""
    return json.loads(text)
