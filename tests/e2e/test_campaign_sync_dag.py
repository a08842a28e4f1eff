"""Campaign sync DAGs end to end: Airflow's dag.test() runs every task for real against the emulator,
a SQLite ledger and a SQLite source; membership is checked through the Web API."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
import sync_world as world

from dynamics_campaign_sync.dataverse import MemberType
from dynamics_campaign_sync.ledger import Ledger

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
DAY = [dt.datetime(2026, 3, d, 6, tzinfo=dt.UTC) for d in range(1, 8)]
WRITE_METHODS = {"POST", "PATCH", "DELETE", "PUT"}


class SyncWorld:
    def __init__(self, emulator, tmp: Path, monkeypatch, ledger_url: str | None = None) -> None:
        self.emulator = emulator
        self.source_path = tmp / "source.db"
        self.ledger_path = tmp / "ledger.db"
        self.ledger_url = ledger_url or f"sqlite:///{self.ledger_path}"
        self.source_url = world.write_source(self.source_path)
        self.events_before = newest_asset_event_id()
        emulator.reset(world.seed_document())
        world.write_specs(tmp / "specs")
        monkeypatch.setenv("CAMPAIGN_SYNC_SPECS_DIR", str(tmp / "specs"))
        for name, value in world.connections(emulator, self.ledger_url, self.source_url).items():
            monkeypatch.setenv(name, value)

    def dag(self, key: str, module: str = "campaign_sync.py", dag_id: str | None = None):
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(REPO / "dags" / module))
        assert not bag.import_errors, bag.import_errors
        dag = bag.get_dag(dag_id or f"campaign_sync__{key}")
        for task in dag.tasks:  # retries stay on; the waits between them do not
            task.retry_delay = dt.timedelta(0)
            task.retry_exponential_backoff = False
        return dag

    def run(self, key: str = "e2e_germany", day: int = 0, conf: dict | None = None, *, same_run_id: bool = False):
        """One run of the interval ending on ``DAY[day]``; with ``same_run_id`` every call executes the run with
        the same id again (like clearing it in the UI), else each call is a new manual run."""
        return self.dag(key).test(logical_date=DAY[day], run_conf=conf,
                                  run_after=DAY[day] if same_run_id else None)

    def events(self, name: str) -> list[dict]:
        return asset_events(name, self.events_before)

    def ledger(self) -> Ledger:
        return Ledger.from_url(self.ledger_url)

    def client(self):
        from support import client_for

        return client_for(self.emulator)

    def owned_members(self) -> dict[str, set[str]]:
        """Members of our lists that are associated with the campaign — read through the Web API."""
        with self.client() as client:
            associated = {lst.id: lst for lst in client.campaign_lists(world.CAMPAIGN_ID)}
            owned = {o.member_type: o.list_id for o in self.ledger().owned_lists(world.CAMPAIGN_ID)}
            assert set(owned.values()) <= set(associated), "an owned list is not associated with the campaign"
            return {mt: set(client.iter_list_member_ids(list_id)) for mt, list_id in owned.items()}

    def write_requests(self, since: int | None = None) -> list[dict]:
        return [r for r in self.emulator.requests_log(since)
                if r["path"].startswith("/api/data/") and r["method"] in WRITE_METHODS]

    def last_request_id(self) -> int:
        log = self.emulator.requests_log()
        return log[-1]["id"] if log else 0

    def lead_id_by_email(self, email: str) -> str:
        with self.client() as client:
            return client.find_people_by_email(MemberType.LEAD, [email])[email].id


@pytest.fixture
def sync_world(airflow_db, fresh_emulator, tmp_path, monkeypatch, ledger_url) -> SyncWorld:
    """The world on each ledger database of the suite (SQLite, PostgreSQL)."""
    return SyncWorld(fresh_emulator, tmp_path, monkeypatch, ledger_url)


def task_states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def asset_events(name: str, after_id: int = 0) -> list[dict]:
    """Asset events in Airflow's metadata DB (the session shares one DB: tests pass ``after_id``)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.execute(
            sa.select(AssetEvent.id, AssetEvent.extra, AssetEvent.source_run_id)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == name, AssetEvent.id > after_id)
            .order_by(AssetEvent.id)
        ).all()
    return [{"id": event_id, "extra": extra, "run_id": run_id} for event_id, extra, run_id in rows]


def newest_asset_event_id() -> int:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.scalar(sa.select(sa.func.max(AssetEvent.id))) or 0


