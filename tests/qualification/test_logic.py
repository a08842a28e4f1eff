"""The filter-logic parser: precedence, keywords, errors, rendering and evaluation."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sqlalchemy as sa

from dynamics_campaign_sync.qualification.compiler.logic import possibly_true_clause
from dynamics_campaign_sync.qualification.logic import behaviour_cover, evaluate_logic, possibly_true
from dynamics_campaign_sync.spec.logic import And, LogicError, Not, Or, Ref, parse_logic, references, render


def test_all_and_any():
    assert parse_logic("all", 3) == And((Ref(1), Ref(2), Ref(3)))
    assert parse_logic(" ANY ", 2) == Or((Ref(1), Ref(2)))
    assert parse_logic("all", 1) == Ref(1)


def test_precedence_not_then_and_then_or():
    assert parse_logic("1 or 2 and not 3", 3) == Or((Ref(1), And((Ref(2), Not(Ref(3))))))
    assert parse_logic("1 and (2 or 3) and not 4", 4) == And((Ref(1), Or((Ref(2), Ref(3))), Not(Ref(4))))
    assert parse_logic("not not 1", 1) == Not(Not(Ref(1)))
    assert parse_logic("NOT (1 OR 2)", 2) == Not(Or((Ref(1), Ref(2))))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the expression is empty"),
        ("1 and", "ends too early"),
        ("(1 or 2", "'(' at column 1 is never closed"),
        ("1 or 2)", "')' at column 7 has no matching '('"),
        ("()", "empty group '()' at column 1"),
        ("1 and ( )", "empty group '()' at column 7"),
        ("(1 and )", "expected a filter number or '(' at column 8, found ')'"),
        ("0", "unknown filter number 0"),
        ("1 or 3", "unknown filter number 3 at column 6; the spec has filters 1 to 2"),
        ("1 2", "expected 'and' or 'or' at column 3"),
        ("1 xor 2", "unknown word 'xor'"),
        ("1 + 2", "unexpected character '+'"),
        ("and 1", "expected a filter number or '(' at column 1, found 'and'"),
    ],
)
def test_errors(text, message):
    with pytest.raises(LogicError, match=re.escape(message)):
        parse_logic(text, 2)


def test_no_eval_is_involved():
    with pytest.raises(LogicError):
        parse_logic("__import__('os')", 2)


@pytest.mark.parametrize(
    "text", ["1 and (2 or 3) and not 4", "1 or 2 and 3", "not (1 and 2) or 3", "(1 or 2) and (3 or 4)"]
)
def test_render_round_trips(text):
    tree = parse_logic(text, 4)
    assert parse_logic(render(tree), 4) == tree


def test_references():
    assert references(parse_logic("1 and (2 or not 4)", 4)) == {1, 2, 4}


def test_evaluate_over_arrays():
    values = {
        1: np.array([True, True, False, True]),
        2: np.array([False, True, True, False]),
        3: np.array([True, False, False, False]),
        4: np.array([False, False, False, True]),
    }
    result = evaluate_logic(parse_logic("1 and (2 or 3) and not 4", 4), values)
    assert result.tolist() == [True, True, False, False]


def test_possibly_true_leaves_unknown_filters_free():
    tree = parse_logic("1 and (2 or 3) and not 4", 4)
    known = {1: np.array([True, True, False, True]), 4: np.array([False, True, False, False])}
    # 2 and 3 unknown: rows 0 and 3 can still be true; row 1 fails "not 4", row 2 fails "1"
    assert possibly_true(tree, known, 4).tolist() == [True, False, False, True]
    assert possibly_true(tree, {}, 2).tolist() == [True, True]
    everything = {n: np.array([True, False]) for n in (1, 2, 3)} | {4: np.array([False, False])}
    assert possibly_true(tree, everything, 2).tolist() == evaluate_logic(tree, everything).tolist()


@pytest.mark.parametrize(
    ("text", "behaviour", "cover"),
    [
        ("(1 or 2) and (3 or 4)", {1, 2, 4}, [{1, 2}]),  # 3 is demographic: (3 or 4) names no set
        ("1 and (2 or 3)", {1, 2, 3}, [{1}, {2, 3}]),
        ("(1 and 2) or (1 and 3)", {1, 2, 3}, [{1}]),
        ("(1 and 2) or 3", {1, 2, 3}, [{1, 3}]),
        ("1 or 2", {1}, []),
        ("not 1 and 2", {1, 2}, [{2}]),
        ("1 and (1 or 2)", {1, 2}, [{1}]),  # {1, 2} narrows nothing {1} does not
    ],
)
def test_behaviour_cover_reads_the_sets_every_qualified_person_matches_one_of(text, behaviour, cover):
    tree = parse_logic(text, 4)
    assert behaviour_cover(tree, behaviour) == [frozenset(numbers) for numbers in cover]


@pytest.mark.parametrize("text", ["(1 or 2) and (3 or not 4)", "1 and 2 or 3 and (4 or 2)", "not (1 and 2) and 3",
                                  "(1 or 2 and 3) and (4 or 1)", "any", "all"])
def test_every_assignment_the_logic_holds_for_meets_each_set_of_the_cover(text):
    tree, behaviour = parse_logic(text, 4), {1, 2, 4}
    assignments = np.arange(16)
    values = {number: (assignments >> (number - 1) & 1).astype(bool) for number in range(1, 5)}
    holds = evaluate_logic(tree, values)
    for numbers in behaviour_cover(tree, behaviour):
        met = np.logical_or.reduce([values[number] for number in numbers])
        assert not (holds & ~met).any(), (text, numbers)


@pytest.mark.parametrize("text", ["(1 or 2) and (3 or not 4)", "1 and 2 or 3 and (4 or 2)", "not (1 and 2) and 3",
                                  "not (1 or not 3) or 4", "any", "all"])
def test_the_sql_of_possibly_true_agrees_with_the_arrays(text):
    """Filters 1, 2 and 4 known per row (3 free; 2 known as matched by every row in the second pass), the SQL
    clause run by SQLite over every assignment keeps the rows the numpy version keeps."""
    tree = parse_logic(text, 4)
    table = sa.table("rows", sa.column("n"), *(sa.column(f"f{number}") for number in (1, 2, 4)))
    engine = sa.create_engine("sqlite://")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE rows (n INTEGER, f1 INTEGER, f2 INTEGER, f4 INTEGER)")
        connection.execute(sa.insert(table), [{"n": n, "f1": n & 1, "f2": n >> 1 & 1, "f4": n >> 2 & 1}
                                              for n in range(8)])
        assignments = np.arange(8)
        bits = {1: assignments & 1, 2: assignments >> 1 & 1, 4: assignments >> 2 & 1}
        for matched_by_all in (False, True):
            known = {number: table.c[f"f{number}"] == 1 for number in (1, 2, 4)}
            arrays = {number: value.astype(bool) for number, value in bits.items()}
            if matched_by_all:
                known[2], arrays[2] = True, np.ones(8, dtype=bool)
            clause = possibly_true_clause(tree, known)
            kept = connection.execute(sa.select(table.c.n).where(*([] if clause is None else [clause]))).scalars()
            assert sorted(kept) == np.flatnonzero(possibly_true(tree, arrays, 8)).tolist(), (text, matched_by_all)
