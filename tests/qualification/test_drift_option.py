"""The spec's ``drift`` option: what follows when someone takes a member out of our owned list in Dynamics."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynamics_campaign_sync.spec import SpecError, load_spec

SPEC = """\
key: demo
title: Demo
owner: me@example.com
campaign: {name: Demo}
schedule: {cron: "0 6 * * *", timezone: Europe/Berlin, start_date: 2026-01-01}
rules:
  filters:
    - {type: demographic, field: country, operator: is, value: Germany}
  logic: "1"
"""


def spec_with(tmp_path: Path, extra: str):
    path = tmp_path / "demo.yaml"
    path.write_text(SPEC + extra, encoding="utf-8")
    return path


def test_respect_is_the_default_and_restore_can_be_chosen(tmp_path: Path) -> None:
    assert load_spec(spec_with(tmp_path, "")).drift.removed_in_dynamics == "respect"
    spec = load_spec(spec_with(tmp_path, "drift: {removed_in_dynamics: restore}\n"))
    assert spec.drift.removed_in_dynamics == "restore"
    assert "re-added while they qualify" in spec.doc_md()


@pytest.mark.parametrize(("extra", "where", "says"), [
    ("drift: {removed_in_dynamics: keep}\n", "drift.removed_in_dynamics", "'respect' or 'restore'"),
    ("drift: {removed_in_dynamic: restore}\n", "drift.removed_in_dynamic", "unknown field"),
    ("drift: restore\n", "drift", "valid dictionary"),
])
def test_a_bad_drift_option_names_the_file_and_the_field(tmp_path: Path, extra: str, where: str, says: str) -> None:
    path = spec_with(tmp_path, extra)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert f"{path}: {where}: " in message and says in message
