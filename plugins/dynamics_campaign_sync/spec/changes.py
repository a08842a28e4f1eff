"""How the change filters' value tests are written: ``previous_value``/``new_value`` of "Data Value Changed",
``change``/``new_score`` of "Score was Changed".

Each test becomes a :class:`~dynamics_campaign_sync.spec.models.Condition` on one attribute of the change
activity (see :mod:`dynamics_campaign_sync.change_activities`), so it means exactly what the same operator
means in a demographic filter. Written as:

* ``{operator: contains, value: Director}``: any operator and value of a demographic filter;
* a bare value: ``Director`` (``is``), a list ``[Manager, Director]`` (``in``);
* for score amounts also Marketo's words: ``at least 10``, ``at most -1``, ``more than 5``, ``less than 0``,
  ``between -5 and 5``, or a number (``is``).
"""

from __future__ import annotations

import re
from typing import Any

_NUMBER = r"([-+]?\d+(?:\.\d+)?)"
_RANGES = [
    (re.compile(rf"^\s*at\s+least\s+{_NUMBER}\s*$", re.I), "gte"),
    (re.compile(rf"^\s*at\s+most\s+{_NUMBER}\s*$", re.I), "lte"),
    (re.compile(rf"^\s*(?:more|greater)\s+than\s+{_NUMBER}\s*$", re.I), "gt"),
    (re.compile(rf"^\s*(?:less|fewer)\s+than\s+{_NUMBER}\s*$", re.I), "lt"),
    (re.compile(rf"^\s*(?:is\s+)?{_NUMBER}\s*$", re.I), "is"),
]
_BETWEEN = re.compile(rf"^\s*between\s+{_NUMBER}\s+and\s+{_NUMBER}\s*$", re.I)
RANGE_WORDS = "'at least N', 'at most N', 'more than N', 'less than N', 'between A and B' or a number"


class ValueTestError(ValueError):
    """A value test that cannot be read; the message says how to write one."""


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def range_condition(text: str) -> dict[str, Any]:
    """``at least 10`` -> ``{operator: gte, value: 10}``; ``between -5 and 5`` -> ``between [-5, 5]``."""
    between = _BETWEEN.match(text)
    if between:
        return {"operator": "between", "value": [_number(between.group(1)), _number(between.group(2))]}
    for pattern, operator in _RANGES:
        match = pattern.match(text)
        if match:
            return {"operator": operator, "value": _number(match.group(1))}
    raise ValueTestError(f"{text!r} is no amount: write {RANGE_WORDS}, or operator and value")


def condition_on(column: str, raw: Any, *, amounts: bool) -> Any:
    """The condition data a written test stands for, on the change activity's ``column`` (None stays None:
    any value). ``amounts``: text is read as Marketo's range words (score filters)."""
    if raw is None:
        return None
    if isinstance(raw, dict):
        if "field" in raw:
            raise ValueTestError("the filter sets the field: give operator and value only")
        return {"field": column, **raw}
    if isinstance(raw, str) and amounts:
        return {"field": column, **range_condition(raw)}
    if isinstance(raw, list | tuple):
        return {"field": column, "operator": "in", "value": list(raw)}
    return {"field": column, "operator": "is", "value": raw}
