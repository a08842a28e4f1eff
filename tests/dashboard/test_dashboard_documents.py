"""The dashboard's documents over a ledger written through its own API: campaign resolution, orphaned keys,
broken specs, day buckets, limits — and that the dashboard's engine cannot write."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from e2e import sync_world as world

from dynamics_campaign_sync.dashboard import sources, summaries
from dynamics_campaign_sync.ledger import Ledger

T0 = dt.datetime(2026, 4, 1, 6, tzinfo=dt.UTC)
NAMED_ID = world.guid("campaign:named")
NAMED_YAML = world.SPEC.format(key="named_campaign", campaign_id="x").replace(
    "  id: x", "  name: Spring Webinar Invitees")


def write(ledger: Ledger, key: str, campaign_id: str, action: str, people: list[str], end: dt.datetime,
          member_type: str = "lead") -> None:
    """One run's adds or removes, exactly as the sync writes them (intent, then Dynamics' answer)."""
    run, list_id = f"scheduled__{end.isoformat()}", world.guid(f"list:{campaign_id}:{member_type}")
    if ledger.owned_list(campaign_id, member_type) is None:
        ledger.save_owned_list(campaign_id, member_type, list_id, f"CampaignSync-{member_type}s", end)
    intent = ledger.begin_intent(
        campaign_key=key, campaign_id=campaign_id, list_id=list_id,
        member_type=member_type, action=action, run_id=run, interval_start=end - dt.timedelta(days=1),
        interval_end=end,
        people={p: {"matched": [1, 2], "counts": {"2": 4}, "source_person_id": p[-2:]} for p in people})
    ledger.complete_intent(intent, succeeded=people, failed={})


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    ledger = Ledger.from_url(f"sqlite:///{path}")
    ledger.migrate()
    ledger.close()
    return path


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    folder = tmp_path / "specs"
    world.write_specs(folder)
    (folder / "named_campaign.yaml").write_text(NAMED_YAML)
    return folder


def snapshot(path: Path, folder: Path) -> tuple[summaries.Snapshot, sources.SpecCatalog]:
    catalog = sources.load_catalog(folder)
    return summaries.Snapshot(sources.read_only_ledger(f"sqlite:///{path}"), catalog.specs), catalog


def test_the_dashboard_engine_refuses_writes_and_leaves_the_file_alone(ledger_path: Path) -> None:
    before = hashlib.sha256(ledger_path.read_bytes()).hexdigest()
    ledger = sources.read_only_ledger(f"sqlite:///{ledger_path}")
    assert ledger.campaigns() == []
    with pytest.raises(sa.exc.OperationalError, match="readonly"), ledger.engine.begin() as connection:
        connection.execute(sa.text("delete from campaigns"))
    assert hashlib.sha256(ledger_path.read_bytes()).hexdigest() == before


def test_a_missing_or_empty_ledger_is_unavailable_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "ledger.db"
    with pytest.raises(sources.LedgerUnavailable, match="no campaign sync has run yet"):
        sources.read_only_ledger(f"sqlite:///{missing}")
    assert not missing.parent.exists()
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(sources.LedgerUnavailable):
        sources.read_only_ledger(f"sqlite:///{empty}")


def test_a_named_campaign_resolves_through_the_catalog_until_a_sync_wrote_its_id(
    ledger_path: Path, specs: Path
) -> None:
    ledger = Ledger.from_url(f"sqlite:///{ledger_path}")
    ledger.upsert_campaigns([{"campaign_id": NAMED_ID, "name": "spring webinar invitees", "statecode": 0,
                              "statuscode": 1}], T0)
    view, catalog = snapshot(ledger_path, specs)
    named = summaries.summary(view, "named_campaign", catalog.specs["named_campaign"])
    assert named["campaign"]["id"] == NAMED_ID and named["campaign"]["status"] == "Ready To Launch"

    other = world.guid("campaign:renamed")
    write(ledger, "named_campaign", other, "add", [world.guid("lead:a"), world.guid("lead:b")], T0)
    view, catalog = snapshot(ledger_path, specs)
    named = summaries.summary(view, "named_campaign", catalog.specs["named_campaign"])
    assert named["campaign"]["id"] == other and named["campaign"]["in_catalog"] is False
    assert named["members"]["lead"] == 2 and named["totals"] == {"added": 2, "removed": 0}
    ledger.close()


def test_a_key_without_a_spec_still_shows_the_members_it_holds(ledger_path: Path, specs: Path) -> None:
    ledger = Ledger.from_url(f"sqlite:///{ledger_path}")
    gone = world.guid("campaign:gone")
    write(ledger, "retired_spec", gone, "add", [world.guid("contact:x")], T0, member_type="contact")
    view, catalog = snapshot(ledger_path, specs)
    assert "retired_spec" in view.keys
    orphan = summaries.detail(view, "retired_spec", None, summaries.Limits())
    assert orphan["has_spec"] is False and orphan["title"] == "retired_spec"
    assert orphan["members"]["contact"] == 1 and orphan["dag_id"] == "campaign_sync__retired_spec"
    assert orphan["recent_events"][0]["why"] == "1. filter no longer in the spec; 2. filter no longer in the spec (4 counted)"
    ledger.close()


def test_a_broken_spec_is_reported_and_the_others_are_shown(ledger_path: Path, specs: Path) -> None:
    (specs / "broken.yaml").write_text("key: broken\ntitle: [unclosed\n")
    (specs / "copy.yaml").write_text(NAMED_YAML)
    catalog = sources.load_catalog(specs)
    assert set(catalog.specs) == {"e2e_germany", "e2e_retired", "named_campaign"}
    assert any(e.startswith(str(specs / "broken.yaml")) and "invalid YAML" in e for e in catalog.errors)
    assert any("'named_campaign' is already used by" in e for e in catalog.errors)


def test_timeline_buckets_by_interval_day_and_limits_apply_per_action(ledger_path: Path, specs: Path) -> None:
    ledger = Ledger.from_url(f"sqlite:///{ledger_path}")
    key, cid = "e2e_germany", world.CAMPAIGN_ID
    leads = [world.guid(f"lead:t{i}") for i in range(5)]
    write(ledger, key, cid, "add", leads[:3], T0)
    write(ledger, key, cid, "add", leads[3:], T0 + dt.timedelta(hours=3))  # same UTC day, second run
    write(ledger, key, cid, "remove", leads[:2], T0 + dt.timedelta(days=2))
    ledger.record_plan(
        campaign_key=key, run_id="manual__dry", interval_start=T0, interval_end=T0 + dt.timedelta(days=3),
        status="dry_run", counts={"to_add": 3, "to_remove": 2},
        items=[(world.guid(f"lead:n{i}"), "lead", "add", {"matched": [1]}) for i in range(3)]
        + [(leads[i], "lead", "remove", {"rule": "removal policy mirror"}) for i in (3, 4)])
    view, catalog = snapshot(ledger_path, specs)
    detail = summaries.detail(view, key, catalog.specs[key], summaries.Limits(events=3, plan_items=1))
    assert detail["timeline"] == [
        {"date": "2026-04-01", "added": 5, "removed": 0, "members": 5},  # members: the count after that day
        {"date": "2026-04-03", "added": 0, "removed": 2, "members": 3},
    ]
    assert [e["action"] for e in detail["recent_events"]] == ["remove", "remove", "add"]
    assert detail["members"]["lead"] == 3 and detail["members"]["removed_total"] == 2
    items = detail["latest_dry_run"]["items"]
    assert [i["action"] for i in items] == ["add", "remove"] and items[1]["why"] == "removal policy mirror"
    assert detail["last_run"]["status"] == "dry_run" and detail["not_ours"] is None
    ledger.close()
