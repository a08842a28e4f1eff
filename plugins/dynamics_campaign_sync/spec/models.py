"""The campaign sync spec: one YAML file in ``dags/campaigns/`` per Dynamics campaign sync.

Pydantic models validate every section so that a bad spec fails at DAG-parse
time with a message naming the file, the filter number and the field (see
``loader``). Models are frozen: a loaded spec is a value, safe to share
between the DAG factory, operators and tests.

Filters are numbered from 1 in the order written, like Marketo's smart-list
filters; the logic expression refers to those numbers.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal, Self

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_core.core_schema import ValidationInfo

from dynamics_campaign_sync.campaign_status import CAMPAIGN_STATUS_CODES, campaign_status_code
from dynamics_campaign_sync.change_activities import (
    CHANGED_ATTRIBUTE,
    DATA_VALUE_CHANGED,
    NEW_SCORE,
    NEW_VALUE,
    OLD_VALUE,
    SCORE_CHANGE,
    SCORE_CHANGED,
    SCORE_NAME,
)
from dynamics_campaign_sync.member_types import MemberType
from dynamics_campaign_sync.spec.changes import ValueTestError, condition_on
from dynamics_campaign_sync.spec.describe import render_doc_md
from dynamics_campaign_sync.spec.logic import LogicError, Node, parse_logic, references
from dynamics_campaign_sync.spec.operators import (
    EMPTY_DATES_OPERATORS,
    TEMPORAL_KINDS,
    ConditionValueError,
    Operator,
    Range,
    ValueKind,
    match_ranges,
    normalize_value,
    parse_operator,
    value_kind,
    values_of,
)
from dynamics_campaign_sync.spec.relative_dates import (
    Anchor,
    Duration,
    RelativeDateError,
    anchor_instant,
    check_timezone,
    parse_duration,
)

IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
DEFAULT_CONNECTION_ID = "campaign_sync_source"

Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN, max_length=63)]

#: Dynamics campaign ``statuscode`` values by name (all "Active" by statecode except inactive).


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _custom_error(message: str) -> PydanticCustomError:
    """An error whose message is shown as written (no 'Value error,' prefix)."""
    return PydanticCustomError("spec", message.replace("{", "{{").replace("}", "}}"))


class Condition(_Model):
    """``field operator value``: one comparison on a people or activity column.

    ``timezone`` goes with ``in_time_frame`` (the zone of its calendar periods, UTC by default);
    ``empty_dates: match`` with a ``before``-like date operator also matches empty values, as Marketo does.
    """

    field: Identifier
    operator: Operator
    timezone: str | None = None
    value: Any = Field(default=None, validate_default=True)
    empty_dates: Literal["no_match", "match"] = "no_match"

    @field_validator("operator", mode="before")
    @classmethod
    def _known_operator(cls, raw: object) -> Operator:
        try:
            return parse_operator(raw)
        except ConditionValueError as error:
            raise _custom_error(str(error)) from None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, raw: str | None, info: ValidationInfo) -> str | None:
        if raw is not None and info.data.get("operator") not in (None, Operator.IN_TIME_FRAME):
            raise _custom_error("timezone goes only with in_time_frame")
        try:
            return None if raw is None else check_timezone(raw)
        except RelativeDateError as error:
            raise _custom_error(str(error)) from None

    @field_validator("value")
    @classmethod
    def _value_fits_operator(cls, raw: object, info: ValidationInfo) -> Any:
        operator = info.data.get("operator")
        if operator is None:  # the operator itself was invalid and is reported already
            return raw
        try:
            return normalize_value(operator, raw, info.data.get("timezone"))
        except ConditionValueError as error:
            raise _custom_error(str(error)) from None

    @field_validator("empty_dates")
    @classmethod
    def _empty_dates_with_before(cls, raw: str, info: ValidationInfo) -> str:
        operator, value = info.data.get("operator"), info.data.get("value")
        if raw == "no_match" or operator is None or "value" not in info.data:
            return raw
        if operator not in EMPTY_DATES_OPERATORS or value_kind(operator, value) not in TEMPORAL_KINDS:
            raise _custom_error(f"empty_dates: match goes only with before, on_or_before, in_past_before (or lt, "
                                f"lte on a date), not with {operator.value} {value}")
        return raw

    @property
    def kind(self) -> ValueKind:
        return value_kind(self.operator, self.value)

    @property
    def values(self) -> tuple[Any, ...]:
        return values_of(self.value)

    @property
    def matches_empty(self) -> bool:
        """Whether an empty value matches (``is_empty``, or a date filter with ``empty_dates: match``)."""
        return self.empty_dates == "match"


class DemographicFilter(Condition):
    """A condition on the person's own columns (job title, country, company size …)."""

    type: Literal["demographic"]


