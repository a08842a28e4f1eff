"""A small, fully known world for end-to-end sync tests: a source database, a matching Dynamics seed,
and a spec folder — so every assertion can name exactly who must be added or removed."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa

from dynamics_campaign_sync.qualification.contract import activities_table, people_table

NAMESPACE = uuid.UUID("7d444840-9dc0-11d1-b245-5ffdce74fad2")


def guid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


CAMPAIGN_ID = guid("campaign:active")
INACTIVE_CAMPAIGN_ID = guid("campaign:inactive")
PARTNER_LIST_ID = guid("list:partner")

#: source person id → (member type, Dynamics id or None, email, country)
PEOPLE = {
    "P1": ("lead", guid("lead:1"), "p1@example.com", "DE"),
    "P2": ("lead", guid("lead:2"), "p2@example.com", "DE"),
    "P3": ("lead", guid("lead:3"), "p3@example.com", "FR"),
    "P4": ("lead", guid("lead:4"), "p4@example.com", "DE"),
    "P5": ("lead", guid("lead:5"), "p5@example.com", "US"),
    "P6": ("contact", guid("contact:6"), "p6@example.com", "DE"),
    "P7": ("contact", guid("contact:7"), "p7@example.com", "FR"),
    "P8": ("lead", None, "newbie@example.com", "DE"),  # known only by email: created as a lead
}


def dynamics_id(person: str) -> str:
    return PEOPLE[person][1]  # type: ignore[return-value]


def seed_document() -> dict:
    leads = [{"leadid": d, "lastname": p, "emailaddress1": e} for p, (t, d, e, _) in PEOPLE.items()
             if t == "lead" and d]
    contacts = [{"contactid": d, "lastname": p, "emailaddress1": e} for p, (t, d, e, _) in PEOPLE.items()
                if t == "contact"]
    return {
        "campaigns": [
            {"campaignid": CAMPAIGN_ID, "name": "E2E Launch", "statecode": 0, "statuscode": 2, "istemplate": False},
            {"campaignid": INACTIVE_CAMPAIGN_ID, "name": "E2E Retired", "statecode": 1, "statuscode": 6,
             "istemplate": False},
        ],
        "leads": leads,
        "contacts": contacts,
        # Someone else's list in the same campaign, holding P3 (who does not qualify at first).
        "lists": [{"listid": PARTNER_LIST_ID, "listname": "Partner referrals", "type": False,
                   "createdfromcode": 4, "lockstatus": False, "statecode": 0}],
        "listmembers": [{"listmemberid": guid("lm:partner:3"), "_listid_value": PARTNER_LIST_ID,
                         "_entityid_value": dynamics_id("P3"), "entitytype": "lead"}],
        "campaignlists": [{"campaignid": CAMPAIGN_ID, "listid": PARTNER_LIST_ID}],
    }


def write_source(path: Path, countries: dict[str, str] | None = None, people: set[str] | None = None,
                 extra_rows: list[dict] = ()) -> str:
    """(Re)write the source database; ``countries`` overrides people's country, ``people`` keeps only
    those people, ``extra_rows`` are more people rows as they are. Returns its URL."""
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    people_rows = people_table(metadata)
    activities_table(metadata)  # created empty: these specs only use demographics
    metadata.drop_all(engine)
    metadata.create_all(engine)
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = []
    for person, (member_type, dynamics, email, country) in PEOPLE.items():
        if people is not None and person not in people:
            continue
        rows.append({"person_id": person, "member_type": member_type, "dynamics_id": dynamics, "email": email,
                     "last_name": person, "country": (countries or {}).get(person, country),
                     "created_at": when, "updated_at": when})
    rows.extend({"created_at": when, "updated_at": when, **row} for row in extra_rows)
    if rows:
        with engine.begin() as connection:
            connection.execute(people_rows.insert(), rows)
    engine.dispose()
    return url


SPEC = """
key: {key}
title: E2E German audience
description: Everyone in Germany.
owner: e2e-tests
tags: [e2e]
campaign:
  id: {campaign_id}
member_types: [lead, contact]
schedule:
  cron: "0 6 * * *"
  timezone: UTC
  start_date: 2026-01-01
rules:
  filters:
    - type: demographic
      field: country
      operator: is
      value: de
  logic: all
qualification: every_time
removal: mirror
guard:
  max_adds: 100
