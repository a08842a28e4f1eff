"""Several Airflow tasks using one ledger database at once (each test user gets its own engine)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ledger_samples import CAMPAIGN, END, KEY, LEAD_LIST, START, people, person
from sqlalchemy import select

from dynamics_campaign_sync.ledger import LATEST_VERSION, Ledger
from dynamics_campaign_sync.ledger.schema import schema_version


def run_together(workers: list[Callable[[], Any]]) -> list[Any]:
    """Start ``workers`` in threads at the same moment; return their results, re-raising the first error."""
    start = threading.Barrier(len(workers))
    results: list[Any] = [None] * len(workers)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = workers[index]()
        except BaseException as error:  # noqa: BLE001 - re-raised below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def test_concurrent_migrate_from_two_threads(ledger_factory: Callable[[], Ledger]) -> None:
    ledgers = [ledger_factory(), ledger_factory()]

    assert run_together([ledger.migrate for ledger in ledgers]) == [LATEST_VERSION, LATEST_VERSION]

    with ledgers[0].engine.connect() as connection:
        versions = connection.scalars(select(schema_version.c.version)).all()
    assert versions == list(range(1, LATEST_VERSION + 1))


def test_concurrent_writers_neither_fail_nor_lose_anything(ledger_factory: Callable[[], Ledger]) -> None:
    setup = ledger_factory()
    setup.migrate()
    setup.save_owned_list(CAMPAIGN, "lead", LEAD_LIST, "CS-leads", START)
    workers = 4

    def task(worker: int) -> Callable[[], None]:
        ledger = ledger_factory()

        def work() -> None:
            for chunk in range(5):
                numbers = range(worker * 1000 + chunk * 20, worker * 1000 + chunk * 20 + 20)
                intent_id = ledger.begin_intent(
                    campaign_key=KEY, campaign_id=CAMPAIGN, list_id=LEAD_LIST, member_type="lead", action="add",
                    run_id="run-1", interval_start=START, interval_end=END, people=people(*numbers),
                )
                ledger.record(KEY, [person(n) for n in numbers], END, "run-1")
                ledger.complete_intent(intent_id, succeeded=[person(n) for n in numbers], failed={})
                ledger.members(CAMPAIGN)

        return work

    run_together([task(worker) for worker in range(workers)])

    assert len(setup.members(CAMPAIGN)) == workers * 100
    [batch] = setup.event_batches(run_id="run-1")
    assert batch.count == workers * 100
    assert len(setup.batch_events(batch.batch_id)) == workers * 100
    assert setup.pending_intents(KEY) == []
