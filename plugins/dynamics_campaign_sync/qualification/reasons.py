"""Why each person qualified: matched filter numbers and behaviour counts, as compact JSON text.

``{"matched":[1,3],"counts":{"3":4}}`` says filters 1 and 3 matched and the
person had 4 activities counted by behaviour filter 3. Counts are given for
every behaviour and inactivity filter, matched or not. The text is built with
vectorized string operations (one small lookup per distinct combination of
matched filters), never a Python loop per person.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


def reasons_json(
    numbers: Sequence[int],
    matched: Mapping[int, np.ndarray],
    counts: Mapping[int, np.ndarray],
) -> pd.Series:
    """One JSON text per row from per-filter match masks and per-activity-filter counts."""
    size = len(next(iter(matched.values()))) if matched else 0
    if size == 0:
        return pd.Series([], dtype="str")
    combination = np.zeros(size, dtype=np.int64)
    for bit, number in enumerate(numbers):
        combination |= matched[number].astype(np.int64) << bit
    prefixes = {
        int(code): '{"matched":'
        + json.dumps([n for bit, n in enumerate(numbers) if code >> bit & 1], separators=(",", ":"))
        for code in np.unique(combination)
    }
    text = pd.Series(combination).map(prefixes).astype("str")
    if not counts:
        return text + "}"
    pieces = [f'"{number}":' + pd.Series(values).astype("str") for number, values in counts.items()]
    joined = pieces[0]
    for piece in pieces[1:]:
        joined = joined + "," + piece
    return text + ',"counts":{' + joined + "}}"


def parse_reasons(text: str) -> dict[str, Any]:
    """A reasons text as a dict (counts keyed by filter number as text, as JSON requires)."""
    return json.loads(text)
