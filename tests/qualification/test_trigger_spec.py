"""The spec's ``trigger`` section (validation, clear errors) and the new-activity reader behind trigger campaigns,
on a real SQLite source: id and ingestion-timestamp watermarks, the run limit, ties at the limit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_spec import ONE_FILTER, VALID, problems, write

from dynamics_campaign_sync.qualification.contract import activities_table
from dynamics_campaign_sync.qualification.new_activity import NewActivityReader
from dynamics_campaign_sync.spec import load_spec
from dynamics_campaign_sync.spec.models import SourceConfig, Trigger

DEMO_TRIGGER = """\
trigger:
  activities:
    - activity: form_fill
      where: [{field: form_name, operator: is, value: Demo Request}]
"""


def spec_text(trigger: str = DEMO_TRIGGER, schedule: str | None = None) -> str:
    text = VALID.format(filters=ONE_FILTER, logic="all") + trigger
    if schedule is not None:
        text = text.replace('schedule: {cron: "0 6 * * *", timezone: Europe/Berlin, start_date: 2026-01-01}',
                            f"schedule: {schedule}")
    return text


def test_a_trigger_section_with_defaults(tmp_path):
    spec = load_spec(write(tmp_path, spec_text()))
    assert spec.trigger is not None and spec.trigger.activity_types == ("form_fill",)
    assert (spec.trigger.events, spec.trigger.watermark, spec.trigger.watermark_kind) == (
        "source_table", "activity_id", "id")
    assert spec.period == ("0 6 * * *", "Europe/Berlin")
    assert "**Trigger:** woken by `form_fill` where form_name is 'Demo Request'" in spec.doc_md()


def test_trigger_only_spec_has_no_schedule(tmp_path):
    spec = load_spec(write(tmp_path, spec_text(schedule="null")))
    assert spec.schedule is None and spec.period == ("0 0 * * *", "UTC")
    assert "trigger-only" in spec.doc_md()


@pytest.mark.parametrize(("trigger", "schedule", "message"), [
    ("", "null", "schedule is null: give a schedule, or a trigger section for a trigger-only campaign"),
    ("trigger: {activities: []}\n", None, "trigger.activities: Tuple should have at least 1 item"),
    ("trigger: {activities: [{activity: form_fill}], events: queue}\n", None,
     "trigger: events: queue needs a queue section (scheme and options)"),
    ("trigger: {activities: [{activity: form_fill}], queue: {scheme: kafka}}\n", None,
     "trigger: a queue section is only read with events: queue"),
    ("trigger: {activities: [{activity: form_fill}], events: kafka}\n", None, "trigger.events: Input should be"),
    ("trigger: {activities: [{activity: form_fill}], watermark_kind: uuid}\n", None,
     "trigger.watermark_kind: Input should be 'id' or 'timestamp'"),
    ("trigger: {activities: [{activity: form_fill, where: [{field: form_name, operator: between, value: 3}]}]}\n",
     None, "trigger.activities[1].where[1].value: between needs a list of two values"),
])
def test_trigger_errors_are_clear(tmp_path, trigger, schedule, message):
    lines = "\n".join(problems(write(tmp_path, spec_text(trigger, schedule))))
    assert message in lines, lines


START = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


@pytest.fixture
def activities(tmp_path: Path):
    """A SQLite activities table with an ingestion-time column beside the contract's id."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    metadata = sa.MetaData()
    table = activities_table(metadata)
    table.append_column(sa.Column("ingested_at", sa.DateTime(timezone=True)))
    metadata.create_all(engine)

    def insert(*rows: tuple[str, str, str | None, int]) -> None:
        """``(person, type, form_name, seconds after START)``: occurred and ingested then."""
        with engine.begin() as connection:
            connection.execute(table.insert(), [
                {"person_id": p, "activity_type": t, "form_name": f,
                 "occurred_at": START + dt.timedelta(seconds=s), "ingested_at": START + dt.timedelta(seconds=s)}
                for p, t, f, s in rows])

    yield engine, insert
    engine.dispose()


def reader(engine, **trigger) -> NewActivityReader:
    spec = Trigger.model_validate({"activities": [{"activity": "form_fill", "where": [
        {"field": "form_name", "operator": "is", "value": "Demo Request"}]}], **trigger})
    return NewActivityReader(engine, SourceConfig(), spec)


def test_id_watermark_reads_matching_people_up_to_the_limit(activities):
    engine, insert = activities
    insert(("A", "form_fill", "Demo Request", 1), ("B", "form_fill", "Newsletter", 2), ("C", "web_visit", None, 3),
           ("D", "form_fill", "demo request", 4))
    new = reader(engine).read(None)
    assert (new.until, new.rows_read, new.people, new.matching_rows) == (4, 3, frozenset({"A", "D"}), 2)
    assert new.event_time == START + dt.timedelta(seconds=4)
    assert new.first_event_time == START + dt.timedelta(seconds=1)
    assert not reader(engine).read(4).anything
    first = reader(engine, max_activities_per_run=1).read(None)
    assert (first.until, first.people) == (1, frozenset({"A"}))
    assert reader(engine, max_activities_per_run=1).read(first.until).until == 2


def test_timestamp_watermark_reads_every_tie_at_the_limit(activities):
    engine, insert = activities
    insert(("A", "form_fill", "Demo Request", 1), ("B", "form_fill", "Demo Request", 1),
           ("C", "form_fill", "Demo Request", 1), ("D", "form_fill", "Demo Request", 2))
    timestamps = reader(engine, watermark="ingested_at", watermark_kind="timestamp", max_activities_per_run=2)
    first = timestamps.read(None)
    assert first.people == frozenset({"A", "B", "C"}) and first.until == START + dt.timedelta(seconds=1)
    second = timestamps.read(first.until)
    assert second.people == frozenset({"D"}) and second.until == START + dt.timedelta(seconds=2)


def test_a_new_campaign_starts_with_the_last_hour(activities):
    engine, insert = activities
    insert(("A", "form_fill", "Demo Request", 0), ("B", "form_fill", "Demo Request", 7200))
    ids = reader(engine)
    assert ids.since(None, START + dt.timedelta(hours=2, minutes=30)) == 1
    assert ids.since(7, START) == 7