"""


DEMO = "Demo Request"
TRIGGER_SPEC = """
key: {key}
title: Demo requests from Germany
owner: e2e-tests
campaign:
  id: {campaign_id}
member_types: {member_types}
schedule: null
rules:
  filters:
    - {{type: demographic, field: country, operator: is, value: de}}
    - type: behaviour
      activity: form_fill
      where: [{{field: form_name, operator: is, value: {demo}}}]
      window: {{in_past_days: 14}}
  logic: all
guard: {{max_adds: 100000}}
trigger:
  activities:
    - activity: form_fill
      where: [{{field: form_name, operator: is, value: {demo}}}]
  poll_seconds: {poll}
{extra}
"""


def insert_activities(engine: sa.Engine, rows: Iterable[tuple[str, str, str | None]]) -> None:
    """Activities ``(person, activity_type, form_name)`` happening now, in one transaction; the database numbers
    them (the trigger's watermark). Timestamps as the source's text (SQLite)."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO activities (person_id, activity_type, occurred_at, form_name) VALUES (:p, :t, :o, :f)"),
            [{"p": p, "t": t, "o": now, "f": f} for p, t, f in rows])


def trigger_spec(key: str, *, member_types: str = "[lead, contact]", poll: float = 0.05, extra: str = "") -> str:
    """A trigger-only spec: German people who asked for a demo, woken by demo requests (``extra``: more lines of
    its ``trigger`` section)."""
    return TRIGGER_SPEC.format(key=key, campaign_id=CAMPAIGN_ID, member_types=member_types, demo=DEMO, poll=poll,
                               extra=extra)


def write_specs(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "e2e_germany.yaml").write_text(SPEC.format(key="e2e_germany", campaign_id=CAMPAIGN_ID))
    (folder / "e2e_retired.yaml").write_text(SPEC.format(key="e2e_retired", campaign_id=INACTIVE_CAMPAIGN_ID))


def connections(emulator, ledger: Path | str, source_url: str) -> dict[str, str]:
    """Airflow connections for the emulator, the ledger (a SQLite file's path, or any ledger URL) and the source."""
    from support import emulator_connection

    ledger_url = f"sqlite:///{ledger}" if isinstance(ledger, Path) else ledger
    return {
        "AIRFLOW_CONN_DYNAMICS_DEFAULT": json.dumps(emulator_connection(emulator)),
        "AIRFLOW_CONN_CAMPAIGN_SYNC_LEDGER": json.dumps({"conn_type": "generic", "extra": {"url": ledger_url}}),
        "AIRFLOW_CONN_CAMPAIGN_SYNC_SOURCE": json.dumps({"conn_type": "generic", "extra": {"url": source_url}}),
    }


# -- people from Dynamics itself (source.people: dataverse) ---------------------------------------------------

#: The country Dynamics holds in ``address1_country`` for each source country code.
COUNTRY_NAMES = {"DE": "Germany", "FR": "France", "US": "United States"}
DYNAMICS_PEOPLE_KEY = "e2e_dynamics_people"

#: The German audience of ``SPEC``, its people read from Dynamics (paged two at a time) instead of the source.
DYNAMICS_PEOPLE_SPEC = (SPEC.replace("\nrules:", "\nsource:\n  people: dataverse\n  page_size: 2\nrules:")
                        .replace("field: country", "field: address1_country").replace("value: de", "value: germany"))
assert DYNAMICS_PEOPLE_SPEC.count("dataverse") == DYNAMICS_PEOPLE_SPEC.count("address1_country") == 1


def dynamics_people_seed() -> dict:
    """The seed with each lead's and contact's country in Dynamics, created before the first interval."""
    document = seed_document()
    for record in [*document["leads"], *document["contacts"]]:
        country = PEOPLE[record["lastname"]][3]
        record.update(address1_country=COUNTRY_NAMES[country], createdon="2026-01-01T00:00:00Z")
    return document


def write_dynamics_people_spec(folder: Path) -> None:
    """The folder holds only the Dynamics-people spec (on the campaign the other specs use)."""
    for old in folder.glob("*.yaml"):
        old.unlink()
    (folder / f"{DYNAMICS_PEOPLE_KEY}.yaml").write_text(
        DYNAMICS_PEOPLE_SPEC.format(key=DYNAMICS_PEOPLE_KEY, campaign_id=CAMPAIGN_ID))