ADDED = "dynamics_campaign.e2e_germany.added"
REMOVED = "dynamics_campaign.e2e_germany.removed"
FIRST_LEADS = {world.dynamics_id(p) for p in ("P1", "P2", "P4")}


def test_first_run_adds_exactly_the_qualified_and_an_unchanged_rerun_writes_nothing(sync_world):
    first = sync_world.run(day=0)
    assert first.state == "success", task_states(first)

    newbie = sync_world.lead_id_by_email("newbie@example.com")  # created, as Marketo syncs new people over
    members = sync_world.owned_members()
    assert members == {"lead": FIRST_LEADS | {newbie}, "contact": {world.dynamics_id("P6")}}
    events = sync_world.events(ADDED)
    assert len(events) == 1 and events[0]["extra"]["count"] == 5 and events[0]["run_id"] == first.run_id
    assert sync_world.events(REMOVED) == []
    summary = first.get_task_instance("summary").xcom_pull(task_ids="summary")
    assert summary["added"] == 5 and summary["qualified"] == 5 and summary["requests"] > 0

    mark = sync_world.last_request_id()
    second = sync_world.run(day=1)
    assert second.state == "success", task_states(second)
    assert sync_world.write_requests(since=mark) == []
    assert len(sync_world.events(ADDED)) == 1
    states = task_states(second)
    assert states["publish_added"] == "skipped" and states["publish_removed"] == "skipped"
    assert sync_world.owned_members() == members


def test_data_change_adds_and_removes_the_right_people_and_never_touches_others(sync_world):
    assert sync_world.run(day=0).state == "success"
    # Someone puts P5 (who never qualifies) into our list by hand; P3 is in the campaign via a partner list.
    lead_list = sync_world.ledger().owned_list(world.CAMPAIGN_ID, "lead").list_id
    with sync_world.client() as client:
        client.add_members(lead_list, MemberType.LEAD, [world.dynamics_id("P5")])
    world.write_source(sync_world.source_path, countries={"P2": "FR", "P3": "DE", "P6": "FR"})

    changed = sync_world.run(day=1)
    assert changed.state == "success", task_states(changed)
    newbie = sync_world.lead_id_by_email("newbie@example.com")
    members = sync_world.owned_members()
    p3, p5 = world.dynamics_id("P3"), world.dynamics_id("P5")
    assert members == {"lead": {world.dynamics_id("P1"), world.dynamics_id("P4"), p3, p5, newbie}, "contact": set()}
    plan = sync_world.ledger().plan("e2e_germany", changed.run_id)
    assert plan.counts["to_add"] == 1 and plan.counts["to_remove"] == 2 and plan.counts["not_ours"] == 1

    added, removed = sync_world.events(ADDED)[-1], sync_world.events(REMOVED)[-1]
    assert added["run_id"] == removed["run_id"] == changed.run_id
    assert added["extra"]["count"] == 1 and removed["extra"]["count"] == 2
    assert set(added["extra"]) == {"campaign_key", "campaign_id", "action", "count", "run_id", "batch_ids"}

    # The downstream DAG gets exactly these people (here handed the event's batch ids, as the
    # scheduler would through triggering_asset_events).
    follow_ups = sync_world.dag("", "campaign_member_follow_ups.py", "campaign_member_follow_ups")
    run = follow_ups.test(run_conf={"batch_ids": added["extra"]["batch_ids"]})
    assert run.state == "success", task_states(run)
    engine = sa.create_engine(sync_world.ledger_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("select person_id, assigned_to from campaign_follow_ups")).all()
    assert rows == [(p3, "e2e-tests")]
    # Running it again creates no duplicate work.
    assert follow_ups.test(run_conf={"batch_ids": added["extra"]["batch_ids"]}).state == "success"
    with engine.connect() as connection:
        assert connection.execute(sa.text("select count(*) from campaign_follow_ups")).scalar() == 1
    # The partner list was not touched.
    with sync_world.client() as client:
        assert set(client.iter_list_member_ids(world.PARTNER_LIST_ID)) == {p3}


def test_inactive_campaign_receives_no_write(sync_world):
    mark = sync_world.last_request_id()
    run = sync_world.run(key="e2e_retired")
    assert run.state == "failed"
    states = task_states(run)
    assert states["gate"] == "failed" and states["add"] == "upstream_failed"
    assert sync_world.write_requests(since=mark) == []


