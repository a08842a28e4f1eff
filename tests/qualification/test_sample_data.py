"""The sample-data generator: deterministic, realistic in shape, and consistent with the emulator seed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

import sample_data
from dynamics_campaign_sync.spec import load_spec
from sample_data.__main__ import main as sample_main
from sample_data.campaigns import CAMPAIGNS

PEOPLE, ACTIVITIES = 3_000, 60_000
SPEC_DIR = Path(__file__).resolve().parents[2] / "dags" / "campaigns"


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "source.db"
    assert sample_data.generate(path, people=PEOPLE, activities=ACTIVITIES, log=lambda _: None)
    return path


def table_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with sqlite3.connect(path) as connection:
        for table in ("people", "activities"):
            for row in connection.execute(f"SELECT * FROM {table} ORDER BY 1"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def query(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


def test_same_seed_same_data_other_seed_other_data(database, tmp_path):
    again = tmp_path / "again.db"
    sample_data.generate(again, people=PEOPLE, activities=ACTIVITIES, log=lambda _: None)
    assert table_digest(again) == table_digest(database)
    other = tmp_path / "other.db"
    sample_data.generate(other, people=PEOPLE, activities=ACTIVITIES, seed=7, log=lambda _: None)
    assert table_digest(other) != table_digest(database)


def test_an_identical_database_is_reused(database):
    messages: list[str] = []
    assert sample_data.generate(database, people=PEOPLE, activities=ACTIVITIES, log=messages.append) is False
    assert "kept" in messages[0]


def test_sizes_and_contract_columns(database):
    assert query(database, "SELECT count(*) FROM people") == [(PEOPLE,)]
    assert query(database, "SELECT count(*) FROM activities") == [(ACTIVITIES,)]
    columns = {row[1] for row in query(database, "PRAGMA table_info(activities)")}
    assert {"person_id", "activity_type", "occurred_at", "page_url", "form_name", "attributes"} <= columns
    indexes = {row[1] for row in query(database, "PRAGMA index_list(activities)")}
    assert {"ix_activities_type_time", "ix_activities_person"} <= indexes


def test_realistic_shapes(database):
    email_only = query(database, "SELECT avg(dynamics_id IS NULL) FROM people")[0][0]
    assert 0.02 < email_only < 0.07
    leads = query(database, "SELECT avg(member_type = 'lead') FROM people")[0][0]
    assert 0.6 < leads < 0.8
    types = dict(query(database, "SELECT activity_type, count(*) FROM activities GROUP BY 1"))
    assert set(types) == {
        "web_visit",
        "email_open",
        "email_click",
        "form_fill",
        "content_download",
        "webinar_attended",
    }
    assert types["web_visit"] > types["email_open"] > types["form_fill"]
    first, last = query(database, "SELECT min(occurred_at), max(occurred_at) FROM activities")[0]
    assert first >= "2025-06-01" and last < "2026-06-01"
    assert query(database, "SELECT count(*) FROM activities a JOIN people p USING (person_id) "
                           "WHERE a.occurred_at < p.created_at") == [(0,)]  # fmt: skip
    by_weekday = dict(
        query(database, "SELECT strftime('%w', occurred_at), count(*) FROM activities GROUP BY 1")
    )
    weekend = (by_weekday["0"] + by_weekday["6"]) / 2
    weekdays = sum(by_weekday[d] for d in "12345") / 5
    assert weekend < 0.5 * weekdays  # weekly seasonality
    titles = dict(query(database, "SELECT job_title, count(*) FROM people GROUP BY 1"))
    assert len(titles) > 20 and titles.get("Software Engineer", 0) > titles.get("Chief Executive Officer", 0)
    payload = query(
        database, "SELECT attributes FROM activities WHERE activity_type = 'webinar_attended' LIMIT 1"
    )
    assert {"webinar", "minutes"} <= set(json.loads(payload[0][0]))


def test_activity_ids_follow_time(database):
    rows = query(database, "SELECT occurred_at FROM activities ORDER BY activity_id")
    stamps = [row[0] for row in rows]
    assert stamps == sorted(stamps)


def test_emulator_seed_has_the_same_people_and_the_example_campaigns(database, tmp_path):
    seed_path = tmp_path / "seed.json"
    leads, contacts = sample_data.write_emulator_seed(seed_path, people=PEOPLE)
    seed = json.loads(seed_path.read_text())
    assert set(seed) == {"campaigns", "leads", "contacts"}
    assert (len(seed["leads"]), len(seed["contacts"])) == (leads, contacts)
    by_type = dict(
        query(database, "SELECT member_type, count(*) FROM people WHERE dynamics_id IS NOT NULL GROUP BY 1")
    )
    assert (leads, contacts) == (by_type["lead"], by_type["contact"])
    lead_ids = {
        row[0] for row in query(database, "SELECT dynamics_id FROM people WHERE member_type = 'lead'")
    }
    assert {lead["leadid"] for lead in seed["leads"]} == lead_ids - {None}
    lead = seed["leads"][0]
    assert set(lead) == {"leadid", "firstname", "lastname", "fullname", "emailaddress1", "jobtitle", "companyname",
                         "address1_country", "numberofemployees"}  # fmt: skip
    assert set(seed["contacts"][0]) == {
        "contactid",
        "firstname",
        "lastname",
        "fullname",
        "emailaddress1",
        "jobtitle",
    }
    campaign_ids = {c["campaignid"] for c in seed["campaigns"]}
    names = {c["name"] for c in seed["campaigns"]}
    for spec_path in SPEC_DIR.glob("*.yaml"):
        spec = load_spec(spec_path)
        assert spec.campaign.id in campaign_ids if spec.campaign.id else spec.campaign.name in names
    assert {(c["statecode"], c["statuscode"]) for c in seed["campaigns"]} >= {(0, 2), (1, 6)}
    assert all(c["istemplate"] is False for c in seed["campaigns"])


def test_campaign_ids_do_not_depend_on_the_seed():
    assert CAMPAIGNS[0].campaignid == "b22712db-81f0-5f87-b011-02755295b367"


def test_command_line(tmp_path, capsys):
    db = tmp_path / "cli.db"
    seed = tmp_path / "seed.json"
    code = sample_main(["--people", "200", "--activities", "1000", "--db", str(db), "--emulator-seed", str(seed),
                        "--end", "2026-03-01"])  # fmt: skip
    assert code == 0 and db.exists() and seed.exists()
    assert query(db, "SELECT max(occurred_at) < '2026-03-01' FROM activities") == [(1,)]
    assert "done in" in capsys.readouterr().out
    assert sample_data.describe(200, 1000, sample_data.DEFAULT_SEED, dt.datetime(2026, 3, 1, tzinfo=dt.UTC))[
        "end"
    ]
