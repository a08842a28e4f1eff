"""Qualified people to plan candidates: attach Dynamics ids, matching people the source knows only by email.

Matching by email is what Marketo does. Unknown leads are created later by the add step; unknown contacts, and
ids the ledger cannot hold, are reported per person (never a failed run).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dynamics_campaign_sync.dataverse import DataverseClient, MemberType
from dynamics_campaign_sync.ledger.schema import SOURCE_ID_MAX
from dynamics_campaign_sync.qualification.reasons import parse_reasons
from dynamics_campaign_sync.sync.email_matching import people_by_email
from dynamics_campaign_sync.sync.planner import Candidate

if TYPE_CHECKING:
    from dynamics_campaign_sync.ledger import Ledger

_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def resolve(client: DataverseClient, ledger: Ledger, qualified: Any) -> tuple[list[Candidate], dict[str, str]]:
    """``(candidates, unresolved)`` for the qualified people (a DataFrame): unresolved maps a source id to why
    it cannot be synced. Emails resolved before are taken from the ledger, not looked up again."""
    candidates: list[Candidate] = []
    unresolved: dict[str, str] = {}
    records = _records(qualified)
    by_type: dict[str, list[str]] = {}
    for row in records:
        if not _present(row[2]) and _present(row[3]):
            by_type.setdefault(row[1], []).append(row[3])
    found = {mt: people_by_email(client, ledger, MemberType(mt), emails) for mt, emails in by_type.items()}
    parsed: dict[str, dict[str, Any]] = {}  # few distinct reasons texts, shared by many people
    for person_id, kind, present_id, present_email, reasons in records:
        source_id, member_type = str(person_id), MemberType(kind)
        dynamics_id = present_id if _present(present_id) else None
        email = present_email if _present(present_email) else None
        if problem := _unsyncable_ids(source_id, dynamics_id):
            unresolved[_shortened(source_id)] = problem
            continue
        if dynamics_id is None and email:
            match = found.get(member_type, {}).get(email.lower())
            dynamics_id = match.id if match else None
        if dynamics_id is None and (member_type is not MemberType.LEAD or not email):
            unresolved[source_id] = ("no Dynamics id and no email to match" if not email
                                     else f"no {member_type} with email {email} in Dynamics")
            continue
        if reasons and reasons not in parsed:
            parsed[reasons] = parse_reasons(reasons)
        candidates.append(Candidate(source_id, member_type, dynamics_id and str(dynamics_id).lower(), email,
                                    parsed[reasons] if reasons else {}))
    return candidates, unresolved


def _records(qualified: Any) -> list[tuple[Any, ...]]:
    """``(person_id, member_type, dynamics_id, email, reasons)`` per qualified person, read column by column
    (a dict per row costs seconds per 100,000 people); a missing optional column reads as None."""
    size = len(qualified)
    columns = [qualified[name].tolist() if name in qualified.columns else [None] * size
               for name in ("person_id", "member_type", "dynamics_id", "email", "reasons")]
    return list(zip(*columns, strict=True))


def _unsyncable_ids(source_id: str, dynamics_id: Any) -> str | None:
    """Why a person's ids cannot go into the ledger (a per-person failure, never a failed run), or None."""
    if len(source_id) > SOURCE_ID_MAX:
        return (f"source person id is {len(source_id)} characters long; the table contract allows at most "
                f"{SOURCE_ID_MAX}")
    if dynamics_id is not None and not _GUID.fullmatch(str(dynamics_id)):
        return f"dynamics_id {_shortened(str(dynamics_id))!r} is not a Dynamics id (a GUID)"
    return None


def _shortened(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _present(value: Any) -> bool:
    return value is not None and value == value and str(value).strip() != ""  # value == value: not NaN
