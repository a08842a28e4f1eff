"""Source tables with one or two bad rows of every kind (see ``qualification.invalid_rows``), shared by the
qualification, sync, ledger and end-to-end tests."""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd
import sqlalchemy as sa
from source_tables import fit_tables, fit_value

from dynamics_campaign_sync.qualification.contract import activities_table, people_table

LONG_ID = "X" * 401  # one over the contract's 400 characters
CREATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
VALID = {"member_type": "lead", "country": "DE", "employees": "50", "renewal_date": "2026-07-01",
         "created_at": CREATED, "updated_at": CREATED}
#: What the evaluation of a spec comparing ``country``, ``employees`` and ``renewal_date``, with a
#: web_visit filter, reports on :func:`bad_people` and :func:`bad_activities`: count and example ids by kind.
EXPECTED_KINDS = {
    "null_person_id": (2, {"dynamics_id=guid-of-null", "dynamics_id=guid-of-empty"}),
    "person_id_too_long": (1, {"X" * 100}),
    "duplicate_person_id": (2, {"D1"}),
    "unknown_member_type": (2, {"M1", "M2"}),
    "not_numeric:employees": (1, {"N1"}),
    "not_a_date:renewal_date": (1, {"T1"}),
    "activity_null_person_id": (3, {"activity_id=2", "activity_id=3", "activity_id=4"}),
}


def person(person_id: str | None, **values) -> dict:
    """A people row that qualifies for the specs of these tests unless ``values`` say otherwise."""
    dynamics = values.pop("dynamics_id", str(uuid.uuid5(uuid.NAMESPACE_URL, person_id)) if person_id else None)
    return {**VALID, "person_id": person_id, "dynamics_id": dynamics, "email": None, **values}


def bad_people(good: dict[str, str] | None = None) -> pd.DataFrame:
    """Good people (``good``: person id → member type; default ten leads and a contact), a good person with
    two versions (V1), and one or two rows of each bad kind."""
    good = good or {**{f"P{n:02d}": "lead" for n in range(1, 11)}, "C1": "contact"}
    rows = [person(person_id, member_type=member_type) for person_id, member_type in good.items()]
    rows += [
        person("V1", country="FR", updated_at=CREATED - dt.timedelta(days=200)), person("V1"),  # versions: fine
        person(None, dynamics_id="guid-of-null"),  # NULL person id
        person("", dynamics_id="guid-of-empty"),  # empty person id
        person(LONG_ID),
        person("D1"), person("D1", country="FR"),  # the same version twice: which country?
        person("M1", member_type="Lead"), person("M2", member_type=None),
        person("N1", employees="n/a"),  # text in a column a number filter compares
        person("T1", renewal_date="soon"),  # text in a column a date filter compares
        person("B1", employees=" "),  # blank is missing, not invalid: it just does not match
    ]
    return pd.DataFrame(rows)


def bad_activities(end: dt.datetime, visitor: str = "P01") -> pd.DataFrame:
    """One web visit of ``visitor`` and three without a person id in the 30 days before ``end``, and one
    without a person id long before."""
    visit = {"activity_type": "web_visit", "occurred_at": end - dt.timedelta(days=2)}
    rows = [{"activity_id": 1, "person_id": visitor, **visit}, {"activity_id": 2, "person_id": None, **visit},
            {"activity_id": 3, "person_id": None, **visit}, {"activity_id": 4, "person_id": "", **visit},
            {"activity_id": 5, "person_id": None, "activity_type": "web_visit",
             "occurred_at": end - dt.timedelta(days=90)}]
    return pd.DataFrame(rows)


def write_tables(engine: sa.Engine, people: pd.DataFrame, activities: pd.DataFrame) -> None:
    """The contract's tables without the NOT NULL and key constraints a real source may lack, plus two text
    columns (``employees``, ``renewal_date``) and the ``(person_id)`` index; existing ones are replaced."""
    contract, metadata = sa.MetaData(), sa.MetaData()
    loose = [sa.Column(column.name, column.type) for column in people_table(contract).columns]
    people_rows = sa.Table("people", metadata, *loose, sa.Column("employees", sa.Text),
                           sa.Column("renewal_date", sa.Text))
    loose = [sa.Column(column.name, column.type) for column in activities_table(contract).columns]
    activity_rows = sa.Table("activities", metadata, *loose)
    sa.Index("ix_activities_person", activity_rows.c.person_id)
    dialect = engine.dialect.name
    fit_tables(metadata, dialect)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as connection:
        for table, frame in ((people_rows, people), (activity_rows, activities)):
            records = [{key: fit_value(value, dialect) for key, value in row.items()}
                       for row in frame.astype(object).where(frame.notna(), None).to_dict("records")]
            if records:
                connection.execute(table.insert(), records)


def bad_rows_spec(campaign_id: str, **fields) -> dict:
    """The spec document the bad-row tests sync: every filter kind that orders values, so each kind is met."""
    return {
        "key": "bad_rows", "title": "Bad rows", "owner": "tests@example.com", "campaign": {"id": campaign_id},
        "schedule": {"cron": "0 6 * * *", "start_date": "2026-01-01"},
        "rules": {"filters": [
            {"type": "demographic", "field": "country", "operator": "is", "value": "de"},
            {"type": "demographic", "field": "employees", "operator": "gte", "value": 10},
            {"type": "demographic", "field": "renewal_date", "operator": "gt", "value": "2026-01-01"},
            {"type": "behaviour", "activity": "web_visit", "window": {"in_past_days": 30}},
        ], "logic": "(1 and 2 and 3) or 4"},
        **fields,
    }
