"""Campaign sync specs: the shipped examples, defaults, and error messages that name file, filter and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from qualification_helpers import make_spec

from dynamics_campaign_sync.spec import SpecError, load_spec, load_specs
from dynamics_campaign_sync.spec.loader import format_location
from dynamics_campaign_sync.spec.validate import main as validate_main

REPO = Path(__file__).resolve().parents[2]
SPEC_DIR = REPO / "dags" / "campaigns"
SHIPPED = sorted(SPEC_DIR.glob("*.yaml"))

VALID = """\
key: demo
title: Demo
owner: me@example.com
campaign: {{name: Demo}}
schedule: {{cron: "0 6 * * *", timezone: Europe/Berlin, start_date: 2026-01-01}}
rules:
  filters:
{filters}
  logic: {logic}
"""
ONE_FILTER = "    - {type: demographic, field: country, operator: is, value: Germany}"


def write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    return str(caught.value).splitlines()


def test_three_example_specs_are_shipped():
    assert len(SHIPPED) == 3
    kinds = [{f.type for f in load_spec(path).rules.filters} for path in SHIPPED]
    assert {"behaviour"} in kinds  # a behaviour-only campaign
    assert {"demographic"} in kinds  # a demographic-only campaign
    assert any({"demographic", "behaviour", "inactivity"} <= k for k in kinds)  # the mixed one


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_spec_is_valid(path: Path):
    spec = load_spec(path)
    assert spec.key == path.stem
    assert spec.path == str(path)
    assert "## Smart list" in spec.doc_md()


def test_load_specs_reads_the_directory_and_keys_are_unique():
    specs = load_specs(SPEC_DIR)
    assert [s.key for s in specs] == sorted(s.key for s in specs)
    assert len({s.key for s in specs}) == len(specs)


def test_mixed_example_uses_custom_logic_and_inactivity():
    spec = load_spec(SPEC_DIR / "reengage_dormant_evaluators.yaml")
    assert spec.rules.logic == "1 and (2 or 3 or 4) and 5 and not 6"
    assert spec.rules.filters[4].type == "inactivity"


def test_defaults():
    spec = make_spec([{"type": "demographic", "field": "country", "operator": "is", "value": "Germany"}])
    assert spec.source.conn_id == "campaign_sync_source"
    assert (spec.source.people_table, spec.source.activities_table) == ("people", "activities")
    assert spec.member_types == ("lead", "contact")
    assert spec.qualification.rule == "once"
    assert spec.removal.policy == "mirror"
    assert spec.guard.allow_empty_source is False
    assert spec.guard.max_adds is None and spec.guard.max_removes is None
    assert spec.blocked_statuses == (6,)
    assert spec.blocked_status_codes == frozenset({6})


def test_schedule_start_date_is_midnight_in_the_schedule_timezone_as_utc(tmp_path):
    spec = load_spec(write(tmp_path, VALID.format(filters=ONE_FILTER, logic="all")))
    assert spec.schedule.start_date == dt.datetime(2025, 12, 31, 23, 0, tzinfo=dt.UTC)


def test_guard_limits_absolute_and_percent():
    spec = make_spec(
        [{"type": "demographic", "field": "country", "operator": "is", "value": "Germany"}],
        guard={"max_adds": 100, "max_removes": "10%"},
    )
    assert spec.guard.max_adds_for(5_000) == 100
    assert spec.guard.max_removes_for(1_234) == 123
    assert spec.guard.max_removes_for(0) == 0


@pytest.mark.parametrize("value", ["ten", "150%", -1, [1]])
def test_guard_rejects_bad_limits(value):
    with pytest.raises(ValueError, match="neither a whole number"):
        make_spec(
            [{"type": "demographic", "field": "country", "operator": "is", "value": "Germany"}],
            guard={"max_adds": value},
        )


def test_blocked_statuses_by_name_or_number():
    spec = make_spec(
        [{"type": "demographic", "field": "country", "operator": "is", "value": "Germany"}],
        blocked_statuses=["Inactive", "completed", "cancelled", 100000001],
    )
    assert spec.blocked_statuses == (3, 4, 6, 100000001)


def test_campaign_by_id_or_by_name():
    base = [{"type": "demographic", "field": "country", "operator": "is", "value": "Germany"}]
    by_id = make_spec(base, campaign={"id": "B22712DB-81F0-5F87-B011-02755295B367"})
    assert by_id.campaign.id == "b22712db-81f0-5f87-b011-02755295b367"
    assert make_spec(base, campaign={"name": "Spring"}).campaign.name == "Spring"
    with pytest.raises(ValueError, match="exactly one of id, name"):
        make_spec(base, campaign={"id": "b22712db-81f0-5f87-b011-02755295b367", "name": "Spring"})


def test_error_names_file_filter_number_and_field(tmp_path):
    filters = "\n".join(
        [
            ONE_FILTER,
            ONE_FILTER,
            "    - {type: demographic, field: job_title, operator: startswith, value: VP}",
        ]
    )
    path = write(tmp_path, VALID.format(filters=filters, logic="all"), "foo.yaml")
    (line,) = problems(path)
    assert line.startswith(f"{path}: rules.filters[3].operator: 'startswith' is not one of is, is_not, in,")
    assert "did you mean 'starts_with'?" in line


def test_errors_are_all_reported_at_once(tmp_path):
    filters = "\n".join(
        [
            "    - {type: behaviour, activity: web_visit, min_times: 0, window: {in_past_days: 7, in_interval: true}}",
            "    - {type: demographic, field: company_size, operator: between, value: [500, 10]}",
            "    - {type: inactivity, activity: email_open, max_times: 2}",
            "    - {type: demographic, field: country, operator: in, value: Germany, color: red}",
        ]
    )
    lines = problems(write(tmp_path, VALID.format(filters=filters, logic="1 and (2 or 5)")))
    text = "\n".join(lines)
    assert "rules.filters[1].min_times: Input should be greater than or equal to 1" in text
    assert "rules.filters[1].window: give exactly one of in_past_days, between, in_interval" in text
    assert "rules.filters[2].value: between needs low <= high, got [500, 10]" in text
    assert "rules.filters[3].max_times: Input should be 0" in text
    assert "rules.filters[4].color: unknown field (check the spelling)" in text
    assert "rules.logic: unknown filter number 5 at column 13; the spec has filters 1 to 4" in text
    assert "too_short" not in text and "at least 1 item" not in text


@pytest.mark.parametrize(
    ("logic", "message"),
    [
        ("1 and (2 or 3", "unbalanced parentheses: '(' at column 7 is never closed"),
        ("1 and 2)", "unbalanced parentheses: ')' at column 8 has no matching '('"),
        ("1 and ()", "empty group '()' at column 7"),
        ("1 and 4", "unknown filter number 4"),
        ("1 and 2", "filter(s) 3 not used in the logic expression"),
        ("1 && 2", "unexpected character '&'"),
    ],
)
def test_logic_errors_name_the_problem(tmp_path, logic, message):
    filters = "\n".join([ONE_FILTER] * 3)
    lines = problems(write(tmp_path, VALID.format(filters=filters, logic=f'"{logic}"')))
    assert any(
        line.startswith(f"{tmp_path / 'demo.yaml'}: rules.logic: ") and message in line for line in lines
    )


@pytest.mark.parametrize(
    ("filter_yaml", "location", "message"),
    [
        ("{type: demographic, field: country, operator: is}", "value", "is needs a value"),
        ("{type: demographic, field: country, operator: is_empty, value: x}", "value", "takes no value"),
        ("{type: demographic, field: country, operator: contains, value: 3}", "value", "contains needs text"),
        ("{type: demographic, field: country, operator: is, value: ''}", "value", "use is_empty"),
        (
            "{type: demographic, field: created_at, operator: in_past, value: 0}",
            "value",
            "positive whole number",
        ),
        (
            "{type: demographic, field: lead_score, operator: gt, value: high}",
            "value",
            "needs a number or a date",
        ),
        ("{type: demographic, field: x, operator: in, value: [1, a]}", "value", "all be of one type"),
        ("{type: demographic, field: 'bad-name', operator: is, value: a}", "field", "should match pattern"),
        ("{type: demographic, field: x, operator: between, value: [1]}", "value", "two values"),
        ("{type: gossip, field: x}", "", "does not match any of the expected tags"),
    ],
)
def test_value_errors(tmp_path, filter_yaml, location, message):
    lines = problems(write(tmp_path, VALID.format(filters=f"    - {filter_yaml}", logic="all")))
    prefix = f"{tmp_path / 'demo.yaml'}: rules.filters[1]" + (f".{location}" if location else "")
    assert any(line.startswith(prefix) and message in line for line in lines), lines


def test_us_spelling_behavior_is_accepted():
    spec = make_spec([{"type": "behavior", "activity": "web_visit"}])
    assert spec.rules.filters[0].type == "behaviour"


def test_yaml_problems_are_spec_errors(tmp_path):
    (line,) = problems(write(tmp_path, "key: a\nkey: b\n"))
    assert "line 2, column 1: invalid YAML: key 'key' is written twice" in line
    (line,) = problems(write(tmp_path, "key: [unclosed\n"))
    assert "invalid YAML" in line
    (line,) = problems(write(tmp_path, "- a list\n"))
    assert line.endswith("a spec must be a YAML mapping of fields")


def test_top_level_errors(tmp_path):
    text = VALID.format(filters=ONE_FILTER, logic="all").replace("key: demo", "key: Demo-1")
    text = text.replace('"0 6 * * *"', '"61 * * * *"').replace("Europe/Berlin", "Mars/Olympus")
    lines = "\n".join(problems(write(tmp_path, text)))
    assert "key: String should match pattern" in lines
    assert "schedule.cron: '61 * * * *' is not a valid cron expression" in lines
    assert "schedule.timezone: 'Mars/Olympus' is not a known IANA timezone" in lines


def test_duplicate_keys_across_files(tmp_path):
    write(tmp_path, VALID.format(filters=ONE_FILTER, logic="all"), "a.yaml")
    write(tmp_path, VALID.format(filters=ONE_FILTER, logic="all"), "b.yaml")
    with pytest.raises(SpecError, match=r"b.yaml: key: 'demo' is already used by .*a.yaml"):
        load_specs(tmp_path)


def test_one_spec_per_campaign_across_files(tmp_path):
    """Two specs on one campaign would each remove the people the other added."""
    valid = VALID.format(filters=ONE_FILTER, logic="all")
    write(tmp_path, valid, "a.yaml")
    write(tmp_path, valid.replace("key: demo", "key: other").replace("name: Demo", "name: DEMO"), "b.yaml")
    with pytest.raises(SpecError, match=r"b.yaml: campaign: campaign named 'DEMO' is already synced by spec 'demo' "
                                        r"\(.*a.yaml\); one spec per campaign"):
        load_specs(tmp_path)
    guid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    by_id = valid.replace("name: Demo", f"id: {guid}")
    write(tmp_path, by_id, "a.yaml")
    write(tmp_path, by_id.replace("key: demo", "key: other").replace(guid, guid.upper()), "b.yaml")
    with pytest.raises(SpecError, match=rf"b.yaml: campaign: campaign {guid} is already synced by spec 'demo'"):
        load_specs(tmp_path)
    write(tmp_path, by_id.replace("key: demo", "key: other").replace(guid, guid[:-1] + "f"), "b.yaml")
    assert [s.key for s in load_specs(tmp_path)] == ["demo", "other"]


def test_format_location_counts_from_one_and_drops_tags():
    assert format_location(("rules", "filters", 2, "behaviour", "where", 0, "operator")) == (
        "rules.filters[3].where[1].operator"
    )


def test_doc_md_reads_like_a_smart_list():
    doc = load_spec(SPEC_DIR / "pricing_page_intent.yaml").doc_md()
    assert (
        "1. Visited web page where page_url contains '/pricing' at least 3 times in the past 30 days" in doc
    )
    assert "2. Filled out form where form_name is 'Demo Request' at least 1 time in the past 14 days" in doc
    assert "**Logic:** `1 or 2`" in doc
    assert "once every 30 days" in doc


def test_validate_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert validate_main([]) == 0
    assert capsys.readouterr().out.count("ok: ") == 3
    bad = write(
        tmp_path, VALID.format(filters=ONE_FILTER.replace("operator: is", "operator: equals"), logic="all")
    )
    assert validate_main([str(bad), str(SPEC_DIR)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: rules.filters[1].operator: 'equals' is not one of" in err
    assert validate_main([str(tmp_path / "missing")]) == 1
