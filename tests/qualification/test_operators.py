"""Every operator over a column, including NULLs, blanks, case and dates (vectorized masks)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from qualification_helpers import END

from dynamics_campaign_sync.qualification.masks import ColumnValues, condition_mask
from dynamics_campaign_sync.spec.operators import ConditionValueError, Operator, normalize_value

TEXT = pd.Series(
    ["VP Sales", "vp marketing", "Director", "", "  ", None, "Head of VP", "Ärztin"], dtype="str"
)
NUMBERS = pd.Series([1, 10, 100, None, 1000, 55.5])
DATES = pd.Series(
    ["2026-05-01 00:00:00", "2026-05-01 23:59:59.999999", "2026-05-02 00:00:00", None, "not a date",
     "2026-05-25T12:00:00Z", "2026-06-01 00:00:00"]
)  # fmt: skip


def mask(series: pd.Series, operator: str, value: object = None) -> list[bool]:
    op = Operator(operator)
    return condition_mask(ColumnValues(series), op, normalize_value(op, value), END).tolist()


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("is", "vp sales", [True, False, False, False, False, False, False, False]),
        ("is", ["DIRECTOR", "vp marketing"], [False, True, True, False, False, False, False, False]),
        ("is_not", "VP SALES", [False, True, True, True, True, True, True, True]),
        ("in", ["director", "ärztin"], [False, False, True, False, False, False, False, True]),
        ("not_in", ["director"], [True, True, False, True, True, True, True, True]),
        ("contains", "vp", [True, True, False, False, False, False, True, False]),
        ("contains", ["sales", "DIRECT"], [True, False, True, False, False, False, False, False]),
        ("not_contains", "vp", [False, False, True, True, True, True, False, True]),
        ("starts_with", "vp", [True, True, False, False, False, False, False, False]),
        ("starts_with", ["head", "dir"], [False, False, True, False, False, False, True, False]),
        ("ends_with", "ING", [False, True, False, False, False, False, False, False]),
        ("is_empty", None, [False, False, False, True, True, True, False, False]),
        ("is_not_empty", None, [True, True, True, False, False, False, True, True]),
    ],
)
def test_text_operators(operator, value, expected):
    assert mask(TEXT, operator, value) == expected


def test_negative_operators_are_complements_and_match_null():
    for positive_op, negative_op, value in [
        ("is", "is_not", "director"),
        ("in", "not_in", ["director"]),
        ("contains", "not_contains", "vp"),
        ("is_empty", "is_not_empty", None),
    ]:
        pos, neg = np.array(mask(TEXT, positive_op, value)), np.array(mask(TEXT, negative_op, value))
        assert (pos ^ neg).all()
    assert mask(TEXT, "is_not", "director")[5] is True  # NULL


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("is", 100, [False, False, True, False, False, False]),
        ("is_not", 100, [True, True, False, True, True, True]),
        ("in", [1, 1000], [True, False, False, False, True, False]),
        ("gt", 55.5, [False, False, True, False, True, False]),
        ("gte", 55.5, [False, False, True, False, True, True]),
        ("lt", 10, [True, False, False, False, False, False]),
        ("lte", 10, [True, True, False, False, False, False]),
        ("between", [10, 100], [False, True, True, False, False, True]),
        ("is_empty", None, [False, False, False, True, False, False]),
        ("is_not_empty", None, [True, True, True, False, True, True]),
    ],
)
def test_number_operators(operator, value, expected):
    assert mask(NUMBERS, operator, value) == expected


def test_numbers_stored_as_text_and_junk():
    column = pd.Series(["5", "12", "abc", None, "5.0"], dtype="str")
    assert mask(column, "gte", 5) == [True, True, False, False, True]
    assert mask(column, "is", 5) == [True, False, False, False, True]
    assert mask(column, "is_not", 5) == [False, True, True, True, False]


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("is", dt.date(2026, 5, 1), [True, True, False, False, False, False, False]),
        ("is_not", dt.date(2026, 5, 1), [False, False, True, True, True, True, True]),
        ("gt", dt.date(2026, 5, 1), [False, False, True, False, False, True, True]),
        ("gte", dt.date(2026, 5, 1), [True, True, True, False, False, True, True]),
        ("lt", dt.date(2026, 5, 2), [True, True, False, False, False, False, False]),
        ("lte", dt.date(2026, 5, 1), [True, True, False, False, False, False, False]),
        (
            "between",
            [dt.date(2026, 5, 1), dt.date(2026, 5, 2)],
            [True, True, True, False, False, False, False],
        ),
        ("gte", "2026-05-25", [False, False, False, False, False, True, True]),
        ("is", dt.datetime(2026, 5, 25, 12, tzinfo=dt.UTC), [False, False, False, False, False, True, False]),
        ("lt", dt.datetime(2026, 5, 1, 23, 59, 59, 999999), [True, False, False, False, False, False, False]),
        ("lte", dt.datetime(2026, 5, 1, 23, 59, 59, 999999), [True, True, False, False, False, False, False]),
        ("is_empty", None, [False, False, False, True, False, False, False]),
    ],
)
def test_date_operators(operator, value, expected):
    assert mask(DATES, operator, value) == expected


def test_in_past_is_relative_to_the_interval_end_start_inclusive_end_exclusive():
    column = pd.Series(
        [
            END - dt.timedelta(days=7),
            END - dt.timedelta(days=7, microseconds=1),
            END - dt.timedelta(microseconds=1),
            END,
        ]
    )
    assert mask(column, "in_past", 7) == [True, False, True, False]


def test_boolean_values():
    column = pd.Series([True, False, None, "yes", "No", 1, 0, "maybe"], dtype=object)
    assert mask(column, "is", True) == [True, False, False, True, False, True, False, False]
    assert mask(column, "is_not", True) == [False, True, True, False, True, False, True, True]


def test_mixed_json_values():
    column = pd.Series([25, "25", 40.0, None, {"a": 1}.get("b"), "x"], dtype=object)
    assert mask(column, "gte", 25) == [True, True, True, False, False, False]
    assert mask(column, "is", "25") == [True, True, False, False, False, False]


def test_null_row_mask_with_all_null_column():
    column = pd.Series([None, None], dtype=object)
    assert mask(column, "contains", "a") == [False, False]
    assert mask(column, "not_contains", "a") == [True, True]
    assert mask(column, "gt", 3) == [False, False]


@pytest.mark.parametrize(
    ("operator", "value", "message"),
    [
        ("is", None, "needs a value"),
        ("in", [], "at least one value"),
        ("contains", ["a", 1], "all be of one type"),
        ("starts_with", 5, "needs text"),
        ("gt", [1, 2], "single value"),
        ("gt", True, "needs a number or a date"),
        ("between", [dt.date(2026, 1, 2), dt.date(2026, 1, 1)], "low <= high"),
        ("between", [1, dt.date(2026, 1, 1)], "two numbers or two dates"),
        ("in_past", -3, "positive whole number"),
        ("is_not_empty", "x", "takes no value"),
        ("is", {"a": 1}, "plain values"),
    ],
)
def test_value_validation(operator, value, message):
    with pytest.raises(ConditionValueError, match=message):
        normalize_value(Operator(operator), value)


def test_normalized_values():
    assert normalize_value(Operator.IN, "a") == ("a",)
    assert normalize_value(Operator.BETWEEN, ["2026-01-01", "2026-02-01"]) == (
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
    )
    naive = normalize_value(Operator.GT, dt.datetime(2026, 1, 1, 12))
    assert naive == dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
