"""What a campaign sync's task log says about people, read from a real run (dag.test() against the emulator):
reasons as sentences, not Python dicts, and no email address in full."""

from __future__ import annotations

import pytest
from e2e.test_campaign_sync_dag import SyncWorld, task_states

pytestmark = pytest.mark.e2e


@pytest.fixture
def sync_world(airflow_db, fresh_emulator, tmp_path, monkeypatch) -> SyncWorld:
    return SyncWorld(fresh_emulator, tmp_path, monkeypatch)


def test_the_plan_log_gives_reasons_as_sentences_and_masks_emails(sync_world, caplog, capfd, monkeypatch):
    monkeypatch.delenv("CAMPAIGN_SYNC_SHOW_EMAILS", raising=False)
    run = sync_world.run(day=0)
    assert run.state == "success", task_states(run)
    log = caplog.text + capfd.readouterr().out  # dag.test(): our records, and Airflow's task output

    newbie = [line for line in log.splitlines() if "add    lead    new:P8" in line]
    assert newbie and all(line.rstrip().endswith("new:P8  1. country is 'de'") for line in newbie), newbie
    assert "{'matched'" not in log and "'source_person_id'" not in log
    assert "newbie@example.com" not in log