#: The window forms that are a date operator on ``occurred_at``, by field name.
_WINDOW_OPERATORS = {
    "in_past": Operator.IN_PAST,
    "in_past_before": Operator.IN_PAST_BEFORE,
    "in_time_frame": Operator.IN_TIME_FRAME,
    "after": Operator.AFTER,
    "before": Operator.BEFORE,
    "on_or_after": Operator.ON_OR_AFTER,
    "on_or_before": Operator.ON_OR_BEFORE,
    "between": Operator.BETWEEN,
}


class Window(_Model):
    """When activities count. Start inclusive, end exclusive; never past the interval end.

    Exactly one of: ``in_interval: true`` (the run's data interval), ``in_past_days: N``, or one date
    operator on the activity's time (``in_past: 2 weeks``, ``in_past_before``, ``in_time_frame`` with an
    optional ``timezone``, ``after``, ``before``, ``on_or_after``, ``on_or_before``, ``between: [a, b]``),
    meaning what it means in a condition (dates include whole UTC days). Without a window a filter counts
    everything before the interval end.
    """

    in_past_days: int | None = Field(default=None, ge=1)
    in_interval: bool = False
    timezone: str | None = None
    in_past: Any = None
    in_past_before: Any = None
    in_time_frame: Any = None
    after: Any = None
    before: Any = None
    on_or_after: Any = None
    on_or_before: Any = None
    between: Any = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, raw: str | None) -> str | None:
        try:
            return None if raw is None else check_timezone(raw)
        except RelativeDateError as error:
            raise _custom_error(str(error)) from None

    @field_validator(*_WINDOW_OPERATORS)
    @classmethod
    def _date_operator_value(cls, raw: Any, info: ValidationInfo) -> Any:
        if raw is None:
            return None
        assert info.field_name is not None
        operator = _WINDOW_OPERATORS[info.field_name]
        try:
            value = normalize_value(operator, raw, info.data.get("timezone"))
        except ConditionValueError as error:
            raise _custom_error(str(error)) from None
        if value_kind(operator, value) not in TEMPORAL_KINDS:
            raise _custom_error(f"{info.field_name} needs dates, got {raw!r}")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Window:
        chosen = [self.in_past_days is not None, self.in_interval,
                  *(getattr(self, name) is not None for name in _WINDOW_OPERATORS)]
        if sum(chosen) != 1:
            names = ", ".join(dict.fromkeys(["in_past_days", "between", "in_interval", *_WINDOW_OPERATORS]))
            raise _custom_error(f"give exactly one of {names}")
        if self.timezone is not None and self.in_time_frame is None:
            raise _custom_error("timezone goes only with in_time_frame")
        if self.between is not None and not any(isinstance(v, Anchor) for v in self.between):
            start, end = _window_range(Operator.BETWEEN, self.between, dt.datetime.now(dt.UTC))
            if start is not None and end is not None and start >= end:
                raise _custom_error("between needs the first date before the second")
        return self

    @property
    def operator(self) -> tuple[Operator, Any] | None:
        """The date operator and value this window is (None for ``in_interval``)."""
        if self.in_past_days is not None:
            return Operator.IN_PAST, Duration(self.in_past_days, "day")
        for name, operator in _WINDOW_OPERATORS.items():
            value = getattr(self, name)
            if value is not None:
                return operator, value
        return None

    def bounds(
        self, interval_start: dt.datetime, interval_end: dt.datetime
    ) -> tuple[dt.datetime | None, dt.datetime]:
        """``[start, end)`` for an evaluation of the interval ``[interval_start, interval_end)``."""
        chosen = self.operator
        if chosen is None:
            return interval_start, interval_end
        start, end = _window_range(*chosen, interval_end)
        return start, interval_end if end is None else min(end, interval_end)


