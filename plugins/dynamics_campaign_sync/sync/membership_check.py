"""Is someone a member of a Dynamics campaign? (In any list associated with it, not only ours.)"""

from __future__ import annotations

from collections.abc import Sequence

from dynamics_campaign_sync.dataverse import DataverseClient, MemberType


def campaign_member_ids(client: DataverseClient, campaign_id: str, member_type: MemberType) -> set[str]:
    members: set[str] = set()
    for marketing_list in client.campaign_lists(campaign_id):
        if marketing_list.member_type is member_type:
            members.update(client.iter_list_member_ids(marketing_list.id))
    return members


def people_not_yet(client: DataverseClient, campaign_id: str, member_type: str, person_ids: Sequence[str],
                   present: bool) -> list[str]:
    """The people not yet in the wanted state: not yet members (``present``) or still members."""
    members = campaign_member_ids(client, campaign_id, MemberType(member_type))
    wanted = [p.lower() for p in person_ids]
    return [p for p in wanted if (p in members) != present]