def test_dry_run_plans_without_writing(sync_world):
    mark = sync_world.last_request_id()
    run = sync_world.run(conf={"dry_run": True})
    assert run.state == "success", task_states(run)
    assert sync_world.write_requests(since=mark) == []
    assert sync_world.events(ADDED) == []
    ledger = sync_world.ledger()
    plan = ledger.plan("e2e_germany", run.run_id)
    assert plan.status == "dry_run" and plan.counts["to_add"] == 5
    planned = {i.person_id for i in ledger.plan_items("e2e_germany", run.run_id, action="add")}
    assert FIRST_LEADS | {world.dynamics_id("P6"), "new:P8"} == planned
    preview = run.get_task_instance("qualify_and_plan").xcom_pull(task_ids="qualify_and_plan")
    assert preview["counts"]["to_add"] == 5 and len(preview["preview"]["add"]) == 5


def test_crash_after_the_dynamics_write_is_healed_and_fires_once(sync_world, monkeypatch):
    original = Ledger.complete_intent
    crashes = []

    def crash_once(self, intent_id, **kwargs):
        if not crashes:
            crashes.append(intent_id)
            raise RuntimeError("simulated crash after the Dynamics write, before the ledger commit")
        return original(self, intent_id, **kwargs)

    monkeypatch.setattr(Ledger, "complete_intent", crash_once)
    run = sync_world.run(day=0)
    assert run.state == "success", task_states(run)
    assert crashes, "the crash was not injected"
    assert run.get_task_instance("add").try_number == 2

    newbie = sync_world.lead_id_by_email("newbie@example.com")
    assert sync_world.owned_members() == {"lead": FIRST_LEADS | {newbie}, "contact": {world.dynamics_id("P6")}}
    ledger = sync_world.ledger()
    assert ledger.pending_intents("e2e_germany") == []
    events = sync_world.events(ADDED)
    assert len(events) == 1 and events[0]["extra"]["count"] == 5
    people = [e["person_id"] for b in events[0]["extra"]["batch_ids"] for e in ledger.batch_events(b)]
    assert sorted(people) == sorted(FIRST_LEADS | {newbie, world.dynamics_id("P6")})


def test_re_running_a_run_publishes_its_batches_once_unless_asked_to_again(sync_world):
    first = sync_world.run(day=0, same_run_id=True)
    assert first.state == "success", task_states(first)
    again = sync_world.run(day=0, same_run_id=True)  # the same run executed again, every task
    assert again.state == "success" and again.run_id == first.run_id, task_states(again)
    assert task_states(again)["publish_added"] == "skipped"
    assert len(sync_world.events(ADDED)) == 1

    asked = sync_world.run(day=0, conf={"republish_events": True}, same_run_id=True)
    assert asked.state == "success", task_states(asked)
    events = sync_world.events(ADDED)
    assert len(events) == 2 and events[1]["extra"]["batch_ids"] == events[0]["extra"]["batch_ids"]


def test_a_crash_between_the_event_and_the_ledger_record_never_publishes_twice(sync_world, monkeypatch):
    from dynamics_campaign_sync.sync.service import CampaignSync

    confirm = CampaignSync.confirm_published
    killed = [True]  # the worker dies after the publish task succeeded, before the summary records it
    monkeypatch.setattr(CampaignSync, "confirm_published",
                        lambda self, ids: None if killed[0] else confirm(self, ids))
    first = sync_world.run(day=0, same_run_id=True)
    assert first.state == "success", task_states(first)
    assert [b.confirmed_at for b in sync_world.ledger().event_batches(campaign_key="e2e_germany")] == [None]

    killed[0] = False
    again = sync_world.run(day=0, same_run_id=True)
    assert again.state == "success", task_states(again)
    assert len(sync_world.events(ADDED)) == 1
    assert all(b.confirmed_at for b in sync_world.ledger().event_batches(campaign_key="e2e_germany"))


def test_a_crash_after_the_ledger_record_before_the_event_emits_it_once(sync_world, monkeypatch):
    original, crashes = Ledger.mark_published, []

    def crash_once(self, batch_ids, published_at):
        original(self, batch_ids, published_at)
        if not crashes:
            crashes.append(batch_ids)
            raise RuntimeError("simulated crash after marking the batch handed over, before the asset event")

    monkeypatch.setattr(Ledger, "mark_published", crash_once)
    run = sync_world.run(day=0)
    assert run.state == "success", task_states(run)
    assert crashes and run.get_task_instance("publish_added").try_number == 2
    events = sync_world.events(ADDED)
    assert len(events) == 1 and events[0]["extra"]["batch_ids"] == crashes[0]


