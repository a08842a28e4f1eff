"""People the source knows only by email, matched to Dynamics records — once.

An email resolved by an earlier run comes from the ledger's memory; only the others are looked up (50 emails per
request, several requests at once) and remembered. A remembered id is forgotten when Dynamics says the record is
gone (drift found it deleted, or a list write refused it), so that email is looked up again next time. A dry run
remembers too: it records what Dynamics said, not a change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dynamics_campaign_sync.dataverse import DataverseClient, MemberType
from dynamics_campaign_sync.dataverse.models import Person


def people_by_email(client: DataverseClient, ledger: Any, member_type: MemberType,
                    emails: Iterable[str]) -> dict[str, Person]:
    """``{lower-cased email: Person}`` of those emails that match a ``member_type`` record (as
    :meth:`DataverseClient.find_people_by_email`); a remembered match carries only id and email."""
    wanted = {email.strip().lower(): email.strip() for email in emails if email and email.strip()}
    known = ledger.remembered_person_ids(member_type.value, wanted)
    found = {email: Person(id=person_id, member_type=member_type, email=email) for email, person_id in known.items()}
    missing = [original for email, original in wanted.items() if email not in known]
    if missing:
        looked_up = client.find_people_by_email(member_type, missing)
        ledger.remember_person_ids(member_type.value, {email: person.id for email, person in looked_up.items()})
        found.update(looked_up)
    return found
