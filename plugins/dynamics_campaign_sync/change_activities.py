"""The change-activity shape of the source contract: what the change filters of the spec language read.

A change is an ordinary activity row (``activities`` table) of one of two types, whose attributes (their own
columns, or keys of the JSON ``attributes``, like any activity attribute) say what changed:

* ``data_value_changed``: ``attribute`` (the people column that changed, e.g. ``job_title``), ``old_value``
  and ``new_value`` (the values before and after, as text or numbers);
* ``score_changed``: ``score`` (the score's name, e.g. ``lead_score``), ``change`` (the signed amount,
  a number) and ``new_score`` (the score after the change).

No Airflow, no SQL: the spec language uses it at DAG-parse time.
"""

from __future__ import annotations

DATA_VALUE_CHANGED = "data_value_changed"
SCORE_CHANGED = "score_changed"

#: Attributes of a ``data_value_changed`` activity.
CHANGED_ATTRIBUTE = "attribute"
OLD_VALUE = "old_value"
NEW_VALUE = "new_value"

#: Attributes of a ``score_changed`` activity.
SCORE_NAME = "score"
SCORE_CHANGE = "change"
NEW_SCORE = "new_score"

CHANGE_ACTIVITY_TYPES = (DATA_VALUE_CHANGED, SCORE_CHANGED)
