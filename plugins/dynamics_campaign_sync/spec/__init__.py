"""The campaign sync spec language: YAML specs, their pydantic models, the filter logic, validation and docs.

Loading a spec is what every dag-processor does on every parse, so this package imports neither pandas,
numpy, SQLAlchemy nor the Dataverse client (MSAL, requests): only pydantic, PyYAML and croniter. The
evaluation engine that runs a spec against a source is :mod:`dynamics_campaign_sync.qualification`.
"""

from __future__ import annotations

from dynamics_campaign_sync.spec.loader import (
    SpecCollection,
    SpecError,
    SpecProblem,
    collect_specs,
    load_spec,
    load_specs,
)
from dynamics_campaign_sync.spec.logic import LogicError, parse_logic
from dynamics_campaign_sync.spec.models import (
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
from dynamics_campaign_sync.spec.operators import Operator

__all__ = [
    "DEFAULT_CONNECTION_ID",
    "BehaviourFilter",
    "CampaignRef",
    "CampaignSpec",
    "Condition",
    "DemographicFilter",
    "Guard",
    "InactivityFilter",
    "LogicError",
    "Operator",
    "QualificationRule",
    "RemovalPolicy",
    "Rules",
    "Schedule",
    "SourceConfig",
    "SpecCollection",
    "SpecError",
    "SpecProblem",
    "Window",
    "collect_specs",
    "load_spec",
    "load_specs",
    "parse_logic",
]
