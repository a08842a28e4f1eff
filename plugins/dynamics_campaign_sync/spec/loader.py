"""Reading campaign sync specs from YAML, with errors a spec author can act on.

Every problem becomes one line ``<path>: <location>: <message>``, for example
``dags/campaigns/foo.yaml: rules.filters[3].operator: 'startswith' is not one
of ...``. Positions in a location count from 1, so ``filters[3]`` is filter 3
of the logic expression.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dynamics_campaign_sync.spec.cache import cached
from dynamics_campaign_sync.spec.logic import LogicError, parse_logic
from dynamics_campaign_sync.spec.messages import did_you_mean, translate
from dynamics_campaign_sync.spec.models import KEY_PATTERN, CampaignSpec

SPEC_SUFFIXES = (".yaml", ".yml")
_FILTER_TAGS = frozenset({"demographic", "behaviour", "inactivity", "data_value_changed", "score_changed",
                          "member_of_list", "member_of_campaign_sync"})
_TYPE_TAGS = frozenset({"int", "str", "float", "bool", "date", "datetime", "none", "list", "dict", "tuple"})


@dataclass(frozen=True)
class SpecProblem:
    """One problem in one spec file."""

    path: str
    location: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.path}: {self.location}: {self.message}"
            if self.location
            else f"{self.path}: {self.message}"
        )


class SpecError(Exception):
    """One or more specs are invalid; the message has one ``<path>: <loc>: <msg>`` line per problem."""

    def __init__(self, problems: Sequence[SpecProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


# libyaml's scanner when PyYAML has it: the pure-Python one was most of the parse time of 200 specs.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):
    """A safe loader that refuses a key written twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is written twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def format_location(loc: Sequence[int | str]) -> str:
    """``('rules', 'filters', 2, 'behaviour', 'min_times')`` -> ``rules.filters[3].min_times``."""
    text = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            text += f"[{part + 1}]"
        elif isinstance(previous, int) and part in _FILTER_TAGS:
            continue  # the discriminator tag pydantic adds after a filter's position
        elif part in _TYPE_TAGS or not part.replace("_", "a").isalnum():
            continue  # a union member's type name, not a field the author wrote
        else:
            text += f".{part}" if text else part
        previous = part
    return text


def _problems_from(path: str, error: ValidationError, data: dict[str, Any]) -> list[SpecProblem]:
    items = error.errors()
    problems = []
    for item in items:
        loc = tuple(item["loc"])
        if item["type"] == "too_short" and any(
            tuple(o["loc"])[: len(loc)] == loc and o is not item for o in items
        ):
            continue  # a list whose items all failed is not also "too short"
        where, message = translate(item, CampaignSpec)
        problems.append(SpecProblem(path, format_location(where), message))
    if not any(problem.location == "rules.logic" for problem in problems):
        problems.extend(_logic_problems(path, data))
    return problems


