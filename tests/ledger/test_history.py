"""Qualification history: the protocol the qualification engine's once / every-N-days rules rely on."""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta
from typing import Protocol

import pytest
import qualification_histories
from ledger_samples import END, KEY, START, person
from sqlalchemy import select

from dynamics_campaign_sync.ledger import Ledger
from dynamics_campaign_sync.ledger.schema import qualification_history

DAY = timedelta(days=1)


def test_record_and_look_up_many_ids(ledger: Ledger) -> None:
    everyone = [person(n) for n in range(100_000)]
    ledger.record(KEY, everyone[:60_000], START, "run-1")
    ledger.record(KEY, everyone[40_000:], END, "run-2")
    found = ledger.last_qualified(KEY, [*everyone, person(999_999)])

    assert len(found) == 100_000
    assert found[everyone[0]] == START
    assert found[everyone[50_000]] == END
    assert found[everyone[-1]] == END
    assert person(999_999) not in found


def test_history_keeps_every_qualification_and_looks_before_an_as_of_time(ledger: Ledger) -> None:
    ledger.record(KEY, [person(1)], START + 5 * DAY, "day-5")
    ledger.record(KEY, [person(1), person(2)], START + 2 * DAY, "backfill-day-2")
    ledger.record(KEY, [person(1), person(1)], START + 5 * DAY, "day-5-retry")  # recording twice is harmless

    assert ledger.last_qualified(KEY, [person(1), person(2)]) == {
        person(1): START + 5 * DAY, person(2): START + 2 * DAY,
    }
    assert ledger.last_qualified(KEY, [person(1), person(2)], before=START + 5 * DAY) == {
        person(1): START + 2 * DAY, person(2): START + 2 * DAY,
    }
    assert ledger.last_qualified(KEY, [person(1)], before=START + 2 * DAY) == {}
    assert ledger.last_qualified("another-spec", [person(1)]) == {}
    assert ledger.last_qualified(KEY, []) == {}


def test_ledger_matches_the_qualification_history_protocol() -> None:
    module = qualification_histories
    protocols = [
        value for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, Protocol) and value is not Protocol  # type: ignore[arg-type]
        and hasattr(value, "last_qualified")
    ]
    if not protocols:
        pytest.skip("no protocol with last_qualified in qualification.history")
    for protocol in protocols:
        for name in ("last_qualified", "record"):
            wanted = inspect.signature(getattr(protocol, name)).parameters
            have = inspect.signature(getattr(Ledger, name)).parameters
            assert [(p.name, p.kind) for p in have.values()] == [(p.name, p.kind) for p in wanted.values()], name


def test_ledger_answers_like_the_engines_reference_history(ledger: Ledger) -> None:
    reference = qualification_histories.InMemoryQualificationHistory()
    for history in (reference, ledger):
        history.record(KEY, [person(1), person(2)], START, "run-1")
        history.record(KEY, [person(2), person(3)], END, "run-2")
        history.record(KEY, [person(2)], END, "run-2-retry")
    everyone = [person(n) for n in range(5)]
    for before in (None, START, END, END + DAY):
        assert ledger.last_qualified(KEY, everyone, before=before) == reference.last_qualified(
            KEY, everyone, before=before
        ), before


def test_thinning_keeps_recent_rows_and_each_persons_first_and_changes_no_later_decision(ledger: Ledger) -> None:
    def day(n: int) -> datetime:
        return START + timedelta(days=n)

    for n in (0, 100, 500, 600):
        ledger.record(KEY, [person(1)], day(n), f"run-{n}")
    ledger.record(KEY, [person(2)], day(10), "run-10")
    ledger.record(KEY, [person(2)], day(20), "run-20")
    ledger.record("another-campaign", [person(1)], day(100), "run-100")
    as_of, n_days = day(700), 120  # an "every 120 days" rule, evaluated at day 700
    before = ledger.last_qualified(KEY, [person(1), person(2)], before=as_of)

    assert ledger.thin_qualification_history(KEY, older_than=as_of - timedelta(days=n_days)) == 3
    assert ledger.thin_qualification_history(KEY, older_than=as_of - timedelta(days=n_days)) == 0

    with ledger.engine.connect() as connection:
        kept = connection.execute(select(qualification_history.c.campaign_key, qualification_history.c.person_id,
                                         qualification_history.c.qualified_at)).all()
    assert sorted((k, p, q) for k, p, q in kept) == sorted([
        (KEY, person(1), day(0)), (KEY, person(1), day(600)), (KEY, person(2), day(10)),
        ("another-campaign", person(1), day(100)),
    ])
    after = ledger.last_qualified(KEY, [person(1), person(2)], before=as_of)
    assert after[person(1)] == before[person(1)] == day(600)
    # person 2's latest changed (day 20 → day 10) but both are older than the rule's 120 days: same decision
    assert as_of - after[person(2)] > timedelta(days=n_days) and as_of - before[person(2)] > timedelta(days=n_days)
    assert ledger.last_qualified(KEY, [person(1)], before=day(50)) == {person(1): day(0)}  # "once" still knows