def _window_range(operator: Operator, value: Any, as_of: dt.datetime) -> Range:
    """The one range a window's date operator matches; ``between`` ends at an instant it names (datetimes
    and anchors: ``[a, b)``, the window's own convention) and after a whole last day."""
    (low, high), = match_ranges(operator, value, as_of)
    if operator is Operator.BETWEEN and isinstance(value[1], dt.datetime | Anchor):
        high = anchor_instant(value[1], as_of) if isinstance(value[1], Anchor) else value[1]
    return low, high


class _ActivityFilter(_Model):
    activity: Identifier
    where: tuple[Condition, ...] = ()
    window: Window | None = None

    def bounds(
        self, interval_start: dt.datetime, interval_end: dt.datetime
    ) -> tuple[dt.datetime | None, dt.datetime]:
        """The activity window of this filter for one evaluation; see :class:`Window`."""
        if self.window is None:
            return None, interval_end
        return self.window.bounds(interval_start, interval_end)


class _Times(_Model):
    """How often the activity must have happened in the window: at least ``min_times``, at most ``max_times``."""

    min_times: int = Field(default=1, ge=1)
    max_times: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _min_below_max(self) -> Self:
        if self.max_times is not None and self.max_times < self.min_times:
            raise _custom_error(f"max_times ({self.max_times}) is below min_times ({self.min_times})")
        return self


class BehaviourFilter(_ActivityFilter, _Times):
    """The person did ``activity`` (matching ``where``) at least ``min_times`` in the window."""

    type: Literal["behaviour"]


class InactivityFilter(_ActivityFilter):
    """The person did *not* do ``activity`` (matching ``where``) in the window."""

    type: Literal["inactivity"]
    max_times: Literal[0] = 0

    @property
    def min_times(self) -> int:
        return 0


def _test_on(column: str, raw: Any, *, amounts: bool) -> Any:
    try:
        return condition_on(column, raw, amounts=amounts)
    except ValueTestError as error:
        raise _custom_error(str(error)) from None


class _ChangeFilter(_Times):
    """A filter on change activities (see ``change_activities``): evaluated as the behaviour filter
    :meth:`as_behaviour` gives, so every evaluator counts changes exactly as it counts other activities.

    A subclass names its activity type, the field naming what changed with the attribute holding it, and
    its optional value tests with the attribute each tests."""

    activity_type: ClassVar[str]
    named: ClassVar[tuple[str, str]]
    tests: ClassVar[dict[str, str]]
    amounts: ClassVar[bool] = False

    window: Window | None = None

    @field_validator("previous_value", "new_value", "change", "new_score", mode="before", check_fields=False)
    @classmethod
    def _on_attribute(cls, raw: Any, info: ValidationInfo) -> Any:
        return _test_on(cls.tests[str(info.field_name)], raw, amounts=cls.amounts)

    def as_behaviour(self) -> BehaviourFilter:
        field_name, column = self.named
        named = Condition(field=column, operator=Operator.IS, value=getattr(self, field_name))
        tests = (getattr(self, name) for name in self.tests)
        return BehaviourFilter(type="behaviour", activity=self.activity_type,
                               where=(named, *(test for test in tests if test is not None)),
                               window=self.window, min_times=self.min_times, max_times=self.max_times)


