"""Benchmark of qualification: our evaluator against a DuckDB SQL reference, on the sample data.

    python include/benchmarks/bench_qualify.py [--people 1000000] [--activities 20000000] [--repeat 3]

1. Generates the sample SQLite database (or reuses it when it already holds
   the requested sizes): ``.data/source.db``.
2. Copies it once into a DuckDB database (``.data/source.duckdb``, reused
   while the SQLite data is unchanged): the same rows, in DuckDB's columnar format.
3. For each example spec in ``dags/campaigns/``, evaluates the interval that
   ends at the data end with our evaluator (``SqlSource`` over the SQLite
   file, the product's default path) and with one DuckDB SQL query that
   encodes the same rules, each run in a fresh process so that peak RSS is
   per run. Both answers are compared (same people, by digest).

Prints wall time (median of ``--repeat`` runs), people/s (people in the
table per second), activity rows/s (activity rows the filters counted per
second), peak RSS, and the ratio ours/DuckDB. Targets: ratio <= 1.5, peak RSS <= 2 GiB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "include") not in sys.path:  # our package itself is installed (make install)
    sys.path.insert(0, str(ROOT / "include"))

import duckdb  # noqa: E402 - a dev/bench dependency only
import pandas as pd  # noqa: E402

import sample_data  # noqa: E402
from dynamics_campaign_sync.qualification import SqlSource, evaluate  # noqa: E402
from dynamics_campaign_sync.spec import CampaignSpec, load_spec  # noqa: E402
from dynamics_campaign_sync.spec.logic import And, Node, Not, Or, Ref  # noqa: E402
from dynamics_campaign_sync.spec.models import Condition, DemographicFilter  # noqa: E402
from dynamics_campaign_sync.spec.operators import (  # noqa: E402
    ORDERED,
    Operator,
    ValueKind,
    is_negative,
    positive,
    temporal_bounds,
)
from sample_data.writer import read_info  # noqa: E402

SPEC_DIR = ROOT / "dags" / "campaigns"
DUCKDB_INFO = "sample_data_info"
GIB = 1024**3


# -- DuckDB reference: the same rules as one SQL query ------------------------------------------


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _instant(value: dt.datetime) -> str:
    return "TIMESTAMP '" + value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "'"


def _duck_condition(column: str, condition: Condition, as_of: dt.datetime) -> str:
    """The condition in DuckDB SQL with our semantics (case-insensitive text, negatives match NULL)."""
    base = positive(condition.operator)
    kind = condition.kind
    if base is Operator.IS_EMPTY:
        sql = f"({column} IS NULL OR trim(CAST({column} AS VARCHAR)) = '')"
        return f"NOT {sql}" if is_negative(condition.operator) else sql
    values = [str(v).lower() for v in condition.values]
    text = f"lower(CAST({column} AS VARCHAR))"
    number = f"TRY_CAST({column} AS DOUBLE)"
    moment = f"TRY_CAST({column} AS TIMESTAMP)"
    if kind is ValueKind.TEXT:
        templates = {
            Operator.IS: f"{text} IN ({', '.join(map(_quote, values))})",
            Operator.IN: f"{text} IN ({', '.join(map(_quote, values))})",
            Operator.CONTAINS: " OR ".join(f"contains({text}, {_quote(v)})" for v in values),
            Operator.STARTS_WITH: " OR ".join(f"starts_with({text}, {_quote(v)})" for v in values),
            Operator.ENDS_WITH: " OR ".join(f"suffix({text}, {_quote(v)})" for v in values),
        }
        sql = templates[base]
    elif kind is ValueKind.NUMBER:
        symbols = {Operator.GT: ">", Operator.GTE: ">=", Operator.LT: "<", Operator.LTE: "<="}
        if base in ORDERED:
            sql = f"{number} {symbols[base]} {condition.value}"
        elif base is Operator.BETWEEN:
            sql = f"{number} BETWEEN {condition.value[0]} AND {condition.value[1]}"
        else:
            sql = f"{number} IN ({', '.join(str(float(v)) for v in condition.values)})"
    elif base is Operator.IN_PAST:
        low = as_of - dt.timedelta(days=condition.value)
        sql = f"{moment} >= {_instant(low)} AND {moment} < {_instant(as_of)}"
    elif kind in (ValueKind.DAY, ValueKind.INSTANT) and base in ORDERED:
        low, high = temporal_bounds(condition.value)
        bound = {
            Operator.GT: (">=", high),
            Operator.GTE: (">=", low),
            Operator.LT: ("<", low),
            Operator.LTE: ("<", high),
        }
        symbol, limit = bound[base]
        sql = f"{moment} {symbol} {_instant(limit)}"
    else:
        raise NotImplementedError(f"the DuckDB reference does not cover {condition.operator} on {kind}")
    sql = f"coalesce(({sql}), false)"
    return f"NOT {sql}" if is_negative(condition.operator) else sql


def _duck_logic(node: Node) -> str:
    if isinstance(node, Ref):
        return f"f{node.number}"
    if isinstance(node, Not):
        return f"(NOT {_duck_logic(node.operand)})"
    joiner = " AND " if isinstance(node, And) else " OR "
    assert isinstance(node, And | Or)
    return "(" + joiner.join(_duck_logic(operand) for operand in node.operands) + ")"


def duckdb_query(spec: CampaignSpec, start: dt.datetime, end: dt.datetime) -> str:
    """One query returning the person ids that qualify for ``spec`` as of ``end``."""
    known = {"page_url", "form_name", "email_name", "link_url"}
    ctes, joins, flags = [], [], []
    for number, flt in spec.rules.numbered():
        if isinstance(flt, DemographicFilter):
            flags.append(f"{_duck_condition('p.' + flt.field, flt, end)} AS f{number}")
            continue
        window_start, window_end = flt.bounds(start, end)
        where = [f"activity_type = {_quote(flt.activity)}", f"occurred_at < {_instant(window_end)}"]
        if window_start is not None:
            where.append(f"occurred_at >= {_instant(window_start)}")
        for condition in flt.where:
            column = (
                condition.field
                if condition.field in known
                else (f"json_extract_string(attributes, '$.\"{condition.field}\"')")
            )
            where.append(_duck_condition(column, condition, end))
        ctes.append(
            f"b{number} AS (SELECT person_id, count(*) AS n FROM activities "
            f"WHERE {' AND '.join(where)} GROUP BY person_id)"
        )
        joins.append(f"LEFT JOIN b{number} ON b{number}.person_id = p.person_id")
        count = f"coalesce(b{number}.n, 0)"
        if flt.type == "inactivity":
            flags.append(f"{count} = 0 AS f{number}")
        else:
            upper = f" AND {count} <= {flt.max_times}" if flt.max_times is not None else ""
            flags.append(f"({count} >= {flt.min_times}{upper}) AS f{number}")
    types = ", ".join(map(_quote, spec.member_types))
    flags_cte = (
        f"flags AS (SELECT p.person_id, {', '.join(flags)} FROM people p {' '.join(joins)} "
        f"WHERE p.member_type IN ({types}) AND (p.created_at IS NULL OR p.created_at < {_instant(end)}))"
    )
    return f"WITH {', '.join([*ctes, flags_cte])} SELECT person_id FROM flags WHERE {_duck_logic(spec.rules.tree)}"


def build_duckdb_copy(sqlite_path: Path, duck_path: Path) -> float | None:
    """Copy the SQLite tables into DuckDB once; None when an up-to-date copy exists."""
    info = read_info(sqlite_path)
    if duck_path.exists():
        try:
            with duckdb.connect(str(duck_path), read_only=True) as existing:
                if dict(existing.execute(f"SELECT name, value FROM {DUCKDB_INFO}").fetchall()) == info:
                    return None
        except duckdb.Error:
            pass
        duck_path.unlink()
    started = time.perf_counter()
    partial = duck_path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    with duckdb.connect(str(partial)) as duck:
        duck.execute(
            "CREATE TABLE people (person_id VARCHAR, member_type VARCHAR, dynamics_id VARCHAR, email VARCHAR, "
            "first_name VARCHAR, last_name VARCHAR, job_title VARCHAR, industry VARCHAR, country VARCHAR, "
            "company_name VARCHAR, company_size BIGINT, lead_score BIGINT, created_at TIMESTAMP, updated_at TIMESTAMP)"
        )
        duck.execute(
            "CREATE TABLE activities (activity_id BIGINT, person_id VARCHAR, activity_type VARCHAR, "
            "occurred_at TIMESTAMP, page_url VARCHAR, form_name VARCHAR, email_name VARCHAR, link_url VARCHAR, "
            "attributes VARCHAR)"
        )
        for table in ("people", "activities"):
            cursor = source.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cursor.description]
            casts = ", ".join(f'CAST("{n}" AS {_duck_type(table, n)})' for n in names)
            while rows := cursor.fetchmany(1_000_000):
                chunk = pd.DataFrame.from_records(rows, columns=names)  # noqa: F841 - scanned by DuckDB below
                duck.execute(f"INSERT INTO {table} SELECT {casts} FROM chunk")
        duck.execute(f"CREATE TABLE {DUCKDB_INFO} (name VARCHAR, value VARCHAR)")
        duck.executemany(f"INSERT INTO {DUCKDB_INFO} VALUES (?, ?)", sorted(info.items()))
    source.close()
    partial.rename(duck_path)
    return time.perf_counter() - started


def _duck_type(table: str, column: str) -> str:
    if column in ("company_size", "lead_score", "activity_id"):
        return "BIGINT"
    if column in ("created_at", "updated_at", "occurred_at"):
        return "TIMESTAMP"
    return "VARCHAR"


# -- one measured run, in its own process -------------------------------------------------------


class TimedSource:
    """Wraps a source to measure the time spent in its methods (the reads from the database)."""

    def __init__(self, inner: SqlSource) -> None:
        self.inner = inner
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed


def _peak_rss() -> int:
    """This process's peak resident set size in bytes (VmHWM; getrusage would include the parent's before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _digest(person_ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(person_ids)).encode()).hexdigest()[:12]


