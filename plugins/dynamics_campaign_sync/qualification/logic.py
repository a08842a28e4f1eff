"""The filter logic evaluated over numpy boolean arrays, one per filter number.

The tree comes from the spec language's parser (:mod:`dynamics_campaign_sync.spec.logic`); this half needs
numpy and so lives with the evaluator, away from spec loading.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

from dynamics_campaign_sync.spec.logic import And, Node, Not, Or, Ref
from dynamics_campaign_sync.spec.models import BehaviourFilter, CampaignSpec

#: Above this many non-behaviour filters the candidate check is skipped (it tries 2**n assignments).
_MAX_ENUMERATED_FILTERS = 12


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


def qualifies_without_behaviour(tree: Node, spec: CampaignSpec) -> bool:
    """Whether someone matching no behaviour filter could still qualify.

    Behaviour filters are set false; demographic and inactivity filters are
    given every combination of values. If none qualifies, only people who
    match some behaviour filter need reading: usually a small share of everyone.
    """
    numbered = spec.rules.numbered()
    free = [number for number, flt in numbered if not isinstance(flt, BehaviourFilter)]
    if len(free) > _MAX_ENUMERATED_FILTERS:
        return True
    assignments = np.arange(2 ** len(free))
    values = {number: (assignments >> bit & 1).astype(bool) for bit, number in enumerate(free)}
    for number, flt in numbered:
        if isinstance(flt, BehaviourFilter):
            values[number] = np.zeros(len(assignments), dtype=bool)
    return bool(evaluate_logic(tree, values).any())


def behaviour_cover(tree: Node, behaviour: Collection[int]) -> list[frozenset[int]]:
    """Sets of behaviour filters (numbers in ``behaviour``) such that every qualified person matches a filter of
    each set, read off the logic: a behaviour filter itself; the sets of each operand of an ``and``; for an ``or``,
    one set per operand joined (each operand's smallest; none where an operand has none). A ``not`` and the other
    filters give none. ``(1 or 2) and (3 or 4)``, 3 demographic: ``[{1, 2}]`` — only people matching 1 or 2 can
    qualify, where "anyone matching a behaviour filter" would read those matching 4 too. Smallest sets first, none
    containing another (it would narrow nothing)."""
    def sets(node: Node) -> list[frozenset[int]]:
        if isinstance(node, Ref):
            return [frozenset({node.number})] if node.number in behaviour else []
        if isinstance(node, And):
            return [found for operand in node.operands for found in sets(operand)]
        if isinstance(node, Or):
            each = [sets(operand) for operand in node.operands]
            if not all(each):
                return []
            return [frozenset().union(*(min(found, key=len) for found in each))]
        return []

    cover: list[frozenset[int]] = []
    for found in sorted(set(sets(tree)), key=lambda numbers: (len(numbers), sorted(numbers))):
        if not any(kept <= found for kept in cover):
            cover.append(found)
    return cover