class DataValueChangedFilter(_ChangeFilter):
    """Marketo's "Data Value Changed": the person's ``attribute`` changed from a value matching
    ``previous_value`` to one matching ``new_value`` (absent: any) at least ``min_times`` in the window."""

    activity_type = DATA_VALUE_CHANGED
    named = ("attribute", CHANGED_ATTRIBUTE)
    tests = {"previous_value": OLD_VALUE, "new_value": NEW_VALUE}

    type: Literal["data_value_changed"]
    attribute: Identifier
    previous_value: Condition | None = None
    new_value: Condition | None = None


class ScoreChangedFilter(_ChangeFilter):
    """Marketo's "Score was Changed": the score ``score`` changed by an amount matching ``change`` (e.g.
    ``at least 10``, ``between -5 and 5``) to a score matching ``new_score`` (absent: any) at least
    ``min_times`` in the window."""

    activity_type = SCORE_CHANGED
    named = ("score", SCORE_NAME)
    tests = {"change": SCORE_CHANGE, "new_score": NEW_SCORE}
    amounts = True

    type: Literal["score_changed"]
    score: Identifier
    change: Condition | None = None
    new_score: Condition | None = None


class _RecordRef(_Model):
    """A Dynamics record by ``id`` (GUID) or by ``name``, resolved at run time."""

    id: str | None = None
    name: str | None = Field(default=None, min_length=1)

    @field_validator("id")
    @classmethod
    def _guid(cls, raw: str | None) -> str | None:
        if raw is None:
            return None
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            raise _custom_error(f"{raw!r} is not a GUID") from None

    @model_validator(mode="after")
    def _exactly_one(self) -> _RecordRef:
        if (self.id is None) == (self.name is None):
            raise _custom_error("give exactly one of id, name")
        return self


class MemberOfListFilter(_RecordRef):
    """The person (by Dynamics id) is a member of the Dynamics marketing list with this ``id`` or ``name``
    (a name must match one list), read once per run."""

    type: Literal["member_of_list"]

    @property
    def fact_key(self) -> str:
        """The key of this filter's members in the run's membership facts."""
        return f"list:{self.id}" if self.id is not None else f"list-name:{self.name}"

    def describe(self) -> str:
        return f"list {self.id}" if self.id is not None else f"list {self.name!r}"


class MemberOfCampaignSyncFilter(_Model):
    """The person (by Dynamics id) is currently a member we added to the campaign of spec ``spec``."""

    type: Literal["member_of_campaign_sync"]
    spec: str = Field(pattern=KEY_PATTERN)

    @property
    def fact_key(self) -> str:
        return f"campaign-sync:{self.spec}"


Filter = Annotated[
    DemographicFilter | BehaviourFilter | InactivityFilter | DataValueChangedFilter | ScoreChangedFilter
    | MemberOfListFilter | MemberOfCampaignSyncFilter,
    Field(discriminator="type"),
]
ActivityFilter = BehaviourFilter | InactivityFilter
ChangeFilter = DataValueChangedFilter | ScoreChangedFilter
MembershipFilter = MemberOfListFilter | MemberOfCampaignSyncFilter
WrittenFilter = DemographicFilter | BehaviourFilter | InactivityFilter | ChangeFilter | MembershipFilter
#: A filter as the evaluators see it: change filters are behaviour filters over change activities.
EvaluatedFilter = DemographicFilter | BehaviourFilter | InactivityFilter | MembershipFilter
_TYPE_ALIASES = {"behavior": "behaviour"}


