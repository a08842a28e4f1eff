"""Owned marketing lists: one static list per campaign and member type, created once and reused.

This is how Marketo's campaign sync works and why removal is safe: we add and remove people only in
lists we created, so people who are in the campaign through anyone else's list are never touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from dynamics_campaign_sync.dataverse import DataverseClient, HttpError, MarketingList, MemberType

log = logging.getLogger(__name__)

LIST_PREFIX = "CampaignSync"


class OwnedListError(Exception):
    """An owned list exists but cannot be written (locked, inactive, dynamic or of the wrong type)."""


def owned_list_name(campaign_id: str, member_type: MemberType) -> str:
    """Recognisable in Dynamics, unique per campaign and member type (like Marketo's ``Mkto-leads-<id>``)."""
    return f"{LIST_PREFIX}-{member_type.value}s-{campaign_id}"


class OwnedListStore(Protocol):
    """The part of the ledger that remembers owned lists."""

    def owned_list(self, campaign_id: str, member_type: str): ...

    def save_owned_list(
        self, campaign_id: str, member_type: str, list_id: str, list_name: str, verified_at: datetime
    ): ...


@dataclass
class OwnedListCheck:
    """What making sure of one owned list found and did; ``repairs`` is reported loudly."""

    marketing_list: MarketingList
    created: bool = False
    repairs: list[str] = field(default_factory=list)


def ensure_owned_list(
    client: DataverseClient, store: OwnedListStore, campaign_id: str, member_type: MemberType
) -> OwnedListCheck:
    """Get or create the owned list, make sure it is writable and associated, and remember it.

    Safe to repeat: a list created by a run that crashed before recording it is found again by name.
    A list someone deleted in Dynamics is re-created, and a lost association is restored; both are
    reported in ``repairs`` so the task log says so.
    """
    name = owned_list_name(campaign_id, member_type)
    repairs: list[str] = []
    known = store.owned_list(campaign_id, member_type.value)
    marketing_list: MarketingList | None = None
    if known is not None:
        try:
            marketing_list = client.get_list(known.list_id)
        except HttpError as exc:
            if exc.status != 404:
                raise
            repairs.append(f"owned list {known.list_id} ({name}) was deleted in Dynamics; re-creating it")
    created = False
    if marketing_list is None:
        same_name = [lst for lst in client.find_lists_by_name(name) if lst.member_type is member_type]
        if same_name:
            marketing_list = same_name[0]
        else:
            marketing_list = client.create_static_list(name, member_type)
            created = True
    if marketing_list.member_type is not member_type:
        raise OwnedListError(
            f"owned list {marketing_list.id} ({name}) holds {marketing_list.member_type}, "
            f"not {member_type.value}s"
        )
    if blockers := marketing_list.write_blockers():
        raise OwnedListError(
            f"owned list {marketing_list.id} ({name}) cannot be written: {', '.join(blockers)}"
        )
    if client.associate_list(campaign_id, marketing_list.id) and known is not None and not repairs:
        repairs.append(
            f"owned list {marketing_list.id} ({name}) was no longer associated with campaign "
            f"{campaign_id}; associated it again"
        )
    store.save_owned_list(
        campaign_id, member_type.value, marketing_list.id, name, verified_at=datetime.now(UTC)
    )
    for repair in repairs:
        log.warning("REPAIRED: %s", repair)
    return OwnedListCheck(marketing_list=marketing_list, created=created, repairs=repairs)
