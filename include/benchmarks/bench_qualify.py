"""Benchmark of qualification: our compiled query against a hand-written query, on the same database.

    python include/benchmarks/bench_qualify.py [--people 1000000] [--activities 20000000] [--random 20]
        [--engines duckdb,postgresql] [--repeat 3] [--scaling 100000,1000000,3000000] [--specs key,key]

1. Generates the sample data as a DuckDB file (activities stored sorted by type and time: the layout a
   fluent DuckDB user gives such a table) and, for PostgreSQL, copies it into a schema of its own with
   the contract's indexes (the reference query gets the same indexes ours does).
2. For each spec (shipped, the three shapes of issue #13, ``--random`` seeded random specs of mixed
   shapes) and each database, runs ours (``evaluate``: reflection, the compiled query, invalid-row checks,
   reasons) and the hand-written query (``reference_sql``: the qualified people's identity columns, what
   the sync needs; fetched column-wise from DuckDB), each ``--repeat`` times in a fresh process.
   Wall time is the evaluation (median); import time (our modules or none, and the database driver:
   ``duckdb`` / ``psycopg2`` and, for ours, SQLAlchemy's dialect of it) is reported beside it; peak RSS is the child
   process tree's (its own high-water mark plus that of the children the evaluation started), and its growth
   during the evaluation is reported beside it (what the evaluation itself holds, over the libraries each side
   imported). The two sides run in turns. On PostgreSQL the hand-written query runs under the session settings
   our compiled query's transaction starts with (``PG_SESSION_SETTINGS``: no JIT, at least 32 MB per hash
   table), so neither side has a server setting the other lacks. Answers are compared id by id. CPU
   time (every thread of the process) is reported too, as a ratio steadier than wall time on a shared
   machine; it means something for DuckDB only (PostgreSQL works in its own server processes).
3. Prints per spec: wall time, import time, peak RSS, qualified count, same answer, ratio; then the
   median and worst ratio and RSS ratio per database; with ``--scaling``, the broad spec at each size.

Targets: worst ratio <= 1.5, median <= 1.1, peak RSS <= 2x the reference's, same answer everywhere.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for _folder in ("include", "include/benchmarks"):  # our package itself is installed (make install)
    if str(ROOT / _folder) not in sys.path:
        sys.path.insert(0, str(ROOT / _folder))

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
#: Where generated samples are kept and reused (BENCH_DATA: e.g. a cache outside the repository).
DATA = Path(os.environ.get("BENCH_DATA", ROOT / ".data" / "bench"))
#: The session settings the hand-written query runs under on PostgreSQL: those of our compiled query.
REFERENCE_SESSION = "BENCH_REFERENCE_SESSION"


def _children_peak() -> int:
    """The largest peak RSS among this process's finished children (bytes)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def _peak_rss(children_before: int) -> int:
    """This process's peak RSS plus its children's (bytes): the process tree's high-water mark. Children count
    when the evaluation started them (forked workers): a child of the imports (croniter runs ``file`` through
    ``platform.architecture()``) is a fork that execs at once, whose peak is the parent's pages shared at that
    moment, which would count the importing process twice."""
    own = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            own = int(line.split()[1]) * 1024
    children = _children_peak()
    return own + (children if children > children_before else 0)