class Rules(_Model):
    """Numbered filters and the logic that combines them."""

    filters: tuple[Filter, ...] = Field(min_length=1, max_length=50)
    logic: str = "all"

    @model_validator(mode="before")
    @classmethod
    def _accept_us_spelling(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("filters"), list):
            filters = []
            for item in data["filters"]:
                if isinstance(item, dict) and isinstance(item.get("type"), str) and item["type"] in _TYPE_ALIASES:
                    item = {**item, "type": _TYPE_ALIASES[item["type"]]}
                filters.append(item)
            data = {**data, "filters": filters}
        return data

    @field_validator("logic")
    @classmethod
    def _logic_parses(cls, text: str, info: ValidationInfo) -> str:
        filters = info.data.get("filters")
        if filters is None:  # filters are invalid and reported already
            return text
        try:
            tree = parse_logic(text, len(filters))
        except LogicError as error:
            raise _custom_error(str(error)) from None
        unused = sorted(set(range(1, len(filters) + 1)) - references(tree))
        if unused:
            names = ", ".join(str(n) for n in unused)
            raise _custom_error(f"filter(s) {names} not used in the logic expression")
        return text

    @property
    def tree(self) -> Node:
        """The parsed logic."""
        return parse_logic(self.logic, len(self.filters))

    def numbered(self) -> list[tuple[int, EvaluatedFilter]]:
        """``(number, filter)`` pairs as evaluated, numbers counting from 1: a change filter is given as the
        behaviour filter it stands for (see :meth:`written` for the filters as the author wrote them)."""
        return [(number, flt.as_behaviour() if isinstance(flt, ChangeFilter) else flt)
                for number, flt in self.written()]

    def written(self) -> list[tuple[int, WrittenFilter]]:
        """``(number, filter)`` pairs as written in the spec, numbers counting from 1."""
        return list(enumerate(self.filters, start=1))

    def memberships(self) -> list[tuple[int, MembershipFilter]]:
        """The membership filters by number: their members are facts gathered before evaluation."""
        return [(number, flt) for number, flt in self.written() if isinstance(flt, MembershipFilter)]


class CampaignRef(_RecordRef):
    """The Dynamics campaign: by ``id`` (GUID) or by ``name``, resolved at run time."""

    def same_campaign_as(self, other: CampaignRef) -> bool:
        """Whether both name the same campaign as far as a spec can tell (ids equal, or names equal ignoring
        case); an id and a name that resolve to one campaign are caught at run time by the ledger."""
        if self.id is not None:
            return self.id == other.id
        return self.name is not None and other.name is not None and self.name.casefold() == other.name.casefold()

    def describe(self) -> str:
        return f"campaign {self.id}" if self.id is not None else f"campaign named {self.name!r}"


class Schedule(_Model):
    """When the sync runs: a cron expression in a timezone, from a start date."""

    cron: str
    timezone: str = "UTC"
    start_date: dt.datetime

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, cron: str) -> str:
        if not croniter.is_valid(cron):
            raise _custom_error(f"{cron!r} is not a valid cron expression")
        return cron

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, name: str) -> str:
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise _custom_error(f"{name!r} is not a known IANA timezone") from None
        return name

    @field_validator("start_date", mode="before")
    @classmethod
    def _date_is_midnight(cls, raw: Any) -> Any:
        if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
            return dt.datetime(raw.year, raw.month, raw.day)
        return raw

    @field_validator("start_date")
    @classmethod
    def _start_in_utc(cls, value: dt.datetime, info: ValidationInfo) -> dt.datetime:
        if value.tzinfo is None:
            zone = zoneinfo.ZoneInfo(info.data.get("timezone") or "UTC")
            value = value.replace(tzinfo=zone)
        return value.astimezone(dt.UTC)


#: The Dataverse table read for each member type when people come from Dynamics.
DATAVERSE_ENTITIES: dict[str, str] = {"lead": "leads", "contact": "contacts"}
_DATAVERSE_ONLY = ("entity", "change_tracking", "page_size", "join_on")


