"""People from Dynamics itself: the Dataverse people source against the emulator over HTTPS with real MSAL.

The reference is local evaluation of the very same records (a ``DataFrameSource`` over what the emulator holds):
pushdown, paging and change-tracked reads must qualify exactly the people it qualifies.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from qualification_helpers import END, START, make_spec

from dynamics_campaign_sync.qualification import DataFrameSource, SqlSource, evaluate
from dynamics_campaign_sync.qualification.contract import activities_table, people_table
from dynamics_campaign_sync.qualification.dataverse_source import DataverseSource
from dynamics_campaign_sync.qualification.source_factory import build_source
from dynamics_campaign_sync.spec import SpecError, load_spec
from support import client_for

OWNERS = [str(uuid.UUID(int=1000 + i)) for i in range(3)]
TITLES = ["CTO", "cto", "Chief Technology Officer", "VP Engineering", "Student", "Marketing Intern", "O'Brien & Co",
          "Directeur Général", "100% Owner", "  ", None, "Head of Data_Platform"]
COUNTRIES = ["United Kingdom", "Germany", "France", "united kingdom", None, "Deutschland"]
COLUMNS = ["jobtitle", "address1_country", "numberofemployees", "industrycode", "leadsourcecode", "donotemail",
           "_ownerid_value", "createdon"]


def _person(kind: str, i: int, rng: random.Random) -> dict[str, Any]:
    record = {f"{kind}id": str(uuid.UUID(int=(1 if kind == "lead" else 2) * 10**6 + i)),
              "lastname": f"{kind} {i}", "emailaddress1": f"{kind}{i}@example.com" if i % 9 else None,
              "jobtitle": rng.choice(TITLES), "address1_country": rng.choice(COUNTRIES),
              "donotemail": rng.random() < 0.3, "_ownerid_value": rng.choice(OWNERS),
              "createdon": f"2026-0{rng.randint(1, 6)}-{rng.randint(10, 28)}T{rng.randint(0, 23):02d}:00:00Z"}
    if kind == "lead":
        record.update(numberofemployees=rng.choice([5, 50, 250, 1000, 5000, None]),
                      industrycode=rng.choice([1, 7, 16, None]), leadsourcecode=rng.choice([1, 8, 10, None]))
    return record


def _seed(rng: random.Random, leads: int = 90, contacts: int = 30) -> dict[str, list[dict[str, Any]]]:
    return {"leads": [_person("lead", i, rng) for i in range(leads)],
            "contacts": [_person("contact", i, rng) for i in range(contacts)]}


def _reference(emulator, spec) -> set[str]:
    """Who qualifies when every filter is evaluated locally over the records the emulator holds now."""
    frames = []
    with client_for(emulator) as client:
        for kind in spec.member_types:
            select = [f"{kind}id", "emailaddress1", *(c for c in COLUMNS if kind == "lead" or c not in (
                "numberofemployees", "industrycode", "leadsourcecode"))]
            records = list(client.iter_records(f"{kind}s", **{"$select": ",".join(select)}))
            frame = pd.DataFrame.from_records(records)
            frame = frame.assign(person_id=frame[f"{kind}id"], dynamics_id=frame[f"{kind}id"], member_type=kind,
                                 email=frame["emailaddress1"], created_at=frame["createdon"])
            frames.append(frame.drop(columns=["@odata.etag"]))
    return set(evaluate(spec, DataFrameSource(pd.concat(frames, ignore_index=True)), START, END).qualified_ids)


def _qualified(spec, source) -> set[str]:
    return set(evaluate(spec, source, START, END).qualified_ids)


@pytest.fixture
def seeded(fresh_emulator):
    fresh_emulator.reset(_seed(random.Random(10)))
    return fresh_emulator


DEMOGRAPHIC_CASES = [
    ([{"field": "jobtitle", "operator": "is", "value": "cto"}], "all", ["lead"]),
    ([{"field": "jobtitle", "operator": "in", "value": ["CTO", "VP Engineering", "O'Brien & Co"]}], "all", None),
    ([{"field": "jobtitle", "operator": "contains", "value": ["chief", "100%", "data_"]}], "all", None),
    ([{"field": "jobtitle", "operator": "starts_with", "value": "Direct"},
      {"field": "jobtitle", "operator": "ends_with", "value": "général"}], "1 or 2", None),
    ([{"field": "jobtitle", "operator": "not_contains", "value": ["student", "intern"]},
      {"field": "address1_country", "operator": "is_not", "value": "Germany"}], "all", None),
    ([{"field": "numberofemployees", "operator": "gte", "value": 250},
      {"field": "industrycode", "operator": "in", "value": [7, 16]},
      {"field": "leadsourcecode", "operator": "is_not", "value": 10}], "1 and (2 or not 3)", ["lead"]),
    ([{"field": "numberofemployees", "operator": "between", "value": [50, 1000]},
      {"field": "jobtitle", "operator": "is_empty"}], "1 and not 2", ["lead"]),
    ([{"field": "donotemail", "operator": "is", "value": False},
      {"field": "_ownerid_value", "operator": "in", "value": [OWNERS[0].upper(), OWNERS[2]]}], "all", None),
    ([{"field": "createdon", "operator": "between", "value": ["2026-02-10", "2026-04-20"]},
      {"field": "createdon", "operator": "in_past", "value": 30}], "1 or 2", None),
    ([{"field": "address1_country", "operator": "is_not_empty"},
      {"field": "numberofemployees", "operator": "is_empty"}], "1 and 2", ["lead"]),
]


@pytest.mark.parametrize(("filters", "logic", "member_types"), DEMOGRAPHIC_CASES)
def test_pushdown_qualifies_the_people_local_evaluation_qualifies(seeded, filters, logic, member_types) -> None:
    spec = make_spec([{"type": "demographic", **f} for f in filters], logic,
                     member_types=member_types or ["lead", "contact"],
                     source={"people": "dataverse", "change_tracking": False})
    with client_for(seeded) as client:
        source = DataverseSource.for_spec(spec, client, None)
        qualified = _qualified(spec, source)
    assert qualified == _reference(seeded, spec)
    assert qualified  # every case qualifies someone, so equality says something


def test_pushdown_reads_fewer_people_than_the_table_holds(seeded) -> None:
    spec = make_spec([{"type": "demographic", "field": "numberofemployees", "operator": "gte", "value": 1000}],
                     member_types=["lead"], source={"people": "dataverse", "change_tracking": False})
    with client_for(seeded) as client:
        source = DataverseSource.for_spec(spec, client, None)
        qualified = _qualified(spec, source)
    assert source.stats.reads == {"leads": "filtered"}
    assert source.stats.records == len(qualified) < 90  # created before the interval end, 1,000 or more


def test_a_full_read_pages_with_maxpagesize(seeded) -> None:
    spec = make_spec([{"type": "demographic", "field": "jobtitle", "operator": "not_in", "value": ["Student"]}],
                     member_types=["lead"], source={"people": "dataverse", "change_tracking": False,
                                                    "page_size": 7})
    seeded.clear_requests_log()
    with client_for(seeded) as client:
        source = DataverseSource.for_spec(spec, client, None)
        qualified = _qualified(spec, source)
    created = sum(1 for lead in _seed(random.Random(10))["leads"] if lead["createdon"] < "2026-06-01")
    assert source.stats.reads == {"leads": "full"} and source.stats.records == created < 90
    assert source.stats.pages == -(-created // 7)
    assert qualified == _reference(seeded, spec)


def _change_people(emulator) -> None:
    """Edits, deletions and new records, as people work in Dynamics between two runs."""
    with client_for(emulator) as client:
        for i in range(0, 90, 10):
            client.transport.request("PATCH", f"leads({uuid.UUID(int=10**6 + i)})",
                                     json_body={"jobtitle": "CTO", "numberofemployees": 5000})
        for i in range(1, 90, 15):
            client.transport.request("DELETE", f"leads({uuid.UUID(int=10**6 + i)})")
        client.transport.request("DELETE", f"contacts({uuid.UUID(int=2 * 10**6 + 3)})")
        client.transport.request("PATCH", f"contacts({uuid.UUID(int=2 * 10**6 + 4)})", json_body={"jobtitle": "CTO"})
    emulator.seed({"leads": [_person("lead", 200 + i, random.Random(i)) | {"jobtitle": "cto"} for i in range(5)]})


TRACKED_SPEC = dict(filters=[{"type": "demographic", "field": "jobtitle", "operator": "contains", "value": "cto"},
                             {"type": "demographic", "field": "address1_country", "operator": "is_not",
                              "value": "France"}])


def test_change_tracked_reads_give_the_people_of_a_full_read(seeded, ledger_factory) -> None:
    ledger = ledger_factory()
    ledger.migrate()
    spec = make_spec(TRACKED_SPEC["filters"], source={"people": "dataverse"})
    with client_for(seeded) as client:
        first = DataverseSource.for_spec(spec, client, ledger)
        assert _qualified(spec, first) == _reference(seeded, spec)
        assert first.stats.reads == {"leads": "full", "contacts": "full"} and first.stats.records == 120

        _change_people(seeded)
        second = DataverseSource.for_spec(spec, client, ledger)
        after = _qualified(spec, second)
        assert second.stats.reads == {"leads": "delta", "contacts": "delta"}
        assert second.stats.records == 9 + 5 + 1  # changed and new records only; deletions are ids

        full = DataverseSource.for_spec(spec.model_copy(update={"key": "another_key"}), client, ledger)
        assert after == _qualified(spec, full) == _reference(seeded, spec)
        assert full.stats.reads == {"leads": "full", "contacts": "full"}

        unchanged = DataverseSource.for_spec(spec, client, ledger)
        assert _qualified(spec, unchanged) == after and unchanged.stats.records == 0
    deleted = str(uuid.UUID(int=10**6 + 1))
    assert deleted not in ledger.people_snapshot("test_campaign/leads").records


def test_a_void_delta_link_reads_everything_again(seeded, ledger_factory) -> None:
    ledger = ledger_factory()
    ledger.migrate()
    spec = make_spec(TRACKED_SPEC["filters"], member_types=["lead"], source={"people": "dataverse"})
    with client_for(seeded) as client:
        _qualified(spec, DataverseSource.for_spec(spec, client, ledger))
        seeded.reset(_seed(random.Random(11), leads=40))
        again = DataverseSource.for_spec(spec, client, ledger)
        assert _qualified(spec, again) == _reference(seeded, spec)
    assert again.stats.reads == {"leads": "full"} and again.stats.records == 40


def test_a_spec_with_other_columns_starts_its_snapshot_over(seeded, ledger_factory) -> None:
    ledger = ledger_factory()
    ledger.migrate()
    spec = make_spec(TRACKED_SPEC["filters"], member_types=["lead"], source={"people": "dataverse"})
    wider = make_spec([*TRACKED_SPEC["filters"], {"type": "demographic", "field": "numberofemployees",
                                                 "operator": "gt", "value": 100}],
                      member_types=["lead"], source={"people": "dataverse"})
    with client_for(seeded) as client:
        _qualified(spec, DataverseSource.for_spec(spec, client, ledger))
        source = DataverseSource.for_spec(wider, client, ledger)
        assert _qualified(wider, source) == _reference(seeded, wider)
    assert source.stats.reads == {"leads": "full"}


def _activity_store(path: Path, seed: dict[str, list[dict[str, Any]]], join_on: str) -> str:
    """A SQL source whose people name Dynamics leads by id or email, and their web visits."""
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    people, activities = people_table(metadata), activities_table(metadata)
    metadata.create_all(engine)
    leads = seed["leads"][:30]
    with engine.begin() as connection:
        connection.execute(people.insert(), [
            {"person_id": f"W{i}", "member_type": "lead", "dynamics_id": lead["leadid"].upper()
             if join_on == "dynamics_id" else None, "email": (lead["emailaddress1"] or "").upper() or None}
            for i, lead in enumerate(leads)])
        connection.execute(activities.insert(), [
            {"activity_id": n, "person_id": f"W{i}", "activity_type": "web_visit", "page_url": "/pricing",
             "occurred_at": END - pd.Timedelta(days=1 + n % 5)}
            for n, i in enumerate(j for j in range(30) for _ in range(j % 4))])
    engine.dispose()
    return url


@pytest.mark.parametrize("join_on", ["dynamics_id", "email"])
def test_behaviour_from_sql_joins_the_dynamics_people(fresh_emulator, ledger_factory, tmp_path, join_on) -> None:
    seed = _seed(random.Random(12))
    fresh_emulator.reset(seed)
    ledger = ledger_factory()
    ledger.migrate()
    spec = make_spec([{"type": "demographic", "field": "jobtitle", "operator": "is_not_empty"},
                      {"type": "behaviour", "activity": "web_visit", "min_times": 2,
                       "where": [{"field": "page_url", "operator": "contains", "value": "pricing"}],
                       "window": {"in_past_days": 30}}],
                     member_types=["lead"], source={"people": "dataverse", "join_on": join_on})
    url = _activity_store(tmp_path / "activities.db", seed, join_on)
    with client_for(fresh_emulator) as client:
        source = build_source(spec, sql=lambda: SqlSource(url), client=lambda: client, snapshots=lambda: ledger)
        result = evaluate(spec, source, START, END)
    lead_of = {f"W{i}": lead for i, lead in enumerate(seed["leads"][:30])}
    expected = {lead["leadid"] for i, lead in ((int(w[1:]), lead) for w, lead in lead_of.items())
                if i % 4 >= 2 and (lead["jobtitle"] or "").strip() and lead["createdon"] < "2026-06-01"
                and (join_on == "dynamics_id" or lead["emailaddress1"])}
    assert set(result.qualified_ids) == expected and expected
    some = sorted(expected)[0]
    assert result.reasons_for(some)["matched"] == [1, 2]


def test_dataverse_source_settings_are_validated_with_file_and_field(tmp_path) -> None:
    path = tmp_path / "dv.yaml"
    path.write_text("""
key: dv
title: Dataverse people
owner: me@example.com
campaign: {name: Test}
schedule: {cron: "0 6 * * *", start_date: 2026-01-01}
member_types: [lead, contact]
source: {people: dataverse, entity: leads, page_size: 9000}
rules:
  filters:
    - {type: demographic, field: jobtitle, operator: is, value: CTO}
""")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert f"{path}: source.page_size:" in message
    path.write_text(path.read_text().replace(", page_size: 9000", ""))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert f"{path}: source: entity leads holds leads only, but member_types is lead, contact" in str(caught.value)
    path.write_text(path.read_text().replace("people: dataverse, ", "").replace("member_types: [lead, contact]\n",
                                                                                ""))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert f"{path}: source: entity goes only with people: dataverse" in str(caught.value)