def _cpu() -> float:
    """CPU seconds of this process, every thread (the database's too): steadier than wall time on a
    machine shared with other work."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:12]


# -- one measured run, in its own process ----------------------------------------------------------


def run_child(engine: str, side: str, spec_key: str, db: str, end: dt.datetime, random_count: int, seed: int
              ) -> dict[str, Any]:
    started = time.perf_counter()
    url = f"duckdb:///{db}?access_mode=read_only" if engine == "duckdb" else POSTGRES_URL
    if side == "ours":
        from sqlalchemy.engine import make_url

        from dynamics_campaign_sync.qualification.compiler.evaluate import evaluate
        from dynamics_campaign_sync.qualification.sql_source import SqlSource

        make_url(url).get_dialect().import_dbapi()  # the driver, as the reference imports its own
    elif engine == "duckdb":
        import duckdb
    else:
        import psycopg2
    imported = time.perf_counter() - started
    from qualify_specs import all_specs, broad_spec

    spec = next(s for s in [*all_specs(random_count, seed), broad_spec()] if s.key == spec_key)
    interval = (end - dt.timedelta(days=1), end)
    children_before = _children_peak()
    before = _peak_rss(children_before)  # the high-water mark of the imports
    started, cpu = time.perf_counter(), _cpu()
    if side == "ours":
        source = SqlSource(url, schema=None if engine == "duckdb" else db)
        ids = evaluate(spec, source, *interval).qualified_ids
    else:
        from reference_sql import query

        sql = query(spec, interval, engine)
        if engine == "duckdb":
            with duckdb.connect(db, read_only=True) as connection:
                connection.execute("SET TimeZone = 'UTC'")
                ids = connection.execute(sql).fetchnumpy()["person_id"].tolist()  # column-wise, as ours
        else:
            connection = psycopg2.connect(POSTGRES_URL.replace("+psycopg2", ""), options=f"-csearch_path={db}")
            with connection.cursor() as cursor:
                cursor.execute(os.environ[REFERENCE_SESSION])  # ours runs under the same (see _run)
                cursor.execute(sql)
                ids = [row[0] for row in cursor.fetchall()]
            connection.close()
    wall, cpu = time.perf_counter() - started, _cpu() - cpu
    peak = _peak_rss(children_before)
    return {"wall": wall, "cpu": cpu, "import": imported, "rss": peak, "growth": max(peak - before, 0),
            "qualified": len(ids), "digest": _digest(ids)}


def _run(engine: str, side: str, spec_key: str, db: str, end: dt.datetime, args: argparse.Namespace
         ) -> dict[str, Any]:
    """One measured run of one side, in a fresh process."""
    command = [sys.executable, __file__, "--child", f"{engine}:{side}", "--spec-key", spec_key, "--db", db,
               "--end", end.isoformat(), "--random", str(args.random), "--seed", str(args.seed)]
    from dynamics_campaign_sync.qualification.compiler.dialects import PG_SESSION_SETTINGS

    environment = {**os.environ, REFERENCE_SESSION: ";\n".join(PG_SESSION_SETTINGS)}
    child = subprocess.run(command, capture_output=True, text=True, env=environment)
    if child.returncode != 0:
        raise SystemExit(f"{engine} {side} run of {spec_key} failed:\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


# -- data ------------------------------------------------------------------------------------------


def duckdb_sample(people: int, activities: int) -> tuple[Path, dt.datetime]:
    import sample_data

    # Change activities besides (1 %), for the change filters of qualify_specs.dates_and_changes_spec; named
    # in the file (and so the PostgreSQL copy's schema) so a copy made without them is not reused.
    changes = activities // 100
    path = DATA / f"source_{people}_{activities}_{changes}.duckdb"
    started = time.perf_counter()
    if sample_data.generate(path, people=people, activities=activities, changes=changes,
                            log=lambda _: None):
        print(f"generated {people:,} people and {activities:,} activities in {time.perf_counter() - started:,.0f} s")
    return path, dt.datetime.fromisoformat(sample_data.read_any_info(path)["end"])


def postgres_copy(duck_path: Path) -> str | None:
    """The schema holding a copy of the DuckDB sample (made once), or None when PostgreSQL is not reachable."""
    import duckdb
    import sqlalchemy as sa
    from sqlalchemy.schema import CreateIndex, CreateTable

    from dynamics_campaign_sync.qualification.contract import activities_table, people_table

    schema = "bench_" + duck_path.stem.replace("source_", "")
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            done = connection.execute(sa.text(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = :s AND table_name = 'loaded'"),
                {"s": schema}).first()
    except sa.exc.OperationalError as error:
        print(f"PostgreSQL not reachable ({type(error).__name__}): skipped")
        return None
    if done:
        return schema
    started = time.perf_counter()
    metadata = sa.MetaData()
    tables = [people_table(metadata, schema=schema), activities_table(metadata, schema=schema)]
    raw = engine.raw_connection()
    cursor = raw.cursor()
    cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"')
    for table in tables:
        cursor.execute(str(CreateTable(table).compile(dialect=engine.dialect)))
    with tempfile.TemporaryDirectory() as folder, duckdb.connect(str(duck_path), read_only=True) as duck:
        duck.execute("SET TimeZone = 'UTC'")
        for table in tables:
            csv = Path(folder) / f"{table.name}.csv"
            duck.execute(f"COPY {table.name} TO '{csv}' (HEADER, FORCE_QUOTE *)")
            with csv.open() as handle:
                cursor.copy_expert(f'COPY "{schema}".{table.name} FROM STDIN (FORMAT csv, HEADER, '
                                   f'FORCE_NULL ({", ".join(table.columns.keys())}))', handle)
    for table in tables:
        for index in table.indexes:
            cursor.execute(str(CreateIndex(index).compile(dialect=engine.dialect)))
    raw.commit()
    # VACUUM sets the visibility map (index-only scans read no table page) and the rows' hint bits, as a settled
    # table has them (without autovacuum, a fresh copy would have neither: every first read writes its pages).
    raw.driver_connection.autocommit = True  # VACUUM runs outside a transaction
    for table in tables:
        cursor.execute(f'VACUUM (ANALYZE) "{schema}".{table.name}')
    cursor.execute(f'CREATE TABLE "{schema}".loaded (at timestamptz)')
    raw.close()
    print(f"copied {duck_path.name} into PostgreSQL schema {schema} in {time.perf_counter() - started:,.0f} s")
    return schema


# -- report ----------------------------------------------------------------------------------------


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def _interleaved(engine: str, key: str, db: str, end: dt.datetime, args: argparse.Namespace
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs of ours and the reference in turns, so neither side alone meets a cold cache or a busy machine."""
    ours: list[dict[str, Any]] = []
    ref: list[dict[str, Any]] = []
    for _ in range(args.repeat):
        ours.append(_run(engine, "ours", key, db, end, args))
        ref.append(_run(engine, "reference", key, db, end, args))
    return ours, ref


