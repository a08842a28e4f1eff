"""Schema versioning, concurrent migration, engine settings and the UTC round trip."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from ledger_samples import CAMPAIGN, END, KEY, START, person
from sqlalchemy import create_engine, func, inspect, make_url, select, text

from dynamics_campaign_sync.ledger import LATEST_VERSION, Ledger, LedgerError
from dynamics_campaign_sync.ledger.engine import with_postgres_driver
from dynamics_campaign_sync.ledger.schema import metadata, schema_version


def test_migrate_twice_is_a_no_op_and_sets_the_version(ledger_factory: Callable[[], Ledger]) -> None:
    ledger = ledger_factory()
    assert ledger.schema_version() == 0

    assert ledger.migrate() == LATEST_VERSION
    assert ledger.migrate() == LATEST_VERSION

    assert ledger.schema_version() == LATEST_VERSION
    with ledger.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(schema_version)) == LATEST_VERSION
        assert set(metadata.tables) <= set(inspect(connection).get_table_names())


def test_a_newer_schema_than_the_code_is_refused(ledger_factory: Callable[[], Ledger]) -> None:
    ledger = ledger_factory()
    ledger.migrate()
    with ledger.engine.begin() as connection:
        connection.execute(schema_version.insert().values(
            version=LATEST_VERSION + 1, description="from the future", applied_at=START,
        ))
    with pytest.raises(LedgerError, match="newer than this code"):
        ledger.migrate()


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = Ledger.from_url(f"sqlite:///{tmp_path / 'nested' / 'ledger.db'}")
    yield ledger
    ledger.close()


def test_sqlite_connections_use_wal_and_a_busy_timeout(sqlite_ledger: Ledger) -> None:
    ledger = sqlite_ledger
    with ledger.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_unsupported_database_is_refused() -> None:
    driver = SimpleNamespace(paramstyle="format")  # never connected: the ledger refuses the engine first
    engine = create_engine("mysql+pymysql://user:secret@db.example/ledger", module=driver)
    with pytest.raises(LedgerError, match="mysql") as raised:
        Ledger(engine)
    assert "secret" not in str(raised.value)


@pytest.mark.parametrize(
    ("url", "installed", "expected"),
    [
        ("postgres://u:p@db/ledger", {"psycopg2"}, "postgresql+psycopg2"),
        ("postgresql://u:p@db/ledger", {"psycopg", "psycopg2"}, "postgresql+psycopg"),
        ("postgresql+psycopg2://u:p@db/ledger", {"psycopg"}, "postgresql+psycopg2"),
        ("postgres+psycopg2://u:p@db/ledger", set(), "postgresql+psycopg2"),
        ("sqlite:////tmp/ledger.db", set(), "sqlite"),
    ],
)
def test_postgres_urls_get_an_installed_driver(url: str, installed: set[str], expected: str) -> None:
    assert with_postgres_driver(make_url(url), installed=installed.__contains__).drivername == expected


def test_datetimes_round_trip_as_aware_utc(ledger: Ledger) -> None:
    paris = timezone(timedelta(hours=2))
    local_start = datetime(2026, 6, 1, 8, 30, 15, 123456, tzinfo=paris)
    local_end = local_start + timedelta(hours=1)

    ledger.upsert_campaigns([{"campaign_id": CAMPAIGN, "name": "Pricing", "statecode": 0, "statuscode": 2}],
                            local_start)
    ledger.record_plan(campaign_key=KEY, run_id="run-1", interval_start=local_start, interval_end=local_end,
                       status="applied", counts={})
    ledger.record(KEY, [person(1)], local_end, "run-1")

    refreshed = ledger.campaigns()[0]["refreshed_at"]
    interval = ledger.newest_applied_interval(KEY)
    qualified = ledger.last_qualified(KEY, [person(1)])[person(1)]
    for value, expected in [(refreshed, local_start), (interval[0], local_start), (interval[1], local_end),
                            (qualified, local_end)]:
        assert value == expected
        assert value.utcoffset() == timedelta(0)
    assert interval[0].hour == 6  # 08:30 in UTC+2


def test_naive_datetimes_are_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="qualified_at must be timezone-aware"):
        ledger.record(KEY, [person(1)], datetime(2026, 1, 1), "run-1")
    with pytest.raises(LedgerError, match="interval_end must be timezone-aware"):
        ledger.record_plan(campaign_key=KEY, run_id="run-1", interval_start=START,
                           interval_end=END.replace(tzinfo=None), status="planned", counts={})


def test_sqlite_stores_naive_utc_text(sqlite_ledger: Ledger) -> None:
    ledger = sqlite_ledger
    ledger.migrate()
    ledger.record(KEY, [person(1)], datetime(2026, 6, 1, 8, 0, tzinfo=timezone(timedelta(hours=-5))), "run-1")
    with ledger.engine.connect() as connection:
        stored = connection.execute(text("SELECT qualified_at FROM qualification_history")).scalar()
    assert stored.startswith("2026-06-01 13:00:00")
