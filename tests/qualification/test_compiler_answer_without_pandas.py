"""The compiled evaluation answers with numpy arrays: a process that reads the qualified ids and reasons never
imports pandas (up to 35 MiB and about 0.2 s of a process) — nor, reading a cursor, numpy's masked arrays —, and the frame made from those arrays when a caller asks
for one gives the same answer. SQLite and PostgreSQL (a cursor's rows), DuckDB (columns from ``fetchnumpy``)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
import sqlalchemy as sa
from qualification_helpers import END, START, activities_frame, make_spec, people_frame
from source_databases import source_engine, write_source

from dynamics_campaign_sync.qualification.compiler.evaluate import evaluate
from dynamics_campaign_sync.qualification.evaluator import QualifiedColumns
from dynamics_campaign_sync.qualification.reasons import parse_reasons
from dynamics_campaign_sync.qualification.sql_source import SqlSource

CHILD = """
import datetime as dt, json, sys
from dynamics_campaign_sync.qualification.compiler.evaluate import evaluate
from dynamics_campaign_sync.qualification.sql_source import SqlSource
from dynamics_campaign_sync.spec.models import CampaignSpec

url, spec, start, end = sys.argv[1:]
result = evaluate(CampaignSpec.model_validate(json.loads(spec)), SqlSource(url), dt.datetime.fromisoformat(start),
                  dt.datetime.fromisoformat(end))
reasons = result.qualified_people.reasons
print(json.dumps({"pandas": sorted(name for name in sys.modules if name.split(".")[0] == "pandas"),
                  "numpy.ma": "numpy.ma" in sys.modules,
                  "answer": dict(zip(result.qualified_ids, [reasons.texts[code] for code in reasons.codes.tolist()])),
                  "summary": result.summary()}))
"""

SPEC = make_spec([{"type": "demographic", "field": "country", "operator": "is", "value": "DE"},
                  {"type": "behaviour", "activity": "form_fill", "window": {"in_past_days": 7},
                   "min_times": 2}], "1 or 2")


@pytest.fixture(params=["sqlite", "duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def source_url(request, tmp_path):
    """The URL of a source holding four people: two in Germany, one with two form fills, one with neither."""
    people = people_frame([{"country": "DE", "dynamics_id": "00000000-0000-0000-0000-000000000001"},
                           {"country": "DE", "member_type": "contact"}, {"country": "FR"}, {"country": "FR"}])
    activities = activities_frame([
        {"person_id": person, "activity_type": "form_fill", "occurred_at": END - dt.timedelta(hours=hours)}
        for person, hours in (("P003", 1), ("P003", 30), ("P004", 2))])
    if request.param == "postgresql":
        engines = source_engine("postgresql")
        engine = next(engines)
    else:
        engines = None
        suffix = "sqlite" if request.param == "sqlite" else "duckdb"
        engine = sa.create_engine(f"{request.param}:///{tmp_path / f'source.{suffix}'}")
    write_source(engine, people, activities)
    engine.dispose()  # DuckDB: the file is opened by one process at a time
    yield engine.url.render_as_string(hide_password=False)
    if engines is not None:
        engines.close()  # drops the scratch schema


def test_the_ids_and_reasons_come_without_pandas_and_the_frame_is_the_same_answer(source_url):
    child = subprocess.run([sys.executable, "-c", CHILD, source_url, json.dumps(SPEC.model_dump(mode="json", exclude_unset=True)),
                            START.isoformat(), END.isoformat()], capture_output=True, text=True)
    assert child.returncode == 0, child.stderr
    answered = json.loads(child.stdout.strip().splitlines()[-1])
    assert answered["pandas"] == []
    # numpy's masked arrays are DuckDB's NULLs; read from a cursor, the rows need none (35 ms and 3 MiB to import)
    assert answered["numpy.ma"] == source_url.startswith("duckdb")
    assert {person: parse_reasons(text) for person, text in answered["answer"].items()} == {
        "P001": {"matched": [1], "counts": {}},
        "P002": {"matched": [1], "counts": {}},
        "P003": {"matched": [2], "counts": {"2": 2}},
    }

    result = evaluate(SPEC, SqlSource(source_url), START, END)
    assert isinstance(result.qualified_people, QualifiedColumns)
    frame = result.qualified.set_index("person_id")
    assert frame["reasons"].to_dict() == answered["answer"]
    assert frame["member_type"].to_dict() == {"P001": "lead", "P002": "contact", "P003": "lead"}
    assert frame.loc["P001", "dynamics_id"] == "00000000-0000-0000-0000-000000000001"
    assert frame.loc["P003", "email"] == "p3@example.com"
    assert result.summary() == answered["summary"]
    assert answered["summary"]["qualified"] == 3