def compare(engine: str, db: str, end: dt.datetime, keys: list[str], args: argparse.Namespace) -> list[str]:
    print(f"\n### {engine}\n")
    print("| spec | ours s | hand-written s | ratio | CPU ratio | ours import s | ref import s | ours RSS MiB "
          "| ref RSS MiB | RSS ratio | ours growth MiB | ref growth MiB | qualified | same answer |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    ratios, cpu_ratios, rss_ratios, failures = [], [], [], []
    for key in keys:
        ours, ref = _interleaved(engine, key, db, end, args)
        ratio = _median(ours, "wall") / _median(ref, "wall")
        rss_ratio = max(r["rss"] for r in ours) / max(r["rss"] for r in ref)
        same = ours[0]["digest"] == ref[0]["digest"] and ours[0]["qualified"] == ref[0]["qualified"]
        ratios.append(ratio)
        cpu_ratios.append(_median(ours, "cpu") / _median(ref, "cpu"))
        rss_ratios.append(rss_ratio)
        if not same:
            failures.append(f"{engine} {key}: answers differ")
        print(f"| {key} | {_median(ours, 'wall'):.3f} | {_median(ref, 'wall'):.3f} | {ratio:.2f} | "
              f"{cpu_ratios[-1]:.2f} | "
              f"{_median(ours, 'import'):.2f} | {_median(ref, 'import'):.2f} | "
              f"{max(r['rss'] for r in ours) / 2**20:,.0f} | {max(r['rss'] for r in ref) / 2**20:,.0f} | "
              f"{rss_ratio:.2f} | {max(r['growth'] for r in ours) / 2**20:,.0f} | "
              f"{max(r['growth'] for r in ref) / 2**20:,.0f} | {ours[0]['qualified']:,} | {'yes' if same else 'NO'} |",
              flush=True)
    print(f"\n{engine}: median ratio {statistics.median(ratios):.2f}, worst {max(ratios):.2f} (CPU: median "
          f"{statistics.median(cpu_ratios):.2f}, worst {max(cpu_ratios):.2f}); "
          f"worst RSS ratio {max(rss_ratios):.2f}; same answer on {len(keys) - len(failures)}/{len(keys)} specs")
    if statistics.median(ratios) > 1.1:
        failures.append(f"{engine}: median ratio {statistics.median(ratios):.2f} > 1.1")
    if max(ratios) > 1.5:
        failures.append(f"{engine}: worst ratio {max(ratios):.2f} > 1.5")
    if max(rss_ratios) > 2:
        failures.append(f"{engine}: worst RSS ratio {max(rss_ratios):.2f} > 2")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=20_000_000)
    parser.add_argument("--random", type=int, default=20, help="seeded random specs (default 20)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=3, help="runs per spec and side (median reported)")
    parser.add_argument("--engines", default="duckdb,postgresql")
    parser.add_argument("--scaling", default="", help="people counts for the broad spec, e.g. 100000,1000000")
    parser.add_argument("--specs", default="", help="only these spec keys, comma-separated (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--spec-key", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--end", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        engine, side = args.child.split(":")
        result = run_child(engine, side, args.spec_key, args.db, dt.datetime.fromisoformat(args.end), args.random,
                           args.seed)
        print(json.dumps(result))
        return 0

    from qualify_specs import all_specs, broad_spec

    duck_path, end = duckdb_sample(args.people, args.activities)
    keys = [spec.key for spec in all_specs(args.random, args.seed)]
    if args.specs:
        wanted = args.specs.split(",")
        if unknown := sorted(set(wanted) - set(keys)):
            raise SystemExit(f"unknown spec keys: {', '.join(unknown)}; known: {', '.join(keys)}")
        keys = [key for key in keys if key in wanted]
    print(f"{args.people:,} people, {args.activities:,} activities; interval ending {end}; "
          f"median of {args.repeat} runs, each in a fresh process")
    failures = []
    for engine in filter(None, args.engines.split(",")):  # --engines "": only the scaling
        db = str(duck_path) if engine == "duckdb" else postgres_copy(duck_path)
        if db is not None:
            failures += compare(engine, db, end, keys, args)
    if args.scaling:
        print("\n### broad spec by size (DuckDB)\n")
        print("| people | activities | ours s | hand-written s | ratio | ours RSS MiB | ref RSS MiB | qualified |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for people in (int(n) for n in args.scaling.split(",")):
            path, scaled_end = duckdb_sample(people, people * 20)
            ours, ref = _interleaved("duckdb", broad_spec().key, str(path), scaled_end, args)
            print(f"| {people:,} | {people * 20:,} | {_median(ours, 'wall'):.3f} | {_median(ref, 'wall'):.3f} | "
                  f"{_median(ours, 'wall') / _median(ref, 'wall'):.2f} | {max(r['rss'] for r in ours) / 2**20:,.0f} "
                  f"| {max(r['rss'] for r in ref) / 2**20:,.0f} | {ours[0]['qualified']:,} |", flush=True)
    print()
    for failure in failures:
        print(f"target missed: {failure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
