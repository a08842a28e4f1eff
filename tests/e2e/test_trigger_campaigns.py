"""Trigger campaigns end to end: activities inserted into the source wake the real event trigger (its ``run()``), and
the triggered DAG (real ``dag.test()``) adds who qualifies through the batch path, on SQLite and PostgreSQL ledgers,
membership read back through the emulator's Web API."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import sync_world as world
from test_campaign_sync_dag import SyncWorld, asset_events, task_states

from dynamics_campaign_sync.ledger import Ledger

pytestmark = pytest.mark.e2e
KEY = "e2e_demo"
ADDED = f"dynamics_campaign.{KEY}.added"
DEMO = world.DEMO



class TriggerWorld(SyncWorld):
    def __init__(self, emulator, tmp: Path, monkeypatch, ledger_url: str, extra: str = "") -> None:
        super().__init__(emulator, tmp, monkeypatch, ledger_url)
        (tmp / "specs" / f"{KEY}.yaml").write_text(
            world.trigger_spec(KEY, extra=extra))
        for other in ("e2e_germany", "e2e_retired"):  # one spec per campaign
            (tmp / "specs" / f"{other}.yaml").unlink()
        self.engine = sa.create_engine(self.source_url)

    def insert(self, *rows: tuple[str, str, str | None]) -> None:
        """Activities ``(person, activity_type, form_name)`` happening now."""
        world.insert_activities(self.engine, rows)

    def last_activity_id(self) -> int:
        """The newest activity of the trigger's type (other types never move the watermark)."""
        with self.engine.connect() as connection:
            return connection.scalar(sa.text("SELECT max(activity_id) FROM activities WHERE activity_type = "
                                             "'form_fill'"))

    def triggered(self):
        return self.dag(KEY, dag_id=f"campaign_sync__{KEY}__triggered")

    def run_triggered(self):
        return self.triggered().test()

    def watermark(self) -> int | None:
        mark = self.ledger().watermark(KEY)
        return mark.position if mark else None

    def event_trigger(self):
        (watcher,) = self.triggered().timetable.asset_condition.objects[0].watchers  # type: ignore[attr-defined]
        return watcher.trigger

    def wake_ups(self, polls: int) -> list[dict]:
        """The real event trigger's events over its first ``polls`` polls (its ``run()`` generator, as the
        triggerer runs it)."""
        trigger = self.event_trigger()
        done = {"polls": 0}
        poll = trigger._poll

        def counted(*args):
            try:
                return poll(*args)
            finally:
                done["polls"] += 1

        trigger._poll = counted

        async def collect() -> list[dict]:
            events: list[dict] = []

            async def consume() -> None:
                async for event in trigger.run():
                    events.append(event.payload)

            task = asyncio.ensure_future(consume())
            deadline = asyncio.get_running_loop().time() + 60
            while done["polls"] < polls and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            assert done["polls"] >= polls, "the trigger did not poll in time"
            return events

        return asyncio.run(collect())

    def member_ids(self) -> set[str]:
        return set().union(*self.owned_members().values()) if self.ledger().owned_lists(world.CAMPAIGN_ID) else set()

    def adds_sent(self, since: int) -> int:
        return sum(1 for r in self.write_requests(since) if "AddListMembersList" in r["path"]
                   or "AddMemberList" in r["path"])


@pytest.fixture
def trigger_world(airflow_db, fresh_emulator, tmp_path, monkeypatch, ledger_url) -> TriggerWorld:
    return TriggerWorld(fresh_emulator, tmp_path, monkeypatch, ledger_url)


