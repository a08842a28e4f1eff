"""Qualification: who belongs in a campaign (specs, smart-list evaluation, qualification history).

No Airflow imports and no Dynamics writes here: this layer reads a spec and a
source and answers "who qualifies, as of this interval end, and why".
"""

from __future__ import annotations

from dynamics_campaign_sync.qualification.evaluator import QualificationResult, evaluate
from dynamics_campaign_sync.qualification.history import (
    InMemoryQualificationHistory,
    QualificationHistory,
    SqliteQualificationHistory,
    apply_qualification_rule,
)
from dynamics_campaign_sync.qualification.loader import (
    SpecCollection,
    SpecError,
    collect_specs,
    load_spec,
    load_specs,
)
from dynamics_campaign_sync.qualification.logic import LogicError, parse_logic
from dynamics_campaign_sync.qualification.operators import Operator
from dynamics_campaign_sync.qualification.sources import (
    ActivityCounts,
    ActivityRequest,
    DataFrameSource,
    PeopleRequest,
    Source,
    SourceError,
)
from dynamics_campaign_sync.qualification.spec import (
    DEFAULT_CONNECTION_ID,
    BehaviourFilter,
    CampaignRef,
    CampaignSpec,
    Condition,
    DemographicFilter,
    Guard,
    InactivityFilter,
    QualificationRule,
    RemovalPolicy,
    Rules,
    Schedule,
    SourceConfig,
    Window,
)
from dynamics_campaign_sync.qualification.sql_source import SqlSource

__all__ = [
    "DEFAULT_CONNECTION_ID",
    "ActivityCounts",
    "ActivityRequest",
    "BehaviourFilter",
    "CampaignRef",
    "CampaignSpec",
    "Condition",
    "DataFrameSource",
    "DemographicFilter",
    "Guard",
    "InMemoryQualificationHistory",
    "InactivityFilter",
    "LogicError",
    "Operator",
    "PeopleRequest",
    "QualificationHistory",
    "QualificationResult",
    "QualificationRule",
    "RemovalPolicy",
    "Rules",
    "Schedule",
    "Source",
    "SourceConfig",
    "SourceError",
    "SpecCollection",
    "SpecError",
    "SqlSource",
    "SqliteQualificationHistory",
    "Window",
    "apply_qualification_rule",
    "collect_specs",
    "evaluate",
    "load_spec",
    "load_specs",
    "parse_logic",
]