def test_source_ids_up_to_the_contract_limit_sync_and_longer_or_malformed_ids_fail_alone(sync_world):
    email_like = "someone.with.a.rather.long.name@subsidiary.example-group.com"  # longer than a GUID
    too_long, not_a_guid = "x" * 401, "L-not-a-guid"
    sync_world.source_url = world.write_source(sync_world.source_path, extra_rows=[
        {"person_id": email_like, "member_type": "lead", "dynamics_id": world.dynamics_id("P5"),
         "email": "p5@example.com", "last_name": "Long", "country": "DE"},
        {"person_id": too_long, "member_type": "lead", "dynamics_id": None, "email": "too-long@example.com",
         "last_name": "X",
         "country": "DE"},
        {"person_id": not_a_guid, "member_type": "lead", "dynamics_id": "12345", "email": None, "last_name": "Y",
         "country": "DE"},
    ])
    run = sync_world.run(day=0)
    assert run.state == "success", task_states(run)

    members = sync_world.owned_members()
    assert world.dynamics_id("P5") in members["lead"]  # qualified through the email-like source id
    with sync_world.client() as client:
        assert client.find_people_by_email(MemberType.LEAD, ["too-long@example.com"]) == {}
    ledger = sync_world.ledger()
    assert email_like in ledger.last_qualified("e2e_germany", [email_like])
    stored = ledger.plan("e2e_germany", run.run_id)
    assert stored.counts.get("unresolved", 0) + stored.counts.get("invalid_rows", 0) >= 2
    # Unresolved people are named with why, for the dashboard.
    unresolved = {p["source_person_id"]: p["why"] for p in stored.details["unresolved"]}
    assert "is not a Dynamics id (a GUID)" in unresolved[not_a_guid]


def test_an_older_interval_is_superseded_and_writes_nothing(sync_world):
    assert sync_world.run(day=3).state == "success"
    world.write_source(sync_world.source_path, countries={"P1": "FR"})
    mark = sync_world.last_request_id()
    older = sync_world.run(day=1)
    assert older.state == "success", task_states(older)
    assert task_states(older)["add"] == "skipped"
    assert sync_world.write_requests(since=mark) == []
    assert sync_world.ledger().plan("e2e_germany", older.run_id).status == "superseded"
    assert world.dynamics_id("P1") in sync_world.owned_members()["lead"]
    assert len(sync_world.events(ADDED)) == 1


def test_catalog_dag_reads_every_campaign_into_the_ledger(sync_world):
    run = sync_world.dag("", "dynamics_campaign_catalog.py", "dynamics_campaign_catalog").test()
    assert run.state == "success", task_states(run)
    catalog = {c["campaign_id"]: c for c in sync_world.ledger().campaigns()}
    assert catalog[world.CAMPAIGN_ID]["name"] == "E2E Launch" and catalog[world.CAMPAIGN_ID]["statecode"] == 0
    assert catalog[world.INACTIVE_CAMPAIGN_ID]["statuscode"] == 6 and len(catalog) == 2


def test_a_deleted_owned_list_is_recreated_and_reported(sync_world):
    assert sync_world.run(day=0).state == "success"
    lost = sync_world.ledger().owned_list(world.CAMPAIGN_ID, "lead").list_id
    with sync_world.client() as client:
        client.transport.request("DELETE", f"lists({lost})")
    rerun = sync_world.run(day=1)
    assert rerun.state == "success", task_states(rerun)
    report = rerun.get_task_instance("ensure_lists").xcom_pull(task_ids="ensure_lists")
    assert report["lead"]["list_id"] != lost and report["lead"]["created"]
    assert any(lost in repair for repair in report["lead"]["repairs"])
    # Everyone who qualifies is back in the new list.
    newbie = sync_world.lead_id_by_email("newbie@example.com")
    assert sync_world.owned_members()["lead"] == FIRST_LEADS | {newbie}


def test_guard_stops_an_empty_source_and_too_many_adds_unless_overridden(sync_world):
    assert sync_world.run(day=0).state == "success"
    world.write_source(sync_world.source_path, people=set())
    mark = sync_world.last_request_id()
    emptied = sync_world.run(day=1)
    assert emptied.state == "failed" and task_states(emptied)["guard"] == "failed"
    assert sync_world.write_requests(since=mark) == []  # the mirror policy did not remove everyone
    assert sync_world.ledger().plan("e2e_germany", emptied.run_id).status == "blocked"

    overridden = sync_world.run(day=2, conf={"override_guard": True})
    assert overridden.state == "success", task_states(overridden)
    assert sync_world.owned_members() == {"lead": set(), "contact": set()}


