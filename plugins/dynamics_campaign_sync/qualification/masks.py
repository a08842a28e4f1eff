"""Vectorized evaluation of one condition over a column: the boolean mask of matching rows.

A column is factorized once (``codes`` into ``uniques``); operators run over
the distinct values only and the result is broadcast back through the codes.
Demographic columns (country, industry, job title …) have few distinct values,
so lower-casing and comparing them costs almost nothing even for a million
people, and no Python code runs per row.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from dynamics_campaign_sync.lazy_exports import lazy_module
from dynamics_campaign_sync.spec.operators import (
    Operator,
    ValueKind,
    is_negative,
    match_ranges,
    positive,
    value_kind,
    values_of,
)

if TYPE_CHECKING:
    import pandas as pd
else:  # on first use: the compiled evaluation answers with numpy arrays alone (see lazy_exports.lazy_module)
    pd = lazy_module("pandas")

_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})


class ColumnValues:
    """A factorized column with lazily computed views of its distinct values."""

    def __init__(self, values: pd.Series | pd.Index | np.ndarray) -> None:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        self.codes: np.ndarray = codes
        self.uniques: pd.Index = pd.Index(uniques)

    def __len__(self) -> int:
        return len(self.codes)

    def broadcast(self, unique_mask: np.ndarray, null_value: bool) -> np.ndarray:
        """Row mask from a mask over the distinct values; NULL rows get ``null_value``."""
        lookup = np.append(np.asarray(unique_mask, dtype=bool), null_value)
        return lookup[self.codes]  # code -1 (NULL) picks the appended last entry

    @cached_property
    def text(self) -> pd.Series:
        """Distinct values as lower-case text."""
        return pd.Series(self.uniques.astype("str"), dtype="str").str.lower()

    @cached_property
    def numbers(self) -> np.ndarray:
        """Distinct values as float64 (NaN where not a number)."""
        if self.uniques.dtype.kind in "mM":
            return np.full(len(self.uniques), np.nan)
        numbers = pd.to_numeric(pd.Series(self.uniques.astype(object)), errors="coerce")
        return numbers.to_numpy(dtype="float64", na_value=np.nan)

    @cached_property
    def booleans(self) -> np.ndarray:
        """Distinct values as 1.0 / 0.0 (NaN where not a boolean)."""
        out = np.full(len(self.uniques), np.nan)
        numbers = self.numbers
        numeric = ~np.isnan(numbers)
        out[numeric] = numbers[numeric] != 0
        words = self.text.to_numpy(dtype=object)
        out[np.isin(words, list(_TRUE_WORDS)) & ~numeric] = 1.0
        out[np.isin(words, list(_FALSE_WORDS)) & ~numeric] = 0.0
        return out

    @cached_property
    def instants(self) -> pd.DatetimeIndex:
        """Distinct values as UTC timestamps (NaT where not a date)."""
        if self.uniques.dtype.kind in "iufb":
            return pd.DatetimeIndex([pd.NaT] * len(self.uniques), tz="UTC")
        return pd.DatetimeIndex(
            pd.to_datetime(self.uniques.astype(object), utc=True, errors="coerce", format="ISO8601")
        )

    @cached_property
    def empty(self) -> np.ndarray:
        """Distinct values that are blank text (only spaces)."""
        dtype = self.uniques.dtype
        if isinstance(dtype, pd.StringDtype):
            is_text = np.ones(len(self.uniques), dtype=bool)
        elif dtype.kind == "O":  # mixed values, e.g. JSON attributes
            is_text = np.fromiter((isinstance(v, str) for v in self.uniques), bool, len(self.uniques))
        else:
            return np.zeros(len(self.uniques), dtype=bool)
        return is_text & (self.text.str.strip(" ") == "").to_numpy(dtype=bool)


def _text_mask(column: ColumnValues, operator: Operator, values: tuple[Any, ...]) -> np.ndarray:
    text = column.text
    wanted = [str(v).lower() for v in values]
    if operator is Operator.IS or operator is Operator.IN:
        return text.isin(wanted).to_numpy(dtype=bool)
    if operator is Operator.STARTS_WITH:
        return text.str.startswith(tuple(wanted)).to_numpy(dtype=bool)
    if operator is Operator.ENDS_WITH:
        return text.str.endswith(tuple(wanted)).to_numpy(dtype=bool)
    mask = np.zeros(len(text), dtype=bool)
    for needle in wanted:  # contains: one vectorized pass per value
        mask |= text.str.contains(needle, regex=False).to_numpy(dtype=bool)
    return mask


def _number_mask(column: ColumnValues, operator: Operator, value: Any) -> np.ndarray:
    numbers = column.numbers
    with np.errstate(invalid="ignore"):
        if operator in (Operator.IS, Operator.IN):
            return np.isin(numbers, np.asarray(values_of(value), dtype="float64"))
        if operator is Operator.BETWEEN:
            low, high = value
            return (numbers >= low) & (numbers <= high)
        comparisons = {
            Operator.GT: np.greater,
            Operator.GTE: np.greater_equal,
            Operator.LT: np.less,
            Operator.LTE: np.less_equal,
        }
        return comparisons[operator](numbers, value)


def _boolean_mask(column: ColumnValues, values: tuple[Any, ...]) -> np.ndarray:
    wanted = np.asarray([1.0 if v else 0.0 for v in values])
    return np.isin(column.booleans, wanted)


def _temporal_mask(column: ColumnValues, operator: Operator, value: Any, as_of: dt.datetime) -> np.ndarray:
    instants = column.instants
    mask = np.zeros(len(instants), dtype=bool)
    for low, high in match_ranges(operator, value, as_of):
        within = np.ones(len(instants), dtype=bool)
        if low is not None:
            within &= np.asarray(instants >= low, dtype=bool)
        if high is not None:
            within &= np.asarray(instants < high, dtype=bool)
        mask |= within
    return mask


def unique_mask(column: ColumnValues, operator: Operator, value: Any, as_of: dt.datetime) -> np.ndarray:
    """The positive operator's result for each distinct value of the column."""
    kind = value_kind(operator, value)
    if operator is Operator.IS_EMPTY:
        return column.empty
    if kind is ValueKind.TEXT:
        return _text_mask(column, operator, values_of(value))
    if kind is ValueKind.NUMBER:
        return _number_mask(column, operator, value)
    if kind is ValueKind.BOOLEAN:
        return _boolean_mask(column, values_of(value))
    return _temporal_mask(column, operator, value, as_of)


def condition_mask(column: ColumnValues, operator: Operator, value: Any, as_of: dt.datetime, *,
                   empty_matches: bool = False) -> np.ndarray:
    """Rows of ``column`` matching ``operator value`` (negative operators are exact complements);
    ``empty_matches``: empty values match too (a date filter's ``empty_dates: match``)."""
    base = positive(operator)
    unique = unique_mask(column, base, value, as_of)
    if empty_matches:
        unique = unique | column.empty
    matched = column.broadcast(unique, null_value=base is Operator.IS_EMPTY or empty_matches)
    return ~matched if is_negative(operator) else matched
