"""The qualification rule (once / every time / once every N days) over a history of past qualifications.

Marketo's "each person can run through the flow once / every time / once
every N days" is enforced from a history of past qualifications, which the
ledger keeps (:meth:`Ledger.last_qualified <dynamics_campaign_sync.ledger.Ledger.last_qualified>`).

Only qualifications strictly *before* the evaluation's as-of time count. A
re-run of the same interval (recorded at its own interval end) therefore gets
the same answer, and a backfill of an older interval is not blocked by
qualifications recorded by newer runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from dynamics_campaign_sync.spec.models import QualificationRule
from dynamics_campaign_sync.utc import aware_utc


def apply_qualification_rule(
    rule: QualificationRule,
    qualified_ids: Iterable[str],
    history: Mapping[str, dt.datetime],
    as_of: dt.datetime,
) -> list[str]:
    """The qualified people the rule lets through, in their original order.

    ``history`` maps person ids to their last qualification time (from
    :meth:`Ledger.last_qualified <dynamics_campaign_sync.ledger.Ledger.last_qualified>`). Times at or after ``as_of``
    are ignored, so the function gives the same answer when an interval is run again.

    * ``once``: people who never qualified before;
    * ``every_time``: everyone;
    * ``every_n_days``: people whose last qualification is at least N days before ``as_of``.
    """
    as_of = aware_utc(as_of, "as_of")
    ids = list(qualified_ids)
    if rule.rule == "every_time":
        return ids
    earlier = {person: when for person, when in ((p, aware_utc(t, "a qualification time")) for p, t in history.items()) if when < as_of}
    if rule.rule == "once":
        return [person for person in ids if person not in earlier]
    assert rule.days is not None
    cutoff = as_of - dt.timedelta(days=rule.days)
    return [person for person in ids if person not in earlier or earlier[person] <= cutoff]
