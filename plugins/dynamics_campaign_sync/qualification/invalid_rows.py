"""Source rows an evaluation leaves out, and why: the invalid-row report.

A row that cannot be trusted is excluded and reported, never absorbed: a NULL
person id would collide with every other NULL id, two rows for one version of a
person make their demographics a coin toss, text in a column a filter orders
as numbers would silently never match. Each kind is counted with a few example
ids (ids only, truncated: rows hold personal data), so that the plan, the run
summary and the guard (``max_invalid_rows``) can report them and stop on them.

Only the rows an evaluation reads are checked (the people the source returns,
the activity rows of the spec's types and windows), so the checks cost nothing
beyond the read on the common path, where nothing is wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from dynamics_campaign_sync.lazy_exports import lazy_module
from dynamics_campaign_sync.plan_counts import invalid_rows_counts
from dynamics_campaign_sync.qualification.contract import (
    DYNAMICS_ID,
    MEMBER_TYPE,
    MEMBER_TYPES,
    PERSON_ID,
    PERSON_ID_MAX_LENGTH,
)
from dynamics_campaign_sync.qualification.people_versions import versions_as_of

if TYPE_CHECKING:
    import pandas as pd
else:  # on first use: the compiled evaluation answers with numpy arrays alone (see lazy_exports.lazy_module)
    pd = lazy_module("pandas")

#: Kinds of invalid rows (the last two are followed by ``:<column>``).
NULL_PERSON_ID = "null_person_id"
ACTIVITY_NULL_PERSON_ID = "activity_null_person_id"
PERSON_ID_TOO_LONG = "person_id_too_long"
DUPLICATE_PERSON_ID = "duplicate_person_id"
UNKNOWN_MEMBER_TYPE = "unknown_member_type"
NOT_NUMERIC = "not_numeric"
NOT_A_DATE = "not_a_date"

#: Examples kept per kind, and the characters kept of each.
MAX_EXAMPLES = 5
MAX_EXAMPLE_LENGTH = 100


def example_ids(values: Iterable[Any]) -> list[str]:
    """At most :data:`MAX_EXAMPLES` ids, each cut to :data:`MAX_EXAMPLE_LENGTH` characters."""
    examples: list[str] = []
    for value in values:
        if len(examples) == MAX_EXAMPLES:
            break
        examples.append(str(value)[:MAX_EXAMPLE_LENGTH])
    return examples


@dataclass
class InvalidRows:
    """Rows left out of one evaluation: how many (``rows``; a row with two problems counts once) and, per
    kind, how many with a few example ids."""

    rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.rows > 0

    def add(self, kind: str, count: int, examples: Iterable[Any], *, rows: int | None = None) -> None:
        """Count ``count`` rows of ``kind`` (``rows`` of them not counted under another kind yet)."""
        if count <= 0:
            return
        self.counts[kind] = self.counts.get(kind, 0) + count
        kept = self.examples.setdefault(kind, [])
        kept.extend(example_ids(examples)[: MAX_EXAMPLES - len(kept)])
        self.rows += count if rows is None else rows

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """``{kind: {"count": n, "examples": [...]}}``: small JSON for the stored plan."""
        return {kind: {"count": count, "examples": list(self.examples.get(kind, []))}
                for kind, count in self.counts.items()}

    def plan_counts(self) -> dict[str, int]:
        """The total and each kind as plan counts (ints, next to ``qualified``, ``to_add`` …)."""
        return invalid_rows_counts(self.rows, self.counts)

    def describe(self) -> str:
        """``null_person_id 3, not_numeric:employees 1`` for logs and guard messages."""
        return ", ".join(f"{kind} {count}" for kind, count in self.counts.items())


def missing_ids(ids: pd.Series | pd.Index) -> np.ndarray:
    """Where an id is NULL or empty text."""
    missing = np.asarray(pd.isna(ids), dtype=bool)
    return missing | np.asarray(ids == "", dtype=bool)


def _exclude(rows: pd.DataFrame, mask: np.ndarray, kind: str, report: InvalidRows,
             examples: pd.Series) -> pd.DataFrame:
    """``rows`` without the masked ones, which are counted as ``kind``."""
    if not mask.any():
        return rows
    report.add(kind, int(mask.sum()), examples[mask].dropna())
    return rows.loc[~mask]


def screen_people(rows: pd.DataFrame, as_of: dt.datetime, report: InvalidRows) -> pd.DataFrame:
    """One row per person, the version valid at ``as_of``, without the invalid rows (counted in ``report``).

    Invalid: a NULL or empty person id (named by its Dynamics id where it has one), an id longer than the
    contract allows, a person whose as-of version is in the table twice (all their rows go), an as-of
    version whose member type is not ``lead`` or ``contact``.
    """
    ids = rows[PERSON_ID]
    if ids.dtype != "str":  # e.g. integer ids: compared with the activities' ids as text
        ids = ids.astype("str")
        rows = rows.assign(**{PERSON_ID: ids})
    lengths = ids.str.len().to_numpy(dtype="float64", na_value=np.nan)  # one pass: NULL, empty, too long
    missing = np.isnan(lengths) | (lengths == 0)
    if missing.any():
        named = "dynamics_id=" + rows[DYNAMICS_ID].astype("str") if DYNAMICS_ID in rows.columns else ids
        rows = _exclude(rows, missing, NULL_PERSON_ID, report, named)
        lengths = lengths[~missing]
    rows = _exclude(rows, lengths > PERSON_ID_MAX_LENGTH, PERSON_ID_TOO_LONG, report, rows[PERSON_ID])
    people, tied = versions_as_of(rows, as_of)
    if len(tied):
        duplicates = rows[PERSON_ID].isin(tied).to_numpy()
        report.add(DUPLICATE_PERSON_ID, int(duplicates.sum()), tied)
        people = people.loc[~people[PERSON_ID].isin(tied).to_numpy()]
    unknown = ~people[MEMBER_TYPE].isin(MEMBER_TYPES).to_numpy()
    return _exclude(people, unknown, UNKNOWN_MEMBER_TYPE, report, people[PERSON_ID])
