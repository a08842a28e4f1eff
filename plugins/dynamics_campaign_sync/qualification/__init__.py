"""Qualification: who belongs in a campaign (smart-list evaluation over a source, the qualification rule).

No Airflow imports and no Dynamics writes here: this layer takes a spec (:mod:`dynamics_campaign_sync.spec`)
and a source and answers "who qualifies, as of this interval end, and why". Names are imported on first use,
so importing the package (or one light module of it) does not load pandas, numpy and SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dynamics_campaign_sync.lazy_exports import lazy_exports

if TYPE_CHECKING:  # explicit re-exports for type checkers; at run time __getattr__ serves them
    from dynamics_campaign_sync.qualification.evaluator import QualificationResult as QualificationResult
    from dynamics_campaign_sync.qualification.evaluator import evaluate as evaluate
    from dynamics_campaign_sync.qualification.history import (
        apply_qualification_rule as apply_qualification_rule,
    )
    from dynamics_campaign_sync.qualification.sources import ActivityCounts as ActivityCounts
    from dynamics_campaign_sync.qualification.sources import ActivityRequest as ActivityRequest
    from dynamics_campaign_sync.qualification.sources import DataFrameSource as DataFrameSource
    from dynamics_campaign_sync.qualification.sources import PeopleRequest as PeopleRequest
    from dynamics_campaign_sync.qualification.sources import Source as Source
    from dynamics_campaign_sync.qualification.sources import SourceError as SourceError
    from dynamics_campaign_sync.qualification.sql_source import SqlSource as SqlSource

_EXPORTS = {
    "QualificationResult": "evaluator",
    "evaluate": "evaluator",
    "apply_qualification_rule": "history",
    "ActivityCounts": "sources",
    "ActivityRequest": "sources",
    "DataFrameSource": "sources",
    "PeopleRequest": "sources",
    "Source": "sources",
    "SourceError": "sources",
    "SqlSource": "sql_source",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