class SourceConfig(_Model):
    """Where people and activities are read: an Airflow connection and table names, or (``people: dataverse``)
    people from Dynamics' own leads/contacts and activities from the SQL connection."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    people: Literal["sql", "dataverse"] = "sql"
    conn_id: str = Field(default=DEFAULT_CONNECTION_ID, min_length=1)
    people_table: Identifier = "people"
    activities_table: Identifier = "activities"
    schema_name: Identifier | None = Field(default=None, alias="schema")
    entity: Literal["leads", "contacts"] | None = None
    change_tracking: bool = True
    page_size: int = Field(default=5000, ge=1, le=5000)
    join_on: Literal["dynamics_id", "email"] = "dynamics_id"

    @model_validator(mode="after")
    def _dataverse_options_with_dataverse(self) -> SourceConfig:
        given = [name for name in _DATAVERSE_ONLY if name in self.model_fields_set]
        if self.people == "sql" and given:
            verb = "goes" if len(given) == 1 else "go"
            raise _custom_error(f"{', '.join(given)} {verb} only with people: dataverse")
        return self

    @property
    def from_dataverse(self) -> bool:
        return self.people == "dataverse"


def _duration_in_days(data: Any, word: str, choice: str, value: str) -> Any:
    """Shorthand and duration forms of a rule with a number of days: ``"<word> 2 weeks"`` or
    ``{<choice>: value, <word>: "2 weeks"}`` become ``days`` (Marketo's units: a week is 7 days, a month
    30), keeping the duration as written in ``<word>`` for descriptions."""
    if isinstance(data, str) and data.startswith(f"{word} "):
        data = {choice: value, word: data[len(word) + 1:]}
    elif isinstance(data, str):
        return {choice: data}
    if not isinstance(data, dict) or data.get(word) is None:
        return data
    if data.get("days") is not None:
        raise _custom_error(f"give days or {word}, not both")
    try:
        duration = parse_duration(data[word], word)
    except RelativeDateError as error:
        raise _custom_error(str(error)) from None
    if duration.whole_days is None:
        raise _custom_error(f"{word} needs whole days, got {str(duration)!r}")
    return {choice: value, **data, "days": duration.whole_days, word: str(duration)}


class _DaysChoice(_Model):
    """A choice of which one option takes a number of days (``days``, or written as a duration in ``phrase``)."""

    choice: ClassVar[str]  # the field naming the option
    with_days: ClassVar[str]  # the option that takes days
    phrase: ClassVar[str]  # the field of the duration as written

    days: int | None = Field(default=None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _duration_in_days(data, cls.phrase, cls.choice, cls.with_days)

    @model_validator(mode="after")
    def _days_only_with_its_option(self) -> Self:
        if (getattr(self, self.choice) == self.with_days) != (self.days is not None):
            raise _custom_error(f"days is required with {self.with_days} and only there")
        return self

    @property
    def period(self) -> str:
        """The duration as written: ``2 weeks``, or ``3 days``."""
        return getattr(self, self.phrase) or str(Duration(self.days or 0, "day"))


class QualificationRule(_DaysChoice):
    """How often one person may qualify: ``once``, ``every_time`` or ``every_n_days`` (with ``days``, or
    ``every: 2 weeks``; shorthand ``qualification: every 2 weeks``)."""

    choice, with_days, phrase = "rule", "every_n_days", "every"
    rule: Literal["once", "every_time", "every_n_days"] = "once"
    every: str | None = None


class RemovalPolicy(_DaysChoice):
    """When members who stop qualifying are removed: ``mirror``, ``never`` or ``after_days`` (with ``days``,
    or ``after: 3 months``; shorthand ``removal: after 3 months``)."""

    choice, with_days, phrase = "policy", "after_days", "after"
    policy: Literal["mirror", "never", "after_days"] = "mirror"
    after: str | None = None


class DriftPolicy(_Model):
    """What follows drift, Dynamics-side changes to our owned lists. ``removed_in_dynamics`` is for members
    someone else took out of our list: ``respect`` (default) leaves them out until they stop qualifying and
    qualify again; ``restore`` re-adds them while they qualify. (Deleted leads/contacts are never written to.)"""

    removed_in_dynamics: Literal["respect", "restore"] = "respect"


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def resolve_limit(limit: int | str | None, base: int) -> int | None:
    """The absolute number a limit allows (None: unlimited); ``"10%"`` is 10 % of ``base`` (the campaign's
    current members, or the rows read), rounded down."""
    if limit is None:
        return None
    if isinstance(limit, int):
        return limit
    match = _PERCENT.match(limit)
    assert match is not None, "validated by Guard"
    return int(base * float(match.group(1)) // 100)


class Guard(_Model):
    """Safety limits per run; a run that would exceed them stops before writing.

    ``max_adds``/``max_removes`` are a whole number or a percentage of the
    campaign's current members (``"10%"``); ``max_invalid_rows`` a whole number
    or a percentage of the source rows the evaluation read (see
    ``invalid_rows``); absent means unlimited.
    """

    max_adds: int | str | None = None
    max_removes: int | str | None = None
    max_invalid_rows: int | str | None = None
    allow_empty_source: bool = False

    @field_validator("max_adds", "max_removes", "max_invalid_rows", mode="before")
    @classmethod
    def _number_or_percent(cls, value: Any) -> int | str | None:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        match = _PERCENT.match(value) if isinstance(value, str) else None
        if match is None or float(match.group(1)) > 100:
            raise _custom_error(f"{value!r} is neither a whole number >= 0 nor a percentage like '10%'")
        return f"{match.group(1)}%"

    def max_adds_for(self, current_members: int) -> int | None:
        return resolve_limit(self.max_adds, current_members)

    def max_removes_for(self, current_members: int) -> int | None:
        return resolve_limit(self.max_removes, current_members)

    def max_invalid_rows_for(self, rows_read: int) -> int | None:
        return resolve_limit(self.max_invalid_rows, rows_read)



class TriggerActivity(_Model):
    """One kind of activity that wakes the campaign: a type and conditions, as in a behaviour filter's."""

    activity: Identifier
    where: tuple[Condition, ...] = ()


