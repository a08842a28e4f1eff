"""Membership facts: who is in the Dynamics lists and the other campaign syncs a spec's membership filters
name, gathered once per run before evaluation (``sync.membership_facts``) and handed to ``evaluate``.

A membership filter matches a person by Dynamics id (``dynamics_id`` of the people row, compared without
regard to case, as GUIDs are): a person without one is in no list and no campaign. The evaluators test the
same ids, in pandas (:func:`membership_mask`) or in SQL (``compiler.membership``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from dynamics_campaign_sync.lazy_exports import lazy_module
from dynamics_campaign_sync.spec.models import CampaignSpec, MembershipFilter

if TYPE_CHECKING:
    import pandas as pd
else:  # on first use: the compiled evaluation answers with numpy arrays alone (see lazy_exports.lazy_module)
    pd = lazy_module("pandas")


def normalized_ids(ids: Iterable[str]) -> frozenset[str]:
    """Dynamics ids as compared: lower case."""
    return frozenset(str(i).lower() for i in ids)


@dataclass(frozen=True)
class MembershipFacts:
    """The Dynamics ids in each list / campaign sync, by the filter's ``fact_key``."""

    members: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, members: Mapping[str, Iterable[str]]) -> MembershipFacts:
        return cls({key: normalized_ids(ids) for key, ids in members.items()})

    def ids_for(self, flt: MembershipFilter) -> frozenset[str]:
        try:
            return self.members[flt.fact_key]
        except KeyError:
            raise ValueError(f"no membership facts for {flt.fact_key}: gather them before evaluating") from None


def check_facts(spec: CampaignSpec, facts: MembershipFacts | None) -> MembershipFacts:
    """The facts, checked to cover every membership filter of ``spec`` (an error names the first missing)."""
    facts = facts or MembershipFacts()
    for number, flt in spec.rules.memberships():
        if flt.fact_key not in facts.members:
            raise ValueError(f"{spec.key}: rules.filters[{number}] ({flt.type}) needs membership facts "
                             f"for {flt.fact_key}: evaluate it with the memberships the sync gathers")
    return facts


def membership_mask(dynamics_ids: pd.Series, ids: frozenset[str]) -> np.ndarray:
    """Whether each person's Dynamics id is among ``ids`` (never for a missing id)."""
    present = dynamics_ids.notna().to_numpy(dtype=bool)
    lowered = dynamics_ids.astype("str").str.lower()
    return np.asarray(lowered.isin(ids).to_numpy(dtype=bool) & present, dtype=bool)
