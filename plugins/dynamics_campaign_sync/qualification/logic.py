"""The filter logic evaluated over numpy boolean arrays, one per filter number.

The tree comes from the spec language's parser (:mod:`dynamics_campaign_sync.spec.logic`); this half needs
numpy and so lives with the evaluator, away from spec loading.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from dynamics_campaign_sync.spec.logic import And, Node, Not, Ref


def evaluate_logic(node: Node, values: Mapping[int, np.ndarray]) -> np.ndarray:
    """Combine one boolean array per filter number into the result array."""
    if isinstance(node, Ref):
        return values[node.number]
    if isinstance(node, Not):
        return ~evaluate_logic(node.operand, values)
    parts = [evaluate_logic(operand, values) for operand in node.operands]
    combine = np.logical_and if isinstance(node, And) else np.logical_or
    return combine.reduce(parts)


def possibly_true(node: Node, known: Mapping[int, np.ndarray], size: int) -> np.ndarray:
    """Rows for which some values of the filters missing from ``known`` make the tree true.

    Evaluated as (can be true, can be false) per node, so a filter referenced
    twice counts as two free values: the answer may keep a row that cannot
    qualify, never drop one that can.
    """
    return _possible(node, known, size)[0]


def _possible(node: Node, known: Mapping[int, np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(node, Ref):
        if node.number in known:
            value = np.asarray(known[node.number], dtype=bool)
            return value, ~value
        free = np.ones(size, dtype=bool)
        return free, free
    if isinstance(node, Not):
        can_true, can_false = _possible(node.operand, known, size)
        return can_false, can_true
    parts = [_possible(operand, known, size) for operand in node.operands]
    trues = [can_true for can_true, _ in parts]
    falses = [can_false for _, can_false in parts]
    if isinstance(node, And):
        return np.logical_and.reduce(trues), np.logical_or.reduce(falses)
    return np.logical_or.reduce(trues), np.logical_and.reduce(falses)
