"""The shipped example specs against the sample data `make run` and `make demo` generate: each kind of spec
(demographic, behaviour, inactivity) qualifies a visible share of the people, so the demo never looks broken."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dynamics_campaign_sync.qualification import SqlSource, evaluate
from dynamics_campaign_sync.spec import load_specs
from sample_data import generate

SPECS = Path(__file__).resolve().parents[1] / "dags" / "campaigns"
PEOPLE = 5000
END = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def sample_source(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sample") / "source.db"
    generate(path, people=PEOPLE, activities=150_000, end=END)  # make run's defaults
    return f"sqlite:///{path}"


@pytest.mark.parametrize("spec", load_specs(SPECS), ids=lambda spec: spec.key)
def test_each_example_qualifies_at_least_one_percent_of_the_sample_people(sample_source, spec):
    result = evaluate(spec, SqlSource(sample_source), END - dt.timedelta(days=1), END)
    assert len(result.qualified) >= PEOPLE // 100, f"{spec.key}: {len(result.qualified)} of {PEOPLE} qualify"
