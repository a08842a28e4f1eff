"""Spec errors in our wording: every bad choice, filter type or plain value is echoed with what is allowed,
through the real loader and through `make lint-specs` on a bad spec file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_spec import ONE_FILTER, VALID, problems, write

REPO = Path(__file__).resolve().parents[2]
FILTER_TYPES = ("demographic, behaviour, inactivity, data_value_changed, score_changed, member_of_list, "
                "member_of_campaign_sync")


def spec_with(tmp_path: Path, extra: str = "", filters: str = ONE_FILTER) -> Path:
    return write(tmp_path, VALID.format(filters=filters, logic="all") + extra)


@pytest.mark.parametrize(
    ("extra", "line"),
    [
        ("qualification: onse\n", "qualification.rule: Input should be 'once', 'every_time' or 'every_n_days' "
         "(got 'onse'; did you mean 'once'?)"),
        ("qualification: {rule: every_tim}\n", "qualification.rule: Input should be 'once', 'every_time' or "
         "'every_n_days' (got 'every_tim'; did you mean 'every_time'?)"),
        ("removal: {policy: mirorr}\n", "removal.policy: Input should be 'mirror', 'never' or 'after_days' "
         "(got 'mirorr'; did you mean 'mirror'?)"),
        ("removal: keep\n", "removal.policy: Input should be 'mirror', 'never' or 'after_days' (got 'keep')"),
        ("removal: {policy: yes}\n", "removal.policy: Input should be 'mirror', 'never' or 'after_days' (got True)"),
        ("drift: {removed_in_dynamics: restor}\n", "drift.removed_in_dynamics: Input should be 'respect' or "
         "'restore' (got 'restor'; did you mean 'restore'?)"),
        ("member_types: [lead, contcat]\n",
         "member_types[2]: Input should be 'lead' or 'contact' (got 'contcat'; did you mean 'contact'?)"),
        ("source: {people: dataverce}\n",
         "source.people: Input should be 'sql' or 'dataverse' (got 'dataverce'; did you mean 'dataverse'?)"),
        ("source: {people: dataverse, entity: lead}\n",
         "source.entity: Input should be 'leads' or 'contacts' (got 'lead'; did you mean 'leads'?)"),
        ("source: {people: dataverse, join_on: mail}\n",
         "source.join_on: Input should be 'dynamics_id' or 'email' (got 'mail'; did you mean 'email'?)"),
        ("source: {people: dataverse, change_tracking: maybe}\n",
         "source.change_tracking: Input should be a valid boolean, unable to interpret input (got 'maybe')"),
        ("guard: {max_adds: 5, allow_empty_source: 3}\n",
         "guard.allow_empty_source: Input should be a valid boolean, unable to interpret input (got 3)"),
        ("blocked_statuses: [inactve]\n", "blocked_statuses: 'inactve' is not one of proposed, ready_to_launch, "
         "launched, completed, canceled, suspended, inactive or a statuscode number (did you mean 'inactive'?)"),
        ("drift: restore\n", "drift: Input should be a valid dictionary or instance of DriftPolicy (got 'restore')"),
    ],
)
def test_a_bad_choice_names_file_field_value_and_what_is_allowed(tmp_path, extra, line):
    path = spec_with(tmp_path, extra)
    assert problems(path) == [f"{path}: {line}"]


@pytest.mark.parametrize(
    ("filter_yaml", "message"),
    [
        ("{type: demografic, field: country, operator: is, value: DE}",
         f"filter 2 has type 'demografic', which does not match any of the expected tags: {FILTER_TYPES} "
         "(did you mean 'demographic'?)"),
        ("{type: behaviuor, activity: web_visit}",
         f"filter 2 has type 'behaviuor', which does not match any of the expected tags: {FILTER_TYPES} "
         "(did you mean 'behaviour'?)"),
        ("{type: 3, field: country}",
         f"filter 2 has type 3, which does not match any of the expected tags: {FILTER_TYPES}"),
        ("{type: [demographic], field: country}",
         f"filter 2 has type ['demographic'], which does not match any of the expected tags: {FILTER_TYPES}"),
        ("{field: country, operator: is, value: DE}", f"filter 2 has no type: give one of {FILTER_TYPES}"),
    ],
)
def test_a_bad_filter_type_names_the_filter_the_type_and_the_types_there_are(tmp_path, filter_yaml, message):
    path = spec_with(tmp_path, filters=f"{ONE_FILTER}\n    - {filter_yaml}")
    lines = problems(path)
    assert lines == [f"{path}: rules.filters[2].type: {message}"]
    assert not any("Input tag" in line or "discriminator" in line for line in lines)


def test_choices_inside_a_filter_and_plain_values_echo_what_was_written(tmp_path):
    filters = "\n".join([
        "    - {type: inactivity, activity: web_visit, max_times: 2}",
        "    - {type: behaviour, activity: web_visit, min_times: many,"
        " where: [{field: page_url, operator: contians, value: x}]}",
    ])
    path = spec_with(tmp_path, filters=filters)
    text = "\n".join(problems(path))
    assert f"{path}: rules.filters[1].max_times: Input should be 0 (got 2)" in text  # a choice of one number
    assert (f"{path}: rules.filters[2].min_times: Input should be a valid integer, unable to parse string as an "
            "integer (got 'many')") in text
    assert f"{path}: rules.filters[2].where[1].operator: 'contians' is not one of is, is_not," in text
    assert "(did you mean 'contains'?)" in text


def test_make_lint_specs_on_a_bad_spec_file_prints_every_problem_in_our_wording(tmp_path):
    bad = spec_with(tmp_path, "qualification: onse\nremoval: {policy: mirorr}\n",
                    filters=f"{ONE_FILTER}\n    - {{type: gossip, field: country}}")
    # Through the Makefile as a user runs it, with the project's interpreter instead of a fresh .venv.
    result = subprocess.run(["make", "--no-print-directory", "-o", "install", f"PY={sys.executable}",
                             "lint-specs", f"SPECS={bad}"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode != 0 and result.stdout.count("ok: ") == 0
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(bad))]
    assert lines == [
        f"{bad}: rules.filters[2].type: filter 2 has type 'gossip', which does not match any of the expected "
        f"tags: {FILTER_TYPES}",
        f"{bad}: qualification.rule: Input should be 'once', 'every_time' or 'every_n_days' (got 'onse'; did you "
        "mean 'once'?)",
        f"{bad}: removal.policy: Input should be 'mirror', 'never' or 'after_days' (got 'mirorr'; did you mean "
        "'mirror'?)",
    ]
