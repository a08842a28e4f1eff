"""The benchmark's DuckDB reference query gives our answer (so the benchmark compares like with like)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from benchmarks.bench_qualify import build_duckdb_copy, duckdb_query
from qualification_helpers import END, START, example_specs

import sample_data
from dynamics_campaign_sync.qualification import SqlSource, evaluate


@pytest.fixture(scope="module")
def databases(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("bench")
    sqlite_path, duck_path = folder / "source.db", folder / "source.duckdb"
    sample_data.generate(sqlite_path, people=1_500, activities=30_000, log=lambda _: None)
    assert build_duckdb_copy(sqlite_path, duck_path) is not None
    assert build_duckdb_copy(sqlite_path, duck_path) is None  # reused while the data is unchanged
    return sqlite_path, duck_path


@pytest.mark.parametrize(("name", "spec"), example_specs(), ids=[name for name, _ in example_specs()])
def test_duckdb_reference_agrees_with_the_evaluator(databases, name, spec):
    sqlite_path, duck_path = databases
    ours = evaluate(spec, SqlSource(f"sqlite:///{sqlite_path}"), START, END).qualified_ids
    with duckdb.connect(str(duck_path), read_only=True) as connection:
        theirs = sorted(row[0] for row in connection.execute(duckdb_query(spec, START, END)).fetchall())
    assert ours == theirs