class QueueEvents(_Model):
    """A message queue that wakes the campaign, read by Airflow's common-messaging ``MessageQueueTrigger``:
    ``scheme`` picks the provider (``redis+pubsub``, ``kafka``, ``sqs``), ``options`` are that provider's trigger
    arguments (for Redis ``channels``, ``redis_conn_id``, ``poll_interval``). A message only wakes the campaign:
    who qualifies is read from the activities table past the watermark."""

    scheme: str = Field(pattern=r"^[a-z][a-z0-9+.-]*$")
    options: dict[str, Any] = Field(default_factory=dict)


class Trigger(_Model):
    """Trigger mode: the activities that wake the campaign and how their arrival is noticed.

    ``watermark`` names the activities table's column that orders arrivals: a monotonic id (``kind: id``, the
    contract's ``activity_id`` by default) or an ingestion timestamp (``kind: timestamp``). ``events`` is
    ``source_table`` (poll the activities table past the ledger's watermark every ``poll_seconds``) or
    ``queue`` (with a ``queue`` section). ``max_activities_per_run`` bounds one triggered run; more waits for the
    next run."""

    activities: tuple[TriggerActivity, ...] = Field(min_length=1, max_length=20)
    events: Literal["source_table", "queue"] = "source_table"
    watermark: Identifier = "activity_id"
    watermark_kind: Literal["id", "timestamp"] = "id"
    poll_seconds: float = Field(default=5.0, gt=0, le=3600)
    queue: QueueEvents | None = None
    max_activities_per_run: int = Field(default=10_000, ge=1)

    @model_validator(mode="after")
    def _queue_with_queue_events(self) -> Trigger:
        if self.events == "queue" and self.queue is None:
            raise _custom_error("events: queue needs a queue section (scheme and options)")
        if self.events == "source_table" and self.queue is not None:
            raise _custom_error("a queue section is only read with events: queue")
        return self

    @property
    def activity_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.activity for a in self.activities))


#: The evaluation period of runs of a trigger-only spec (no schedule) that have no data interval.
TRIGGER_ONLY_PERIOD = ("0 0 * * *", "UTC")