def _logic_problems(path: str, data: dict[str, Any]) -> list[SpecProblem]:
    """Check the logic against the number of filters written, even when some filters are invalid."""
    rules = data.get("rules")
    if not isinstance(rules, dict) or not isinstance(rules.get("filters"), list):
        return []
    logic, count = rules.get("logic", "all"), len(rules["filters"])
    if not isinstance(logic, str) or count == 0:
        return []
    try:
        parse_logic(logic, count)
    except LogicError as error:
        return [SpecProblem(path, "rules.logic", str(error))]
    return []


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SpecError([SpecProblem(str(path), "", f"cannot read the file: {error.strerror}")]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise SpecError([SpecProblem(str(path), where, f"invalid YAML: {problem}")]) from None


def load_spec(path: str | Path) -> CampaignSpec:
    """Read and validate one spec file; raise :class:`SpecError` naming file and field."""
    path = Path(path)
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise SpecError([SpecProblem(str(path), "", "a spec must be a YAML mapping of fields")])
    try:
        spec = CampaignSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(_problems_from(str(path), error, data)) from None
    spec._path = str(path)
    return spec


def spec_paths(directory: str | Path) -> list[Path]:
    """The spec files of a directory, sorted by name."""
    directory = Path(directory)
    return sorted(p for p in directory.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file())


def conflicts(spec: CampaignSpec, accepted: Iterable[CampaignSpec]) -> list[SpecProblem]:
    """Why ``spec`` cannot join the ``accepted`` specs: its key, or its campaign, is already taken.

    One spec per campaign: two would share the campaign's owned lists and members, and each would remove the
    people the other added.
    """
    problems = []
    for other in accepted:
        if other.key == spec.key:
            problems.append(SpecProblem(str(spec.path), "key", f"{spec.key!r} is already used by {other.path}"))
        elif other.campaign.same_campaign_as(spec.campaign):
            problems.append(SpecProblem(
                str(spec.path), "campaign",
                f"{spec.campaign.describe()} is already synced by spec {other.key!r} ({other.path}); "
                "one spec per campaign, or each would remove the people the other added"))
    return problems


def unknown_references(spec: CampaignSpec, keys: Iterable[str]) -> list[SpecProblem]:
    """Membership filters of ``spec`` naming a campaign sync that is not among the valid specs' ``keys``
    (or ``spec`` itself: "not in my own campaign" would remove everyone it adds)."""
    known = sorted(set(keys))
    problems = []
    for number, flt in spec.rules.memberships():
        if flt.type != "member_of_campaign_sync":
            continue
        if flt.spec == spec.key:
            problems.append(SpecProblem(str(spec.path), f"rules.filters[{number}].spec",
                                        f"{flt.spec!r} is this spec itself: name another campaign sync"))
        elif flt.spec not in known:
            problems.append(SpecProblem(
                str(spec.path), f"rules.filters[{number}].spec",
                f"no valid spec with key {flt.spec!r} in this folder{did_you_mean(flt.spec, known)}"))
    return problems


@dataclass(frozen=True)
class SpecCollection:
    """The specs of a folder that validate, and the problems of those that do not (each naming its file)."""

    specs: tuple[CampaignSpec, ...]
    problems: tuple[SpecProblem, ...]

    def problems_by_file(self) -> dict[str, list[SpecProblem]]:
        """The problems grouped by spec file, in file order."""
        grouped: dict[str, list[SpecProblem]] = {}
        for problem in self.problems:
            grouped.setdefault(problem.path, []).append(problem)
        return grouped


def collect(paths: Iterable[str | Path]) -> SpecCollection:
    """Validate every file on its own: a bad file (or one whose key or campaign is already taken by an earlier
    file, or whose membership filter names a campaign sync no valid file has) is set aside with its problems,
    and never hides the files that are valid."""
    specs: list[CampaignSpec] = []
    problems: list[SpecProblem] = []
    for path in paths:
        try:
            spec = load_spec(path)
        except SpecError as error:
            problems.extend(error.problems)
            continue
        clashes = conflicts(spec, specs)
        if clashes:
            problems.extend(clashes)
            continue
        specs.append(spec)
    keys = [spec.key for spec in specs]
    referencing = {spec.key: unknown_references(spec, keys) for spec in specs}
    problems.extend(problem for found in referencing.values() for problem in found)
    return SpecCollection(tuple(spec for spec in specs if not referencing[spec.key]), tuple(problems))


def load_all(paths: Iterable[str | Path]) -> list[CampaignSpec]:
    """Validate every file, then raise one :class:`SpecError` listing all problems (also a key or a campaign
    used twice)."""
    collection = collect(paths)
    if collection.problems:
        raise SpecError(collection.problems)
    return list(collection.specs)


def load_specs(directory: str | Path) -> list[CampaignSpec]:
    """Every spec of ``directory`` (``*.yaml``/``*.yml``), validated together; keys and campaigns must be
    unique."""
    return load_all(spec_paths(directory))


def declared_key(path: str | Path) -> str | None:
    """The ``key`` an invalid spec file declares, if it can be read and is well-formed; else None.

    Lets the DAG of a spec that broke keep its id (and its run history) while it shows the spec's problems.
    """
    try:
        data = _read_yaml(Path(path))
    except SpecError:
        return None
    key = data.get("key") if isinstance(data, dict) else None
    return key if isinstance(key, str) and re.fullmatch(KEY_PATTERN, key) else None


def collect_specs(directory: str | Path) -> SpecCollection:
    """Every spec of ``directory`` that validates, and the problems of the others (see :func:`collect`); from
    :mod:`~dynamics_campaign_sync.spec.cache` while the files are unchanged."""
    directory = Path(directory)
    return cached(directory, spec_paths(directory), collect)
