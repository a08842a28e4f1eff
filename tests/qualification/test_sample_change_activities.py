"""Opt-in change activities of the sample data (`make sample-data` / `make run` ask for them): the contract's
change-activity shape, interleaved in time order, and the README's change-filter examples qualify people on
them as written."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from pathlib import Path

import pytest
import yaml
from qualification_helpers import make_spec

import sample_data
from dynamics_campaign_sync.qualification import SqlSource
from dynamics_campaign_sync.qualification.compiler.evaluate import evaluate

PEOPLE, ACTIVITIES, CHANGES = 3_000, 20_000, 3_000
README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.fixture(scope="module", params=["source.db", "source.duckdb"])
def database(request, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("changes") / request.param
    sample_data.generate(path, people=PEOPLE, activities=ACTIVITIES, changes=CHANGES, log=lambda _: None)
    return path


def readme_filter(filter_type: str) -> dict:
    """The README's example filter of that type: the `{type: ...}` flow mapping, braces balanced."""
    start = README.index(f"{{type: {filter_type},")
    depth = 0
    for end, char in enumerate(README[start:], start):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            return yaml.safe_load(re.sub(r"\s+", " ", README[start : end + 1]))
    raise AssertionError(f"unbalanced braces in the README's {filter_type} example")


def test_change_activities_have_the_contract_shape_in_time_order(tmp_path):
    path = tmp_path / "source.db"
    sample_data.generate(path, people=PEOPLE, activities=ACTIVITIES, changes=CHANGES, log=lambda _: None)
    with sqlite3.connect(path) as connection:
        types = dict(connection.execute("SELECT activity_type, count(*) FROM activities GROUP BY 1"))
        assert sum(types.values()) == ACTIVITIES + CHANGES
        assert types["data_value_changed"] + types["score_changed"] == CHANGES
        stamps = [row[0] for row in connection.execute("SELECT occurred_at FROM activities ORDER BY activity_id")]
        assert stamps == sorted(stamps)
        payloads = [json.loads(row[0]) for row in connection.execute(
            "SELECT attributes FROM activities WHERE activity_type = 'data_value_changed'")]
        scores = [json.loads(row[0]) for row in connection.execute(
            "SELECT attributes FROM activities WHERE activity_type = 'score_changed'")]
        early = connection.execute("SELECT count(*) FROM activities a JOIN people p USING (person_id) "
                                   "WHERE a.occurred_at < p.created_at").fetchone()
    assert early == (0,)
    assert {payload["attribute"] for payload in payloads} == {"job_title", "country"}
    assert all(payload["old_value"] != payload["new_value"] for payload in payloads)
    assert all(set(score) == {"score", "change", "new_score"} for score in scores)
    assert {score["change"] > 0 for score in scores} == {True, False}


def test_the_default_has_no_change_activities_and_asking_again_for_changes_regenerates(tmp_path):
    path = tmp_path / "source.db"
    sample_data.generate(path, people=300, activities=2_000, log=lambda _: None)
    assert sample_data.generate(path, people=300, activities=2_000, changes=100, log=lambda _: None)
    with sqlite3.connect(path) as connection:
        assert connection.execute(
            "SELECT count(*) FROM activities WHERE activity_type LIKE '%changed'").fetchone() == (100,)


@pytest.mark.parametrize("filter_type", ["data_value_changed", "score_changed"])
def test_the_readme_change_filter_examples_qualify_people_on_the_sample_data(database, filter_type):
    spec = make_spec([readme_filter(filter_type)])
    end = sample_data.DEFAULT_END
    url = sample_data.source_url(database)
    result = evaluate(spec, SqlSource.from_config(spec.source, url), end - dt.timedelta(days=1), end)
    assert len(result.qualified) >= 1, f"{filter_type}: nobody qualifies on {database.name}"
