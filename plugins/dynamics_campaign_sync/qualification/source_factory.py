"""The one place a spec's ``source`` section becomes a qualification source.

``people: sql`` (the default): the SQL source. ``people: dataverse``: people from Dynamics
(:class:`.dataverse_source.DataverseSource`, its snapshots in the ledger), and, only when a behaviour or
inactivity filter needs activities, those from the SQL source, joined by ``source.join_on``
(:class:`.joined_source.JoinedSource`). Sources are built by callables so that nothing connects to a database
the spec does not use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dynamics_campaign_sync.qualification.dataverse_source import DataverseSource, SnapshotStore
from dynamics_campaign_sync.qualification.joined_source import JoinedSource
from dynamics_campaign_sync.qualification.sources import Source
from dynamics_campaign_sync.spec.models import BehaviourFilter, CampaignSpec, InactivityFilter


def needs_activities(spec: CampaignSpec) -> bool:
    return any(isinstance(flt, BehaviourFilter | InactivityFilter) for _, flt in spec.rules.numbered())


def build_source(spec: CampaignSpec, *, sql: Callable[[], Source], client: Callable[[], Any],
                 snapshots: Callable[[], SnapshotStore]) -> Source:
    """The source ``spec`` reads: ``sql`` builds the SQL source, ``client`` gives the Dataverse client and
    ``snapshots`` the ledger (asked only when the spec uses them)."""
    if not spec.source.from_dataverse:
        return sql()
    people = DataverseSource.for_spec(spec, client(), snapshots() if spec.source.change_tracking else None)
    if not needs_activities(spec):
        return people
    return JoinedSource(people, sql(), join_on=spec.source.join_on)
