"""Gathering the membership facts a spec's membership filters need, once per run, before evaluation.

``member_of_list``: the list is found by id or by name (exactly one list may have the name) and its members
are read from Dataverse's ``listmembers``, every page. ``member_of_campaign_sync``: the people the ledger says
the other spec currently has in its campaign. Each list or campaign sync is read once however many filters
name it.
"""

from __future__ import annotations

from collections.abc import Iterable

from dynamics_campaign_sync.dataverse import DataverseClient, HttpError
from dynamics_campaign_sync.errors import PermanentError
from dynamics_campaign_sync.ledger import Ledger
from dynamics_campaign_sync.log_privacy import private_logger
from dynamics_campaign_sync.qualification.memberships import MembershipFacts
from dynamics_campaign_sync.spec.models import CampaignSpec, MemberOfListFilter

log = private_logger(__name__)


class MembershipListError(PermanentError, ValueError):
    """A list a membership filter names cannot be read: none or several have the name, or it is dynamic."""


def find_list_id(client: DataverseClient, ref: MemberOfListFilter) -> str:
    """The id of the static list the filter names; :class:`MembershipListError` when there is none such."""
    if ref.id is not None:
        try:
            found = client.get_list(ref.id)
        except HttpError as error:
            if error.status != 404:
                raise
            raise MembershipListError(f"no marketing list has the id {ref.id}") from None
    else:
        assert ref.name is not None
        named = client.find_lists_by_name(ref.name)
        if len(named) != 1:
            raise MembershipListError(f"{len(named) or 'no'} marketing lists are named {ref.name!r}: "
                                      "name one list, or give its id")
        found = named[0]
    if not found.is_static:
        raise MembershipListError(f"{ref.describe()} is a dynamic list: Dynamics stores members of static "
                                  "lists only")
    return found.id


def list_members(client: DataverseClient, ref: MemberOfListFilter) -> Iterable[str]:
    """The Dynamics ids in the list the filter names (every page of its ``listmembers``)."""
    return client.iter_list_member_ids(find_list_id(client, ref))


def gather_memberships(spec: CampaignSpec, client: DataverseClient, ledger: Ledger) -> MembershipFacts | None:
    """The facts ``spec``'s membership filters need (None: it has none)."""
    filters = spec.rules.memberships()
    if not filters:
        return None
    members: dict[str, Iterable[str]] = {}
    for _, flt in filters:
        if flt.fact_key in members:
            continue
        if isinstance(flt, MemberOfListFilter):
            members[flt.fact_key] = list(list_members(client, flt))
        else:
            members[flt.fact_key] = ledger.campaign_sync_members(flt.spec)
    facts = MembershipFacts.of(members)
    log.info("Membership facts for %s: %s", spec.key,
             ", ".join(f"{key} ({len(ids)} people)" for key, ids in facts.members.items()))
    return facts
