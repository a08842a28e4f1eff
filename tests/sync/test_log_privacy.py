"""Email addresses in the records our loggers write are masked, unless CAMPAIGN_SYNC_SHOW_EMAILS says otherwise."""

from __future__ import annotations

import logging

import pytest

from dynamics_campaign_sync.log_privacy import mask_emails
from dynamics_campaign_sync.sync import service

WHY = "no contact with email jane.doe+news@mail.example.co.uk in Dynamics"


def test_the_service_logger_masks_emails_by_default(caplog, monkeypatch):
    monkeypatch.delenv("CAMPAIGN_SYNC_SHOW_EMAILS", raising=False)
    with caplog.at_level(logging.WARNING, logger=service.log.name):
        service.log.warning("Cannot sync %s: %s", "P9", WHY)
    assert caplog.messages == ["Cannot sync P9: no contact with email j***@mail.example.co.uk in Dynamics"]


@pytest.mark.parametrize("setting", ["true", "1", "yes"])
def test_the_setting_shows_emails_in_full(caplog, monkeypatch, setting):
    monkeypatch.setenv("CAMPAIGN_SYNC_SHOW_EMAILS", setting)
    with caplog.at_level(logging.WARNING, logger=service.log.name):
        service.log.warning("Cannot sync %s: %s", "P9", WHY)
    assert caplog.messages == [f"Cannot sync P9: {WHY}"]


def test_text_without_an_email_is_left_alone(monkeypatch):
    monkeypatch.delenv("CAMPAIGN_SYNC_SHOW_EMAILS", raising=False)
    text = "lead 6f1c@ x: 4 counted, user@ and @host, 0x80040217"
    assert mask_emails(text) == text
    assert mask_emails("a@b.io, bob@example.com") == "a***@b.io, b***@example.com"
