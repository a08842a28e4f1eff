"""Trigger watermarks (forward only, one kind per campaign) and triggered plans beside batch intervals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ledger_samples import END, KEY, START

from dynamics_campaign_sync.ledger import Ledger, LedgerError


def test_the_watermark_only_moves_forward(ledger: Ledger) -> None:
    assert ledger.watermark(KEY) is None
    first = ledger.advance_watermark(KEY, 10, event_time=START, run_id="triggered-1")
    assert (first.position, first.kind, first.event_time, first.advanced_by_run) == (10, "id", START, "triggered-1")
    # A slower overlapping run that read less leaves the further position alone.
    assert ledger.advance_watermark(KEY, 7, event_time=START, run_id="triggered-0").position == 10
    assert ledger.advance_watermark(KEY, 12, event_time=END, run_id="triggered-2").advanced_by_run == "triggered-2"
    assert ledger.watermark(KEY).position == 12
    assert ledger.watermark("another-campaign") is None


def test_a_timestamp_watermark_and_no_change_of_kind(ledger: Ledger) -> None:
    ledger.advance_watermark(KEY, START, event_time=None, run_id="triggered-1")
    ledger.advance_watermark(KEY, START + timedelta(microseconds=1), event_time=None, run_id="triggered-2")
    assert ledger.watermark(KEY).position == START + timedelta(microseconds=1)
    with pytest.raises(LedgerError, match="the trigger watermark is a timestamp, not an id"):
        ledger.advance_watermark(KEY, 5, event_time=None, run_id="triggered-3")


def test_a_triggered_plan_never_supersedes_a_batch_interval(ledger: Ledger) -> None:
    ledger.record_plan(campaign_key=KEY, run_id="triggered-1", interval_start=START, interval_end=END + timedelta(
        hours=3), status="planned", counts={}, mode="trigger")
    ledger.update_plan_status(KEY, "triggered-1", "applied")
    ledger.record_plan(campaign_key=KEY, run_id="scheduled-1", interval_start=START, interval_end=END,
                       status="planned", counts={})
    assert ledger.newest_applied_interval(KEY) is None
    assert ledger.claim_interval(KEY, "scheduled-1") is True
    assert ledger.newest_applied_interval(KEY) == (START, END)
    with pytest.raises(LedgerError, match="mode"):
        ledger.record_plan(campaign_key=KEY, run_id="x", interval_start=START, interval_end=END, status="planned",
                           counts={}, mode="sometimes")