def test_qualifying_activity_wakes_the_campaign_and_adds_only_who_qualifies(trigger_world):
    w = trigger_world
    # P1 (DE) asks for a demo: qualifies. P3 (FR) asks for one: no (demographics). P2 (DE) only browses.
    w.insert(("P1", "form_fill", DEMO), ("P3", "form_fill", DEMO), ("P2", "web_visit", None))
    events = w.wake_ups(polls=5)
    assert len(events) == 1 and events[0]["people"] == 2 and events[0]["until"] == w.last_activity_id()

    run = w.run_triggered()
    assert run.state == "success", task_states(run)
    assert w.member_ids() == {world.dynamics_id("P1")}
    assert w.watermark() == w.last_activity_id()
    added = asset_events(ADDED, w.events_before)
    assert len(added) == 1 and added[0]["extra"]["count"] == 1
    # The same event a batch run emits: downstream DAGs cannot tell the difference.
    assert set(added[0]["extra"]) == {"campaign_key", "campaign_id", "action", "count", "run_id", "batch_ids"}
    plan = w.ledger().plan(KEY, run.run_id)
    assert plan.status == "applied" and plan.counts["trigger_people"] == 2 and plan.counts["to_add"] == 1
    summary = run.get_task_instance("summary").xcom_pull(task_ids="summary")
    assert summary["added"] == 1 and summary["note"].startswith("TRIGGERED") and summary["latency_seconds"] >= 0

    # Nothing new: the trigger stays quiet, and a duplicate wake-up writes nothing.
    assert w.wake_ups(polls=3) == []
    mark = w.last_request_id()
    again = w.run_triggered()
    assert again.state == "success" and task_states(again)["qualify_and_plan"] == "skipped"
    assert w.write_requests(mark) == [] and len(asset_events(ADDED, w.events_before)) == 1


def test_a_burst_coalesces_and_no_activity_is_skipped(trigger_world):
    w = trigger_world
    w.insert(*[("P1", "web_visit", None)] * 300)
    w.insert(*[(p, "form_fill", DEMO) for p in ("P1", "P2", "P4", "P6", "P3")] * 200)  # 1,000 demo requests
    events = w.wake_ups(polls=10)
    assert len(events) == 1 and events[0]["people"] == 5  # one wake-up for the burst

    run = w.run_triggered()
    assert run.state == "success", task_states(run)
    qualified = {world.dynamics_id(p) for p in ("P1", "P2", "P4", "P6")}
    assert w.member_ids() == qualified
    assert w.watermark() == w.last_activity_id()
    # A lost message or a late one: whatever arrives past the watermark is read by the next run.
    w.insert(("P7", "form_fill", DEMO))  # FR: does not qualify, but is read and passed
    assert w.run_triggered().state == "success"
    assert w.watermark() == w.last_activity_id() and w.member_ids() == qualified


def test_run_limit_reads_the_rest_in_the_next_run(airflow_db, fresh_emulator, tmp_path, monkeypatch, ledger_url):
    w = TriggerWorld(fresh_emulator, tmp_path, monkeypatch, ledger_url, extra="  max_activities_per_run: 3")
    w.insert(*[(p, "form_fill", DEMO) for p in ("P1", "P2", "P4", "P6")])
    first = w.run_triggered()
    assert first.state == "success", task_states(first)
    assert w.watermark() == w.last_activity_id() - 1 and len(w.member_ids()) == 3
    assert w.run_triggered().state == "success"
    assert w.watermark() == w.last_activity_id()
    assert w.member_ids() == {world.dynamics_id(p) for p in ("P1", "P2", "P4", "P6")}


def test_crash_after_the_write_before_the_watermark_heals_without_a_second_add_or_event(trigger_world, monkeypatch):
    w = trigger_world
    w.insert(("P4", "form_fill", DEMO))

    def crash(self, *args, **kwargs):
        raise RuntimeError("killed before the watermark commit")

    with monkeypatch.context() as patched:
        patched.setattr(Ledger, "advance_watermark", crash)
        crashed = w.run_triggered()
    assert crashed.state == "failed" and task_states(crashed)["advance_watermark"] == "failed"
    assert w.member_ids() == {world.dynamics_id("P4")} and w.watermark() is None
    assert len(asset_events(ADDED, w.events_before)) == 1

    mark = w.last_request_id()
    healed = w.run_triggered()
    assert healed.state == "success", task_states(healed)
    assert w.adds_sent(mark) == 0
    assert len(asset_events(ADDED, w.events_before)) == 1  # no second event for the same add
    assert w.watermark() == w.last_activity_id()
    assert w.ledger().plan(KEY, healed.run_id).counts["to_add"] == 0


