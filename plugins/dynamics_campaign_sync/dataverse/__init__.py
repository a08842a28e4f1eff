"""A small, Airflow-free client for the Dataverse Web API (Dynamics 365), authenticated with MSAL.

:mod:`.client` holds the typed operations (``DataverseClient``) and :mod:`.tracked_reads` whole-table reads with
change tracking; beneath them :mod:`.transport` sends each request (token from :mod:`.auth`, TLS from
:mod:`.session`, concurrency from :mod:`.admission`, retries by the one policy in :mod:`.retry`) and
:mod:`.responses` reads the answers. :mod:`.config` holds the connection settings, :mod:`.models` the records,
:mod:`.errors` the typed errors, :mod:`.odata` query literals and paging, :mod:`.batch` ``$batch`` encoding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dynamics_campaign_sync.lazy_exports import lazy_exports

if TYPE_CHECKING:  # explicit re-exports for type checkers; at run time __getattr__ serves them
    from dynamics_campaign_sync.dataverse.batch import BatchItemResult as BatchItemResult
    from dynamics_campaign_sync.dataverse.batch import BatchOperation as BatchOperation
    from dynamics_campaign_sync.dataverse.batch import ChangeSet as ChangeSet
    from dynamics_campaign_sync.dataverse.client import DataverseClient as DataverseClient
    from dynamics_campaign_sync.dataverse.config import CertificateCredential as CertificateCredential
    from dynamics_campaign_sync.dataverse.config import DataverseConfig as DataverseConfig
    from dynamics_campaign_sync.dataverse.errors import AuthenticationError as AuthenticationError
    from dynamics_campaign_sync.dataverse.errors import DataverseConfigError as DataverseConfigError
    from dynamics_campaign_sync.dataverse.errors import DataverseConnectionError as DataverseConnectionError
    from dynamics_campaign_sync.dataverse.errors import DataverseError as DataverseError
    from dynamics_campaign_sync.dataverse.errors import HttpError as HttpError
    from dynamics_campaign_sync.dataverse.errors import UnreadableResponseError as UnreadableResponseError
    from dynamics_campaign_sync.dataverse.models import Campaign as Campaign
    from dynamics_campaign_sync.dataverse.models import MarketingList as MarketingList
    from dynamics_campaign_sync.dataverse.models import MemberChangeResult as MemberChangeResult
    from dynamics_campaign_sync.dataverse.models import MemberType as MemberType
    from dynamics_campaign_sync.dataverse.models import Person as Person
    from dynamics_campaign_sync.dataverse.retry import RequestStats as RequestStats
    from dynamics_campaign_sync.dataverse.retry import RetryPolicy as RetryPolicy
    from dynamics_campaign_sync.dataverse.retry import is_retryable as is_retryable

# Imported on first use: the models and errors are light, the client loads MSAL and requests.
_EXPORTS = {
    "BatchItemResult": "batch", "BatchOperation": "batch", "ChangeSet": "batch", "DataverseClient": "client",
    "CertificateCredential": "config", "DataverseConfig": "config", "AuthenticationError": "errors",
    "DataverseConfigError": "errors", "DataverseConnectionError": "errors", "DataverseError": "errors",
    "HttpError": "errors", "UnreadableResponseError": "errors", "Campaign": "models", "MarketingList": "models",
    "MemberChangeResult": "models", "MemberType": "models", "Person": "models", "RequestStats": "retry",
    "RetryPolicy": "retry", "is_retryable": "retry",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