def test_a_person_dynamics_rejects_is_reported_and_the_others_go_on(sync_world):
    deleted = world.dynamics_id("P4")
    with sync_world.client() as client:
        client.transport.request("DELETE", f"leads({deleted})")
    run = sync_world.run(day=0)
    assert run.state == "success", task_states(run)
    newbie = sync_world.lead_id_by_email("newbie@example.com")
    assert sync_world.owned_members()["lead"] == (FIRST_LEADS - {deleted}) | {newbie}
    summary = run.get_task_instance("summary").xcom_pull(task_ids="summary")
    assert summary["added"] == 4 and summary["failed"] == 1
    failures = sync_world.ledger().failures("e2e_germany", run.run_id)
    assert list(failures) == [deleted] and deleted in failures[deleted]
    assert sync_world.events(ADDED)[0]["extra"]["count"] == 4


def test_no_secret_reaches_logs_xcoms_or_asset_extras(sync_world, caplog, capfd):
    import json
    import logging

    caplog.set_level(logging.DEBUG)
    run = sync_world.run(day=0)
    assert run.state == "success", task_states(run)
    secret = sync_world.emulator.client_secret
    xcoms = {ti.task_id: ti.xcom_pull(task_ids=ti.task_id) for ti in run.get_task_instances()}
    assert xcoms["summary"]["requests"] >= 8  # gate, lists, plan and writes are all counted
    out, err = capfd.readouterr()  # task logs reach the console under dag.test(), the rest goes through logging
    logs = caplog.text + out + err
    assert "Campaign sync summary" in logs and "Acquired a new Dataverse access token" in logs  # captured at all
    assert secret not in logs
    assert secret not in json.dumps(xcoms, default=str)
    assert secret not in json.dumps([e["extra"] for e in sync_world.events(ADDED)])


def test_a_replacing_spec_is_refused_until_it_takes_the_campaign_over(sync_world, tmp_path, capfd):
    """Two specs on one campaign would remove each other's people: a new key must take the campaign over."""
    assert sync_world.run(day=0).state == "success"
    before = sync_world.owned_members()
    specs = tmp_path / "specs"
    (specs / "e2e_germany.yaml").unlink()  # the spec is renamed ...
    (specs / "e2e_germany_v2.yaml").write_text(world.SPEC.format(key="e2e_germany_v2", campaign_id=world.CAMPAIGN_ID))
    world.write_source(sync_world.source_path, countries={"P2": "FR"})  # ... and P2 moved away meanwhile

    mark = sync_world.last_request_id()
    refused = sync_world.run(key="e2e_germany_v2", day=1)
    assert refused.state == "failed"
    states = task_states(refused)
    assert states["ensure_lists"] == "failed" and states["add"] == states["remove"] == "upstream_failed", states
    assert refused.get_task_instance("ensure_lists").try_number == 1  # a refusal is final, not retried
    out, err = capfd.readouterr()  # task logs go to the console under dag.test()
    assert f"campaign {world.CAMPAIGN_ID} is synced by spec 'e2e_germany'" in out + err
    assert sync_world.write_requests(since=mark) == [] and sync_world.owned_members() == before
    assert sync_world.ledger().campaign_owner(world.CAMPAIGN_ID).campaign_key == "e2e_germany"

    preview = sync_world.run(key="e2e_germany_v2", day=1, conf={"dry_run": True, "take_over_campaign": True})
    assert preview.state == "success", task_states(preview)
    assert sync_world.write_requests(since=mark) == []
    assert {i.person_id for i in sync_world.ledger().plan_items("e2e_germany_v2", preview.run_id, action="remove")
            } == {world.dynamics_id("P2")}
    assert sync_world.ledger().campaign_owner(world.CAMPAIGN_ID).campaign_key == "e2e_germany"

    taken = sync_world.run(key="e2e_germany_v2", day=1, conf={"take_over_campaign": True})
    assert taken.state == "success", task_states(taken)
    owner = sync_world.ledger().campaign_owner(world.CAMPAIGN_ID)
    assert (owner.campaign_key, owner.previous_key, owner.claimed_by_run) == ("e2e_germany_v2", "e2e_germany",
                                                                             taken.run_id)
    # The old spec's people now follow the new spec's rules: only P2, who no longer qualifies, is removed.
    assert sync_world.owned_members() == {"lead": before["lead"] - {world.dynamics_id("P2")},
                                          "contact": before["contact"]}
    [removed] = asset_events("dynamics_campaign.e2e_germany_v2.removed", sync_world.events_before)
    assert removed["extra"]["count"] == 1
    assert asset_events("dynamics_campaign.e2e_germany_v2.added", sync_world.events_before) == []
