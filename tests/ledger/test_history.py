"""Qualification history: the protocol the qualification engine's once / every-N-days rules rely on."""

from __future__ import annotations

import importlib
import inspect
import time
from datetime import timedelta
from typing import Protocol

import pytest
from ledger_samples import END, KEY, START, person

from dynamics_campaign_sync.ledger import Ledger

DAY = timedelta(days=1)


def test_record_and_look_up_many_ids(ledger: Ledger) -> None:
    everyone = [person(n) for n in range(100_000)]
    started = time.perf_counter()
    ledger.record(KEY, everyone[:60_000], START, "run-1")
    ledger.record(KEY, everyone[40_000:], END, "run-2")
    found = ledger.last_qualified(KEY, [*everyone, person(999_999)])
    elapsed = time.perf_counter() - started

    assert len(found) == 100_000
    assert found[everyone[0]] == START
    assert found[everyone[50_000]] == END
    assert found[everyone[-1]] == END
    assert person(999_999) not in found
    assert elapsed < 20, f"100k qualification records took {elapsed:.1f}s"


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
    try:
        module = importlib.import_module("dynamics_campaign_sync.qualification.history")
    except ImportError:
        pytest.skip("the qualification history protocol is not written yet")
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
    reference_module = pytest.importorskip("dynamics_campaign_sync.qualification.history")
    reference = reference_module.InMemoryQualificationHistory()
    for history in (reference, ledger):
        history.record(KEY, [person(1), person(2)], START, "run-1")
        history.record(KEY, [person(2), person(3)], END, "run-2")
        history.record(KEY, [person(2)], END, "run-2-retry")
    everyone = [person(n) for n in range(5)]
    for before in (None, START, END, END + DAY):
        assert ledger.last_qualified(KEY, everyone, before=before) == reference.last_qualified(
            KEY, everyone, before=before
        ), before
