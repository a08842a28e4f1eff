"""What parsing the campaign DAG files costs a dag-processor, for 3 and for 200 specs (prints a table).

Every dag-processor re-imports each DAG file about every 30 s, so this is paid continuously. For each spec
count (the 3 examples, then 200 generated valid specs in a temporary ``CAMPAIGN_SYNC_SPECS_DIR``) and each
DAG file, a fresh process imports Airflow's Task SDK first (a dag-processor has it loaded already), then
imports the DAG file and reports: its import time, how many of our package modules it loaded, which heavy
libraries it loaded or asked for (pandas, numpy, SQLAlchemy, msal, requests; ``import airflow`` loads
SQLAlchemy itself, so an import of it by our code counts even though it is loaded already), and the time Airflow's
``DagSerialization`` takes to serialize the DAGs it built (with how many DAGs and tasks).

``import s`` is the usual parse, with the specs unchanged since the last one (validated specs come from
:mod:`dynamics_campaign_sync.spec.cache`); ``first s`` is the first parse after a spec changed (every spec read
and validated again).

Serialization costs Airflow's own per-task work (about 0.25 ms a task: 9 tasks per sync DAG), so it grows with
tasks × DAGs. It used to grow with DAG params too: params given to ``DAG(...)`` are copied into every task, and
serializing a task resolved each copy twice with jsonschema (comparing it with the default, then printing it),
which was 85 % of the time. The sync DAGs declare their run params after their tasks, on the DAG alone (a task's
run-time params are the DAG's merged with its own), which made serialization about 7 times cheaper.

    python include/benchmarks/bench_parse.py [--specs 3 200]
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "include"))  # our package itself is installed (make install)

from project_env import python_path  # noqa: E402

DAG_FILES = ("campaign_sync.py", "campaign_member_follow_ups.py")
HEAVY = ("pandas", "numpy", "sqlalchemy", "msal", "requests")
PACKAGE = "dynamics_campaign_sync"
DAG_MODULE = "bench_dag_file"


def write_specs(folder: Path, count: int) -> None:
    """``count`` valid specs: the examples, then copies of them under new keys and campaign names."""
    import yaml

    examples = sorted((REPO / "dags" / "campaigns").glob("*.yaml"))
    for number in range(count):
        source = examples[number % len(examples)]
        if number < len(examples):
            (folder / source.name).write_text(source.read_text())
            continue
        spec = yaml.safe_load(source.read_text())
        spec["key"] = f"{spec['key'][:50]}_{number}"
        spec["campaign"] = {"name": f"{spec['campaign'].get('name', 'Campaign')} {number}"}
        (folder / f"{spec['key']}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


@contextlib.contextmanager
def heavy_imports_by_our_code(found: set[str]):
    """Adds to ``found`` each heavy library that our package or a DAG file imports while the block runs."""
    original = builtins.__import__

    def recording(name, globals=None, locals=None, fromlist=(), level=0):
        importer = (globals or {}).get("__name__", "")
        top = name.split(".")[0]
        if top in HEAVY and level == 0 and importer.split(".")[0] in (PACKAGE, DAG_MODULE):
            found.add(top)
        return original(name, globals, locals, fromlist, level)

    builtins.__import__ = recording
    try:
        yield found
    finally:
        builtins.__import__ = original


def measure(dag_file: str) -> dict:
    """In this (fresh) process: import one DAG file, then serialize its DAGs; figures as a dict."""
    import importlib.util

    import airflow.sdk  # noqa: F401  (already loaded in a dag-processor: not part of the DAG file's cost)

    before = set(sys.modules)
    with heavy_imports_by_our_code(set()) as heavy:
        started = time.perf_counter()
        module_spec = importlib.util.spec_from_file_location(DAG_MODULE, REPO / "dags" / dag_file)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        import_s = time.perf_counter() - started
    added = set(sys.modules) - before
    package_modules = sorted(name for name in added if name.split(".")[0] == PACKAGE)
    heavy = sorted(heavy | {name for name in HEAVY if name in added})

    from airflow.sdk import DAG
    from airflow.serialization.serialized_objects import DagSerialization

    # By id: a DAG file's loop variable holds one of its DAGs a second time.
    dags = list({value.dag_id: value for value in vars(module).values() if isinstance(value, DAG)}.values())
    started = time.perf_counter()
    for dag in dags:
        DagSerialization.to_dict(dag)
    serialize_s = time.perf_counter() - started
    return {"import_s": import_s, "package_modules": len(package_modules), "heavy": heavy,
            "dags": len(dags), "tasks": sum(len(dag.tasks) for dag in dags), "serialize_s": serialize_s}


def measure_in_fresh_process(dag_file: str, specs_dir: Path, cache_dir: Path) -> dict:
    env = {**os.environ, "CAMPAIGN_SYNC_SPECS_DIR": str(specs_dir), "CAMPAIGN_SYNC_SPEC_CACHE_DIR": str(cache_dir),
           "PYTHONPATH": python_path(REPO / "dags")}
    answer = subprocess.run([sys.executable, __file__, "--measure", dag_file], env=env, check=True,
                            capture_output=True, text=True)
    return json.loads(answer.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, nargs="+", default=[3, 200])
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    header = f"{'specs':>5}  {'DAG file':<30} {'import s':>8}  {'first s':>7}  {'package modules':>15}  " \
             f"{'DAGs/tasks':>10}  {'serialize s':>11}  heavy libraries imported"
    print(header)
    print("-" * len(header))
    for count in args.specs:
        with tempfile.TemporaryDirectory() as folder:
            specs, totals = Path(folder) / "specs", [0.0, 0.0]
            specs.mkdir()
            write_specs(specs, count)
            for dag_file in DAG_FILES:
                cache = Path(tempfile.mkdtemp(dir=folder))  # empty: the first parse after a change
                first = measure_in_fresh_process(dag_file, specs, cache)
                row = measure_in_fresh_process(dag_file, specs, cache)
                totals = [totals[0] + row["import_s"], totals[1] + first["import_s"]]
                print(f"{count:>5}  {dag_file:<30} {row['import_s']:>8.2f}  {first['import_s']:>7.2f}  "
                      f"{row['package_modules']:>15}  {str(row['dags']) + '/' + str(row['tasks']):>10}  "
                      f"{row['serialize_s']:>11.2f}  {', '.join(row['heavy']) or '-'}")
            print(f"{count:>5}  {'both DAG files':<30} {totals[0]:>8.2f}  {totals[1]:>7.2f}")


if __name__ == "__main__":
    main()