class CampaignSpec(_Model):
    """One campaign sync: who qualifies, for which Dynamics campaign, when and how safely."""

    key: str = Field(pattern=KEY_PATTERN)
    title: str = Field(min_length=1)
    description: str = ""
    owner: str = Field(min_length=1)
    tags: tuple[str, ...] = ()
    campaign: CampaignRef
    member_types: tuple[MemberType, ...] = (MemberType.LEAD, MemberType.CONTACT)
    #: The batch schedule; null only for a trigger-only spec (its sync DAG then runs when asked).
    schedule: Schedule | None
    trigger: Trigger | None = None
    source: SourceConfig = SourceConfig()
    rules: Rules
    qualification: QualificationRule = QualificationRule()
    removal: RemovalPolicy = RemovalPolicy()
    drift: DriftPolicy = DriftPolicy()
    guard: Guard = Guard()
    blocked_statuses: tuple[int, ...] = (CAMPAIGN_STATUS_CODES["inactive"],)

    _path: str | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _member_types_from_entity(cls, data: Any) -> Any:
        """``source.entity`` alone says which people are synced (``leads``: leads)."""
        if not isinstance(data, dict):
            return data
        source = data.get("source")
        entity = source.get("entity") if isinstance(source, dict) else None
        if "member_types" not in data and entity in DATAVERSE_ENTITIES.values():
            kind = next(k for k, v in DATAVERSE_ENTITIES.items() if v == entity)
            data = {**data, "member_types": [kind]}
        return data

    @field_validator("source")
    @classmethod
    def _entity_matches_member_types(cls, source: SourceConfig, info: ValidationInfo) -> SourceConfig:
        member_types = info.data.get("member_types")
        if source.entity is not None and member_types is not None:
            read = [k for k, v in DATAVERSE_ENTITIES.items() if v == source.entity]
            if list(member_types) != read:
                raise _custom_error(f"entity {source.entity} holds {read[0]}s only, but member_types is "
                                    f"{', '.join(member_types)}: drop entity to read both tables")
        return source

    @field_validator("member_types", mode="before")
    @classmethod
    def _member_types_shorthand(cls, raw: Any) -> Any:
        if raw == "both":
            return list(MemberType)
        return [raw] if isinstance(raw, str) else raw

    @field_validator("member_types")
    @classmethod
    def _member_types_unique(cls, value: tuple[MemberType, ...]) -> tuple[MemberType, ...]:
        if not value:
            raise _custom_error("give at least one of lead, contact")
        if len(set(value)) != len(value):
            raise _custom_error("member types are listed twice")
        return value

    @field_validator("blocked_statuses", mode="before")
    @classmethod
    def _status_codes(cls, raw: Any) -> Any:
        items: Sequence[Any] = [raw] if isinstance(raw, str | int) else raw
        if not isinstance(items, list | tuple):
            return raw
        codes = []
        for item in items:
            try:
                codes.append(campaign_status_code(item))
            except (ValueError, AttributeError) as error:
                raise _custom_error(str(error)) from None
        return tuple(sorted(set(codes)))

    @model_validator(mode="after")
    def _scheduled_or_triggered(self) -> CampaignSpec:
        if self.schedule is None and self.trigger is None:
            raise _custom_error("schedule is null: give a schedule, or a trigger section for a trigger-only "
                                "campaign")
        return self

    @property
    def period(self) -> tuple[str, str]:
        """``(cron, timezone)`` of the batch schedule, which gives runs without a data interval theirs."""
        if self.schedule is None:
            return TRIGGER_ONLY_PERIOD
        return self.schedule.cron, self.schedule.timezone

    @property
    def path(self) -> str | None:
        """The YAML file this spec was loaded from, if any."""
        return self._path

    @property
    def blocked_status_codes(self) -> frozenset[int]:
        return frozenset(self.blocked_statuses)

    def doc_md(self) -> str:
        """Markdown describing the spec, for the Airflow UI (``doc_md`` of the DAG)."""
        return render_doc_md(self)
