"""Hand-written SQL for a spec, as someone fluent in DuckDB or PostgreSQL would write it for the benchmark.

Plain conditions on the columns (``lower(job_title) LIKE '%director%'``, ``company_size >= 200``), one
``IN (SELECT person_id … GROUP BY person_id HAVING count(*) >= n)`` per behaviour filter and ``NOT EXISTS``
per inactivity filter, combined by the logic as written. ``coalesce(…, false)`` only where NULL would
change the answer under ``NOT``. No type guards: the sample columns have the right types. It returns what
a sync needs of each qualified person (id, member type, Dynamics id, email), as our evaluation does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dynamics_campaign_sync.spec.logic import And, Node, Not, Ref
from dynamics_campaign_sync.spec.models import CampaignSpec, Condition, DemographicFilter, InactivityFilter
from dynamics_campaign_sync.spec.operators import TEMPORAL_KINDS, Operator, match_ranges

KNOWN = ("page_url", "form_name", "email_name", "link_url")


def _quote(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'" if isinstance(value, str) else repr(value)


def _stamp(moment: dt.datetime) -> str:
    return "TIMESTAMPTZ '" + moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "+00'"


def _json_text(key: str, dialect: str) -> str:
    if dialect == "duckdb":
        return f"json_extract_string(attributes, '$.{key}')"
    return f"(attributes::jsonb ->> '{key}')"


def _dates(column: str, cond: Condition, as_of: dt.datetime) -> str:
    """A date condition (absolute or relative to ``as_of``) as ranges of instants."""
    ranges = []
    for low, high in match_ranges(cond.operator, cond.value, as_of):
        bounds = ([f"{column} >= {_stamp(low)}"] if low else []) + ([f"{column} < {_stamp(high)}"] if high else [])
        ranges.append("(" + " AND ".join(bounds) + ")")
    return "(" + " OR ".join(ranges) + ")"


def _json_number(key: str, dialect: str) -> str:
    if dialect == "duckdb":
        return f"TRY_CAST(json_extract_string(attributes, '$.{key}') AS DOUBLE)"
    return f"(attributes::jsonb ->> '{key}')::numeric"


def condition(column: str, cond: Condition, dialect: str, json_key: bool = False,
              as_of: dt.datetime | None = None) -> str:
    op, values = cond.operator, [v.lower() if isinstance(v, str) else v for v in cond.values]
    if op in (Operator.IS_EMPTY, Operator.IS_NOT_EMPTY):
        sql = f"({column} IS NULL OR trim({column}) = '')"
        return sql if op is Operator.IS_EMPTY else f"NOT {sql}"
    if cond.kind in TEMPORAL_KINDS and as_of is not None:
        return _dates(column, cond, as_of)
    if json_key:
        column = (_json_text if isinstance(values[0], str) else _json_number)(column, dialect)
    if isinstance(values[0], str):
        low = f"lower({column})"
        positive = {
            Operator.IS: f"{low} IN ({', '.join(map(_quote, values))})",
            Operator.IN: f"{low} IN ({', '.join(map(_quote, values))})",
            Operator.CONTAINS: " OR ".join(f"{low} LIKE {_quote('%' + v + '%')}" for v in values),
            Operator.STARTS_WITH: " OR ".join(f"{low} LIKE {_quote(v + '%')}" for v in values),
            Operator.ENDS_WITH: " OR ".join(f"{low} LIKE {_quote('%' + v)}" for v in values),
        }
        negative = {Operator.IS_NOT: Operator.IS, Operator.NOT_IN: Operator.IN,
                    Operator.NOT_CONTAINS: Operator.CONTAINS}
        if op in negative:
            return f"({column} IS NULL OR NOT ({positive[negative[op]]}))"
        return f"({positive[op]})"
    symbols = {Operator.GT: ">", Operator.GTE: ">=", Operator.LT: "<", Operator.LTE: "<="}
    if op in symbols:
        return f"{column} {symbols[op]} {cond.value}"
    if op is Operator.BETWEEN:
        return f"{column} BETWEEN {cond.value[0]} AND {cond.value[1]}"
    listed = ", ".join(str(v) for v in values)
    return f"{column} IN ({listed})" if op in (Operator.IS, Operator.IN) else \
        f"({column} IS NULL OR {column} NOT IN ({listed}))"


def _activities(flt: Any, interval: tuple[dt.datetime, dt.datetime], dialect: str) -> str:
    start, end = flt.bounds(*interval)
    where = [f"activity_type = {_quote(flt.activity)}", f"occurred_at < {_stamp(end)}"]
    if start is not None:
        where.append(f"occurred_at >= {_stamp(start)}")
    for cond in flt.where:
        where.append(condition(cond.field, cond, dialect, json_key=cond.field not in KNOWN))
    return " AND ".join(where)


def query(spec: CampaignSpec, interval: tuple[dt.datetime, dt.datetime], dialect: str) -> str:
    """The people (identity columns, id first) that qualify for ``spec`` as of ``interval[1]``."""
    parts = {}
    for number, flt in spec.rules.numbered():
        if isinstance(flt, DemographicFilter):
            parts[number] = f"coalesce({condition('p.' + flt.field, flt, dialect, as_of=interval[1])}, false)"
        elif isinstance(flt, InactivityFilter):
            parts[number] = (f"NOT EXISTS (SELECT 1 FROM activities a WHERE a.person_id = p.person_id AND "
                             f"{_activities(flt, interval, dialect)})")
        else:
            having = f"count(*) >= {flt.min_times}" + (f" AND count(*) <= {flt.max_times}" if flt.max_times else "")
            parts[number] = (f"p.person_id IN (SELECT person_id FROM activities WHERE "
                             f"{_activities(flt, interval, dialect)} GROUP BY person_id HAVING {having})")
    types = ", ".join(map(_quote, spec.member_types))
    return (f"SELECT p.person_id, p.member_type, p.dynamics_id, p.email FROM people p WHERE p.member_type IN ({types}) AND "
            f"(p.created_at IS NULL OR p.created_at < {_stamp(interval[1])}) AND {_logic(spec.rules.tree, parts)}")


def _logic(node: Node, parts: dict[int, str]) -> str:
    if isinstance(node, Ref):
        return parts[node.number]
    if isinstance(node, Not):
        return f"NOT ({_logic(node.operand, parts)})"
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(_logic(operand, parts) for operand in node.operands) + ")"
