"""The benchmark's hand-written queries give our answer on the shipped, issue and random specs (so the
benchmark compares like with like), on DuckDB and on PostgreSQL when reachable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from benchmarks.qualify_specs import all_specs
from benchmarks.reference_sql import query

import sample_data
from dynamics_campaign_sync.qualification import SqlSource
from dynamics_campaign_sync.qualification.compiler.evaluate import evaluate

SPECS = all_specs(random_count=20, seed=13)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dt.datetime]:
    path = tmp_path_factory.mktemp("bench") / "source.duckdb"
    sample_data.generate(path, people=3_000, activities=60_000, log=lambda _: None)
    return path, sample_data.DEFAULT_END


@pytest.mark.parametrize("spec", SPECS, ids=[spec.key for spec in SPECS])
def test_hand_written_duckdb_query_agrees_with_the_compiled_one(sample, spec):
    path, end = sample
    interval = (end - dt.timedelta(days=1), end)
    source = SqlSource(sample_data.source_url(path))
    ours = sorted(evaluate(spec, source, *interval).qualified_ids)
    with source.engine.connect() as connection:  # one process opens a DuckDB file with one configuration
        connection.exec_driver_sql("SET TimeZone = 'UTC'")
        theirs = sorted(row[0] for row in connection.exec_driver_sql(query(spec, interval, "duckdb")))
    assert ours == theirs
