"""Write-ahead intents: nothing sent to Dynamics goes unrecorded, and nothing is recorded twice.

Before a chunk of people is sent, :func:`begin` commits an intent naming them. After Dynamics answers,
:func:`complete` records the outcome in one transaction: membership state, the events in the run's open batch,
the per-person failures, and the intent marked done. A crash in between leaves the intent pending; the retry
re-sends it (adding and removing list members is idempotent in Dynamics) and completes it. Completing a
completed intent changes nothing and returns the same batch id.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from dynamics_campaign_sync.ledger import events, failures, lists, membership, sql
from dynamics_campaign_sync.ledger.checks import REMOVE, preview
from dynamics_campaign_sync.ledger.errors import LedgerError
from dynamics_campaign_sync.ledger.models import Intent, IntentHead, view_of
from dynamics_campaign_sync.ledger.schema import intent_people, intents


def begin(
    connection: Connection,
    head: IntentHead,
    people: Mapping[str, Mapping[str, Any] | None],
    source_ids: Mapping[str, str],
    now: datetime,
) -> str:
    """Record the intent to send ``people`` (id → reason) to ``list_id``; return the intent id.

    Refuses a list that is not the campaign's owned list for ``member_type``, and — the product's core promise —
    a removal of anyone we did not add to this campaign.
    """
    owned = lists.owned_list(connection, head.campaign_id, head.member_type)
    if owned is None or owned.list_id != head.list_id:
        raise LedgerError(
            f"marketing list {head.list_id} is not the owned {head.member_type} list of campaign "
            f"{head.campaign_id} "
            f"({'it has none' if owned is None else f'that is {owned.list_id}'}); refusing to write through it"
        )
    if head.action == REMOVE:
        current = membership.membership(connection, head.campaign_id, list(people))
        not_ours = [
            person_id
            for person_id in people
            if person_id not in current
            or not current[person_id].is_member
            or current[person_id].member_type != head.member_type
        ]
        if not_ours:
            raise LedgerError(
                f"refusing to remove {len(not_ours)} {head.member_type}(s) from campaign {head.campaign_id} "
                f"({head.campaign_key}) that we did not add: {preview(not_ours)}"
            )
    intent_id = uuid.uuid4().hex
    connection.execute(
        insert(intents).values(intent_id=intent_id, **asdict(head), person_count=len(people), created_at=now)
    )
    connection.execute(
        insert(intent_people),
        [
            {
                "intent_id": intent_id,
                "person_id": person_id,
                "source_person_id": source_ids.get(person_id),
                "reason": reason,
            }
            for person_id, reason in people.items()
        ],
    )
    return intent_id


def pending(connection: Connection, campaign_key: str) -> list[Intent]:
    """The campaign's intents that were begun but never completed, oldest first, with their people."""
    heads = connection.execute(
        select(intents)
        .where(intents.c.campaign_key == campaign_key, intents.c.completed_at.is_(None))
        .order_by(intents.c.created_at, intents.c.intent_id)
    ).all()
    people = _people(connection, [head.intent_id for head in heads])
    return [_intent(head, people.get(head.intent_id, {})) for head in heads]


def complete(
    connection: Connection,
    intent_id: str,
    *,
    succeeded: Sequence[str],
    failed: Mapping[str, str],
    now: datetime,
) -> str | None:
    """Record Dynamics' answer for an intent; return the event batch (None when no membership changed).

    Every person of the intent must be accounted for, either in ``succeeded`` or in ``failed``.
    """
    head = _head(connection, intent_id, lock=False)
    sql.lock(connection, "campaign", head.campaign_id)
    head = _head(connection, intent_id, lock=True)
    if head.completed_at is not None:
        return head.batch_id
    people = list(connection.scalars(select(intent_people.c.person_id).where(
        intent_people.c.intent_id == intent_id).order_by(intent_people.c.person_id)))
    _check_outcome(head, people, succeeded, failed)
    changed = membership.apply(connection, intent=head, succeeded=succeeded, now=now)
    batch_id = events.append(connection, head, changed, now) if changed else None
    failures.record(
        connection,
        campaign_key=head.campaign_key,
        run_id=head.run_id,
        action=head.action,
        failed=failed,
        succeeded=succeeded,
        now=now,
    )
    connection.execute(
        update(intents)
        .where(intents.c.intent_id == intent_id)
        .values(
            completed_at=now,
            batch_id=batch_id,
            succeeded_count=len(succeeded),
            failed_count=len(failed),
        )
    )
    return batch_id


def _head(connection: Connection, intent_id: str, *, lock: bool) -> Row[Any]:
    query = select(intents).where(intents.c.intent_id == intent_id)
    row = connection.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise LedgerError(f"unknown intent {intent_id!r}")
    return row


def _people(
    connection: Connection, intent_ids: Sequence[str]
) -> dict[str, dict[str, tuple[str | None, Mapping[str, Any] | None]]]:
    """``{intent_id: {person_id: (source id, reason)}}``."""
    query = select(intent_people).order_by(intent_people.c.intent_id, intent_people.c.person_id)
    found: dict[str, dict[str, tuple[str | None, Mapping[str, Any] | None]]] = {}
    for row in sql.rows_in(connection, query, intent_people.c.intent_id, intent_ids):
        found.setdefault(row.intent_id, {})[row.person_id] = (row.source_person_id, row.reason)
    return found


def _check_outcome(
    head: Row[Any],
    people: Collection[str],
    succeeded: Sequence[str],
    failed: Mapping[str, str],
) -> None:
    where = f"intent {head.intent_id} ({head.action}, campaign {head.campaign_id}, run {head.run_id})"
    both = [person_id for person_id in succeeded if person_id in failed]
    if both:
        raise LedgerError(f"{where}: people reported as both succeeded and failed: {preview(both)}")
    known = set(people)
    strangers = [person_id for person_id in [*succeeded, *failed] if person_id not in known]
    if strangers:
        raise LedgerError(f"{where}: people that are not part of the intent: {preview(strangers)}")
    answered = {*succeeded, *failed}
    unaccounted = [person_id for person_id in people if person_id not in answered]
    if unaccounted:
        raise LedgerError(f"{where}: no outcome given for {len(unaccounted)} people: {preview(unaccounted)}")


def _intent(head: Row[Any], people: Mapping[str, tuple[str | None, Mapping[str, Any] | None]]) -> Intent:
    return view_of(
        Intent,
        head,
        people={person_id: reason for person_id, (_source, reason) in people.items()},
        source_ids={person_id: source for person_id, (source, _reason) in people.items() if source},
    )