def run_child(engine: str, spec_path: Path, db: Path, duck_path: Path, end: dt.datetime) -> dict[str, Any]:
    spec = load_spec(spec_path)
    start = end - dt.timedelta(days=1)
    if engine == "ours":
        source = TimedSource(SqlSource(f"sqlite:///{db}"))
        started = time.perf_counter()
        result = evaluate(spec, source, start, end)
        wall = time.perf_counter() - started
        ids = result.qualified_ids
        extra = {"activity_rows": result.activity_rows_read, "read_s": source.seconds}
    else:
        query = duckdb_query(spec, start, end)
        with duckdb.connect(str(duck_path), read_only=True) as duck:
            started = time.perf_counter()
            ids = [row[0] for row in duck.execute(query).fetchall()]
            wall = time.perf_counter() - started
        extra = {}
    rss = _peak_rss()
    return {"wall": wall, "rss": rss, "qualified": len(ids), "digest": _digest(ids), **extra}


def _measure(
    engine: str, spec_path: Path, args: argparse.Namespace, end: dt.datetime
) -> list[dict[str, Any]]:
    runs = []
    for _ in range(args.repeat):
        command = [
            sys.executable, __file__, "--child", engine, "--spec", str(spec_path),
            "--db", str(args.db), "--duckdb", str(args.duckdb), "--end", end.isoformat(),
        ]  # fmt: skip
        child = subprocess.run(command, capture_output=True, text=True)
        if child.returncode != 0:
            raise SystemExit(f"{engine} run of {spec_path.name} failed:\n{child.stderr}")
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
    return runs


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=20_000_000)
    parser.add_argument("--seed", type=int, default=sample_data.DEFAULT_SEED)
    parser.add_argument("--db", type=Path, default=ROOT / ".data" / "source.db")
    parser.add_argument("--duckdb", type=Path, default=ROOT / ".data" / "source.duckdb")
    parser.add_argument("--repeat", type=int, default=3, help="runs per spec and engine (median reported)")
    parser.add_argument(
        "--spec", type=Path, action="append", help="spec files (default: dags/campaigns/*.yaml)"
    )
    parser.add_argument("--child", choices=["ours", "duckdb"], help=argparse.SUPPRESS)
    parser.add_argument("--end", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        end = dt.datetime.fromisoformat(args.end)
        print(json.dumps(run_child(args.child, args.spec[0], args.db, args.duckdb, end)))
        return 0

    started = time.perf_counter()
    created = sample_data.generate(args.db, people=args.people, activities=args.activities, seed=args.seed)
    if created:
        print(
            f"generated {args.people:,} people and {args.activities:,} activities in {time.perf_counter() - started:,.0f} s"
        )
    copied = build_duckdb_copy(args.db, args.duckdb)
    if copied is not None:
        print(f"copied the data into {args.duckdb} in {copied:,.0f} s")
    info = read_info(args.db)
    people, activities = int(info["people"]), int(info["activities"])
    end = dt.datetime.fromisoformat(info["end"])
    specs = args.spec or sorted(SPEC_DIR.glob("*.yaml"))

    print(
        f"\n{people:,} people, {activities:,} activities; interval [{end - dt.timedelta(days=1)}, {end}); "
        f"median of {args.repeat} runs, each in a fresh process\n"
    )
    header = (
        "| spec | engine | wall s | of which source reads s | people/s | activity rows/s | peak RSS MiB "
        "| qualified | same answer | ours/DuckDB |"
    )
    print(header)
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---:|")
    failures = []
    for spec_path in specs:
        ours = _measure("ours", spec_path, args, end)
        duck = _measure("duckdb", spec_path, args, end)
        ours_wall, duck_wall = _median(ours, "wall"), _median(duck, "wall")
        ratio = ours_wall / duck_wall
        same = "yes" if ours[0]["digest"] == duck[0]["digest"] else "NO"
        rows = ours[0]["activity_rows"]
        key = spec_path.stem
        ours_rss, duck_rss = max(r["rss"] for r in ours), max(r["rss"] for r in duck)
        print(
            f"| {key} | ours (SqlSource on SQLite + pandas) | {ours_wall:.2f} | {_median(ours, 'read_s'):.2f} | "
            f"{people / ours_wall:,.0f} | {rows / ours_wall:,.0f} | {ours_rss / 2**20:,.0f} | "
            f"{ours[0]['qualified']:,} | {same} | {ratio:.2f} |"
        )
        print(
            f"| {key} | DuckDB (one SQL query, columnar copy) | {duck_wall:.2f} | | {people / duck_wall:,.0f} | "
            f"{rows / duck_wall:,.0f} | {duck_rss / 2**20:,.0f} | {duck[0]['qualified']:,} | | |"
        )
        if same != "yes":
            failures.append(f"{key}: our answer differs from DuckDB's")
        if ours_rss > 2 * GIB:
            failures.append(f"{key}: peak RSS {ours_rss / GIB:.2f} GiB > 2 GiB")
        if ratio > 1.5:
            failures.append(f"{key}: ours/DuckDB = {ratio:.2f} > 1.5")
    print()
    for failure in failures:
        print(f"target missed: {failure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
