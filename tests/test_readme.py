"""README.md tells the truth: its examples are the shipped files, and its commands run as written.

Each test reads the README (and the docker-compose header, which points into it) and checks one kind of claim
against the real thing: the example specs against dags/campaigns, `make` targets against the Makefile, links
against headings and files, CLI flags against the Airflow 3.3.2 CLI's own --help, settings against the code
that reads them, and the shell commands by running them verbatim.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from dynamics_campaign_sync.ledger import Ledger

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
COMPOSE = (REPO / "docker-compose.yaml").read_text()
MAKEFILE = (REPO / "Makefile").read_text()
AIRFLOW = Path(sys.executable).with_name("airflow")

_FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
_SPEC_FILE = re.compile(r"dags/campaigns/(?P<name>[\w-]+\.yaml)")
_MAKE_AIRFLOW = re.compile(r"make airflow ARGS=(?P<args>'[^']*'|\"(?:[^\"\\]|\\.)*\")")
_SETTING = re.compile(r"^\| `(?P<names>[A-Z][A-Z0-9_]+`(?:, `[A-Z][A-Z0-9_]+`)*) \|", re.MULTILINE)
#: Where a setting may be read: the product's code and the files that start it.
_CODE = ("plugins", "include", "dags", "Makefile", "docker-compose.yaml")


def blocks(lang: str) -> Iterator[tuple[int, str]]:
    """(offset, body) of each fenced block in the README with this info string."""
    for match in _FENCE.finditer(README):
        if match["lang"] == lang:
            yield match.start(), match["body"]


def shell_lines() -> list[str]:
    """Every command line of the README's sh blocks, without its trailing comment."""
    return [line.split("  #", 1)[0].strip() for _, body in blocks("sh") for line in body.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings() -> list[str]:
    return [line.lstrip("#").strip() for line in README.splitlines() if re.match(r"#{1,6} ", line)]


def test_each_example_spec_is_a_verbatim_excerpt_of_the_file_it_names() -> None:
    examples = list(blocks("yaml"))
    assert examples, "the README shows no example spec"
    for offset, body in examples:
        named = _SPEC_FILE.findall(README[max(0, offset - 400):offset])
        assert named, f"the example spec at README offset {offset} names no dags/campaigns file before it"
        shipped = (REPO / "dags" / "campaigns" / named[-1]).read_text()
        assert body in shipped, f"the README's example differs from dags/campaigns/{named[-1]}"


def test_every_make_target_named_exists() -> None:
    targets = set(re.findall(r"^([\w-]+):", MAKEFILE, re.MULTILINE))
    named = set(re.findall(r"`make ([\w-]+)", README)) | set(re.findall(r"^make ([\w-]+)", README, re.MULTILINE))
    assert named, "the README names no make target"
    assert named <= targets, f"make targets the README names but the Makefile lacks: {sorted(named - targets)}"


def test_every_section_linked_exists() -> None:
    anchors = {github_anchor(heading) for heading in headings()}
    links = set(re.findall(r"\]\(#([^)]+)\)", README))
    assert not links - anchors, f"README links to missing sections: {sorted(links - anchors)}"
    compose_refs = set(re.findall(r'README, "([^"]+)"', COMPOSE))
    assert compose_refs, "the compose header no longer points into the README"
    assert compose_refs <= set(headings()), f"docker-compose.yaml names missing README sections: {compose_refs}"
    files = {link for link in re.findall(r"\]\(([^)#:]+)\)", README)}
    missing = sorted(link for link in files if not (REPO / link).exists())
    assert not missing, f"README links to missing files: {missing}"


def test_every_documented_setting_is_read_by_the_code() -> None:
    names = {name for match in _SETTING.finditer(README) for name in re.findall(r"[A-Z][A-Z0-9_]+", match["names"])}
    names |= set(re.findall(r"`(DYNAMICS_[A-Z_]+)`", README))
    assert {"CAMPAIGN_SYNC_SHOW_EMAILS", "EMULATOR_PORT", "AIRFLOW_PORT"} <= names
    code = "\n".join(_code_lines())
    unread = sorted(name for name in names if not re.search(rf"\b{name}\b", code))
    assert not unread, f"settings the README documents but nothing reads: {unread}"


def _code_lines() -> Iterator[str]:
    """Non-comment lines of the product's code and start-up files (a comment does not read a setting)."""
    for root in _CODE:
        path = REPO / root
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.suffix in {".py", ".yaml", ".sh"}]
        for file in files:
            yield from (line for line in file.read_text().splitlines() if not line.lstrip().startswith("#"))


# -- commands, run as written --------------------------------------------------------------------------------

