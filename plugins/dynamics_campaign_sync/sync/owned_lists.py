"""Owned marketing lists: one static list per campaign and member type, created once and reused.

This is how Marketo's campaign sync works and why removal is safe: we add and remove people only in
lists we created, so people who are in the campaign through anyone else's list are never touched.

Exactly once, under lost answers and retries: each owned list has an id its campaign and member type determine
and is created by a create-only upsert, and associating it again is taken as done. Lists that runs before these
ids left behind (a random id, our name) are still found by name and reused.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from dynamics_campaign_sync.dataverse import DataverseClient, HttpError, MarketingList, MemberType
from dynamics_campaign_sync.dataverse.models import OWNED_LIST_ID_NAMESPACE, derived_id
from dynamics_campaign_sync.errors import PermanentError

log = logging.getLogger(__name__)

LIST_PREFIX = "CampaignSync"


class OwnedListError(PermanentError):
    """An owned list exists but cannot be written (locked, inactive, dynamic or of the wrong type). Permanent:
    it stays so until someone changes the list in Dynamics."""


def owned_list_name(campaign_id: str, member_type: MemberType) -> str:
    """Recognisable in Dynamics, unique per campaign and member type (like Marketo's ``Mkto-leads-<id>``)."""
    return f"{LIST_PREFIX}-{member_type.value}s-{campaign_id}"


def owned_list_id(campaign_id: str, member_type: MemberType, *, replacing: str | None = None) -> str:
    """The id the owned list is created with: every run, retry and resent request for this campaign and member
    type names the same list, so none of them can make a second one. The list that replaces one someone deleted
    in Dynamics gets an id of its own (derived from the deleted one's), so a deleted id is never brought back."""
    key = f"{campaign_id.strip().lower()}/{member_type.value}"
    return derived_id(OWNED_LIST_ID_NAMESPACE, f"{key}/replacing/{replacing.lower()}" if replacing else key)


class _StoredList(Protocol):
    @property
    def list_id(self) -> str: ...


class OwnedListStore(Protocol):
    """The part of the ledger that remembers owned lists."""

    def owned_list(self, campaign_id: str, member_type: str) -> _StoredList | None: ...

    def save_owned_list(
        self, campaign_id: str, member_type: str, list_id: str, list_name: str, verified_at: datetime
    ) -> Any: ...


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

    Safe to repeat: the list is created under :func:`owned_list_id` with a create-only upsert, and a list created
    by a run that crashed before recording it is found again by id or name. A list someone deleted in Dynamics is
    re-created, and a lost association is restored; both are reported in ``repairs`` so the task log says so, as
    are other lists bearing our name (left by an earlier run's lost answer): they are never written to.
    """
    name = owned_list_name(campaign_id, member_type)
    repairs: list[str] = []
    known = store.owned_list(campaign_id, member_type.value)
    marketing_list = _known_list(client, known.list_id, name, repairs) if known is not None else None
    deleted = known is not None and marketing_list is None
    same_name = [lst for lst in client.find_lists_by_name(name) if lst.member_type is member_type]
    created = False
    if marketing_list is None:
        marketing_list = _adopt(client, campaign_id, member_type, same_name)
    if marketing_list is None:
        list_id = owned_list_id(campaign_id, member_type, replacing=known.list_id if known and deleted else None)
        marketing_list = client.create_static_list(name, member_type, list_id=list_id)
        created = True
    _check_writable(marketing_list, name, member_type)
    if client.associate_list(campaign_id, marketing_list.id) and known is not None and not deleted:
        repairs.append(
            f"owned list {marketing_list.id} ({name}) was no longer associated with campaign "
            f"{campaign_id}; associated it again"
        )
    repairs.extend(_duplicates_report(client, campaign_id, marketing_list, same_name))
    store.save_owned_list(
        campaign_id, member_type.value, marketing_list.id, name, verified_at=datetime.now(UTC)
    )
    for repair in repairs:
        log.warning("Owned %s list of campaign %s: %s", member_type.value, campaign_id, repair)
    return OwnedListCheck(marketing_list=marketing_list, created=created, repairs=repairs)


def _known_list(client: DataverseClient, list_id: str, name: str, repairs: list[str]) -> MarketingList | None:
    """The list the ledger remembers, or None (noted in ``repairs``) when someone deleted it in Dynamics."""
    try:
        return client.get_list(list_id)
    except HttpError as exc:
        if exc.status != 404:
            raise
    repairs.append(f"owned list {list_id} ({name}) was deleted in Dynamics; re-creating it")
    return None


def _adopt(
    client: DataverseClient, campaign_id: str, member_type: MemberType, same_name: list[MarketingList]
) -> MarketingList | None:
    """The list with our name that an earlier run created but did not record, or None when there is none.

    Several (an old lost answer made two): the one with our derived id, else one associated with the campaign,
    else the oldest — the same choice on every run, so every run writes to the same list."""
    if len(same_name) <= 1:
        return same_name[0] if same_name else None
    derived = owned_list_id(campaign_id, member_type)
    linked = {lst.id for lst in client.campaign_lists(campaign_id)}
    # same_name is oldest first and sorted() is stable, so the oldest wins among equals.
    return sorted(same_name, key=lambda lst: (lst.id != derived, lst.id not in linked))[0]


def _check_writable(marketing_list: MarketingList, name: str, member_type: MemberType) -> None:
    if marketing_list.member_type is not member_type:
        raise OwnedListError(
            f"owned list {marketing_list.id} ({name}) holds {marketing_list.member_type}, "
            f"not {member_type.value}s"
        )
    if blockers := marketing_list.write_blockers():
        raise OwnedListError(
            f"owned list {marketing_list.id} ({name}) cannot be written: {', '.join(blockers)}"
        )


def _duplicates_report(
    client: DataverseClient, campaign_id: str, owned: MarketingList, same_name: list[MarketingList]
) -> list[str]:
    """One line per other list bearing the owned list's name: we never write to those, so a person must look."""
    extras = [lst for lst in same_name if lst.id != owned.id]
    if not extras:
        return []
    linked = {lst.id for lst in client.campaign_lists(campaign_id)}
    return [
        f"list {extra.id} is also named {extra.name!r} ({extra.member_count or 0} members"
        + (f", associated with campaign {campaign_id}" if extra.id in linked else "")
        + f"), a duplicate an earlier run left; list {owned.id} is the owned list and {extra.id} is never "
        "written to: check it and delete it in Dynamics"
        for extra in extras
    ]


class OwnedLists:
    """The owned lists of one spec's member types in a campaign: made sure of before writes, looked up after."""

    def __init__(self, client: DataverseClient, store: OwnedListStore, member_types: Sequence[MemberType]) -> None:
        self.client = client
        self.store = store
        self.member_types = list(member_types)

    def ensure(self, campaign_id: str) -> dict[str, dict[str, Any]]:
        """Get or create, verify and remember one owned list per member type; report repairs loudly."""
        report: dict[str, dict[str, Any]] = {}
        for member_type in self.member_types:
            check = ensure_owned_list(self.client, self.store, campaign_id, member_type)
            report[member_type.value] = {"list_id": check.marketing_list.id, "created": check.created,
                                         "repairs": check.repairs}
            log.info("Owned %s list %s%s", member_type.value, check.marketing_list.id,
                     " (created)" if check.created else "")
        return report

    def ids(self, campaign_id: str) -> dict[MemberType, str]:
        """The owned list id of each member type the ledger knows one for."""
        found = {}
        for member_type in self.member_types:
            owned = self.store.owned_list(campaign_id, member_type.value)
            if owned is not None:
                found[member_type] = owned.list_id
        return found

    def log_known(self, campaign_id: str) -> None:
        """Say which owned lists the ledger knows (a dry run looks, never creates or repairs)."""
        known = self.ids(campaign_id)
        log.info("Dry run: owned lists are not created or repaired; known: %s",
                 {mt.value: known.get(mt) for mt in self.member_types})