def test_retry_of_the_add_adds_once(trigger_world, monkeypatch):
    w = trigger_world
    w.insert(("P1", "form_fill", DEMO), ("P6", "form_fill", DEMO))
    real = Ledger.complete_intent
    calls = {"n": 0}

    def crash_once(self, *args, **kwargs):  # the Dynamics write happened; the ledger never heard of it
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("killed after the Dynamics write")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Ledger, "complete_intent", crash_once)
    run = w.run_triggered()
    assert run.state == "success", task_states(run)
    assert w.member_ids() == {world.dynamics_id("P1"), world.dynamics_id("P6")}
    added = asset_events(ADDED, w.events_before)
    assert len(added) == 1 and added[0]["extra"]["count"] == 2
    assert w.watermark() == w.last_activity_id()


def test_a_triggered_run_never_supersedes_a_batch_interval(trigger_world):
    w = trigger_world
    w.insert(("P1", "form_fill", DEMO))
    assert w.run_triggered().state == "success"
    assert w.ledger().newest_applied_interval(KEY) is None  # only batch plans count for backfill safety
    batch = w.dag(KEY).test(run_after=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    assert batch.state == "success", task_states(batch)
    assert w.ledger().plan(KEY, batch.run_id).status == "applied"


REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_unavailable() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        return f"Redis not reachable at {REDIS_URL} ({type(error).__name__})"
    return None


@pytest.mark.skipif(redis_unavailable() is not None, reason=str(redis_unavailable()))
def test_queue_messages_only_wake_the_campaign(airflow_db, fresh_emulator, tmp_path, monkeypatch, ledger_url):
    import redis

    channel = f"campaign_sync.e2e.{tmp_path.name}"
    extra = (f"  events: queue\n  queue:\n    scheme: redis+pubsub\n    options:\n"
             f"      channels: [{channel}]\n      redis_conn_id: redis_default\n      poll_interval: 0.05\n")
    w = TriggerWorld(fresh_emulator, tmp_path, monkeypatch, ledger_url, extra=extra)
    monkeypatch.setenv("AIRFLOW_CONN_REDIS_DEFAULT", json.dumps({"conn_type": "redis", "host": "127.0.0.1",
                                                                 "port": 6379, "extra": {"db": 0}}))
    trigger = w.event_trigger()
    assert type(trigger).__name__ == "MessageQueueTrigger"
    publisher = redis.Redis.from_url(REDIS_URL)

    async def first_message() -> dict:
        async def publish_until_heard() -> None:
            while True:  # the same message again and again (duplicates), until the subscriber is there
                publisher.publish(channel, json.dumps({"person_id": "P2"}))
                await asyncio.sleep(0.2)

        sender = asyncio.ensure_future(publish_until_heard())
        try:
            event = await asyncio.wait_for(anext(aiter(trigger.run())), timeout=30)
        finally:
            sender.cancel()
        return event.payload

    w.insert(("P2", "form_fill", DEMO))
    message = asyncio.run(first_message())
    assert message["channel"] == channel
    # Each message wakes a run; the runs read the table past the watermark, so duplicates add once.
    for _ in range(3):
        assert w.run_triggered().state == "success"
    assert w.member_ids() == {world.dynamics_id("P2")}
    assert len(asset_events(ADDED, w.events_before)) == 1
    # A lost message: the activity waits past the watermark and the next wake-up (any message) reads it.
    w.insert(("P4", "form_fill", DEMO))
    assert w.run_triggered().state == "success"
    assert w.member_ids() == {world.dynamics_id("P2"), world.dynamics_id("P4")}