def _airflow_argv(readme_args: str) -> list[str]:
    """The argv `make airflow ARGS=...` hands the Airflow CLI, after the shell and make have quoted it."""
    # --no-print-directory: under `make test` this make is a sub-make, which otherwise adds "Leaving directory".
    printed = subprocess.run(
        f"make -n --no-print-directory -o install PY=python airflow ARGS={readme_args}", shell=True, cwd=REPO,
        capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()
    words = shlex.split(next(line for line in printed if "local_stack.py" in line))
    return words[words.index("airflow", words.index("--airflow-port") + 2) + 1:]


def _cli_commands() -> list[list[str]]:
    commands = [_airflow_argv(match["args"]) for match in _MAKE_AIRFLOW.finditer(README)
                if match["args"][1:-1] not in ("…", "...")]  # ARGS='…' stands for any command
    # The compose header's ad-hoc example, "docker compose run --rm airflow-cli airflow backfill create ...".
    for line in re.findall(r"airflow-cli airflow ([^\n]+)", COMPOSE):
        commands.append([word for word in shlex.split(line) if word != "..."])
    return commands


@pytest.fixture(scope="module")
def cli_help(tmp_path_factory: pytest.TempPathFactory) -> Callable[[tuple[str, ...]], set[str]]:
    """The long options `airflow <command> --help` lists, run with a throwaway AIRFLOW_HOME."""
    home = tmp_path_factory.mktemp("airflow-home")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="false")
    cache: dict[tuple[str, ...], set[str]] = {}

    def options(command: tuple[str, ...]) -> set[str]:
        if command not in cache:
            result = subprocess.run([str(AIRFLOW), *command, "--help"], env=env, capture_output=True, text=True)
            assert result.returncode == 0, f"airflow {' '.join(command)} is not a command: {result.stderr[-500:]}"
            cache[command] = set(re.findall(r"(--[a-z][\w-]*)", result.stdout))
        return cache[command]

    return options


def test_airflow_commands_use_only_real_cli_flags(cli_help: Callable[[tuple[str, ...]], set[str]]) -> None:
    commands = _cli_commands()
    assert any(argv[:2] == ["backfill", "create"] for argv in commands), "no backfill command documented"
    for argv in commands:
        command = tuple(argv[:2])
        flags = {word.split("=", 1)[0] for word in argv if word.startswith("--")}
        unknown = flags - cli_help(command)
        assert not unknown, f"airflow {' '.join(argv)}: no such option {sorted(unknown)}"
        if "--conf" in argv:
            json.loads(argv[argv.index("--conf") + 1])  # the shell quoting leaves valid JSON


def test_make_lint_specs_as_written_validates_every_shipped_spec() -> None:
    assert "make lint-specs" in shell_lines() or "`make lint-specs`" in README
    # Verbatim, with the project's interpreter instead of a fresh .venv (`install` is what creates that).
    result = subprocess.run(["make", "-o", "install", f"PY={sys.executable}", "lint-specs"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    shipped = sorted(path.stem for path in (REPO / "dags" / "campaigns").glob("*.yaml"))
    assert sorted(re.findall(r"^ok: .*?\((\w+):", result.stdout, re.MULTILINE)) == shipped


# -- the ledger queries ----------------------------------------------------------------------------------------

CAMPAIGN_ID = "b22712db-81f0-5f87-b011-02755295b367"
LEAD_LIST = "11111111-1111-1111-1111-111111111111"
PERSON = "00000000-0000-4000-8000-000000000001"
START = datetime(2026, 3, 1, tzinfo=UTC)


def _ledger_commands() -> list[str]:
    commands = [line for line in shell_lines() if line.startswith("sqlite3 .data/ledger.db ")]
    assert len(commands) >= 2, "the README shows no ledger queries"
    return commands


def _filled_ledger(ledger: Ledger) -> None:
    """A catalog campaign and one member we added, as a sync run records them."""
    ledger.migrate()
    ledger.upsert_campaigns([{"campaignid": CAMPAIGN_ID, "name": "Pricing Page Intent - 2026",
                              "statecode": 0, "statuscode": 2}], START)
    ledger.save_owned_list(CAMPAIGN_ID, "lead", LEAD_LIST, "CampaignSync-leads", START)
    intent = ledger.begin_intent(
        campaign_key="pricing_page_intent", campaign_id=CAMPAIGN_ID, list_id=LEAD_LIST, member_type="lead",
        action="add", run_id="run-1", interval_start=START, interval_end=START + timedelta(days=1),
        people={PERSON: {"rules": ["1"]}},
    )
    ledger.complete_intent(intent, succeeded=[PERSON], failed={})


def test_the_ledger_queries_answer_on_sqlite_and_postgresql(
    ledger_factory: Callable[[], Ledger], ledger_url: str, tmp_path: Path
) -> None:
    _filled_ledger(ledger_factory())
    campaigns, members = _ledger_commands()[:2]
    if ledger_url.startswith("sqlite"):
        assert shutil.which("sqlite3"), "the README's ledger queries need the sqlite3 command"
        (tmp_path / "work" / ".data").mkdir(parents=True)
        (tmp_path / "work" / ".data" / "ledger.db").symlink_to(sa.make_url(ledger_url).database)
        answers = [subprocess.run(command, shell=True, cwd=tmp_path / "work", capture_output=True, text=True,
                                  check=True).stdout for command in (campaigns, members)]
    else:  # the same SQL on the PostgreSQL ledger docker-compose uses
        engine = sa.create_engine(ledger_url)
        with engine.connect() as connection:
            answers = ["\n".join("|".join(map(str, row)) for row in connection.execute(sa.text(
                shlex.split(command)[-1]))) for command in (campaigns, members)]
        engine.dispose()
    assert CAMPAIGN_ID in answers[0] and "Pricing Page Intent - 2026" in answers[0]
    assert PERSON in answers[1] and "run-1" in answers[1]


@pytest.mark.parametrize("airflow_2", ["Trigger DAG w/ config", "airflow dags backfill", "schedule_interval",
                                       "airflow webserver"])
def test_no_airflow_2_wording(airflow_2: str) -> None:
    assert airflow_2 not in README, f"the README still says {airflow_2!r}, which Airflow 3 no longer has"
