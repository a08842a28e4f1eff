"""A small, Airflow-free client for the Dataverse Web API (Dynamics 365), authenticated with MSAL."""

from __future__ import annotations

from dynamics_campaign_sync.dataverse.batch import BatchItemResult, BatchOperation, ChangeSet
from dynamics_campaign_sync.dataverse.client import DataverseClient
from dynamics_campaign_sync.dataverse.config import CertificateCredential, DataverseConfig
from dynamics_campaign_sync.dataverse.errors import (
    AuthenticationError,
    DataverseConfigError,
    DataverseConnectionError,
    DataverseError,
    HttpError,
    UnreadableResponseError,
)
from dynamics_campaign_sync.dataverse.models import (
    Campaign,
    MarketingList,
    MemberChangeResult,
    MemberType,
    Person,
)
from dynamics_campaign_sync.dataverse.retry import RequestStats, RetryPolicy, is_retryable

__all__ = [
    "AuthenticationError",
    "BatchItemResult",
    "BatchOperation",
    "Campaign",
    "CertificateCredential",
    "ChangeSet",
    "DataverseClient",
    "DataverseConfig",
    "DataverseConfigError",
    "DataverseConnectionError",
    "DataverseError",
    "HttpError",
    "MarketingList",
    "MemberChangeResult",
    "MemberType",
    "Person",
    "RequestStats",
    "RetryPolicy",
    "UnreadableResponseError",
    "is_retryable",
]
