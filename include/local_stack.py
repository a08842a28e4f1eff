"""`make run` and `make demo`: the whole product on one machine, against the local Dataverse emulator.

Both prepare the same things under the data folder (default ``.data/``): sample people and a year of
activity up to today (``demo/source.duckdb``), the emulator seeded with the same people and the example
campaigns (its state and private CA in ``emulator/``), the ledger (``ledger.db``), and an Airflow home
(``airflow/``) whose connections point at all of them. A second run reuses what exists.

* ``run`` starts ``airflow standalone`` with our DAGs unpaused and prints the UI address and logins;
  Ctrl-C (or SIGTERM) stops every process it started.
* ``demo`` runs each example campaign sync once, headless, and prints a summary table.
* ``airflow ARGS...`` runs the ``airflow`` CLI against the stack ``run`` set up (same Airflow home, metadata DB,
  DAGs and connections to the ledger and source), e.g. ``airflow dags list`` or ``airflow backfill create ...``.

New campaign sync DAGs start paused, so a new campaign's history can be loaded oldest first (a backfill) before
its schedule starts; ``run`` unpauses the shipped examples once, on the first start.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "include"))  # our package itself is installed (make install)

import sqlite_metadata  # noqa: E402
from project_env import airflow_process_environment, api_health_problem  # noqa: E402

from dataverse_emulator.testing import RunningEmulator, start_emulator  # noqa: E402
from sample_data import generate, write_emulator_seed  # noqa: E402

UI_HOST = "127.0.0.1"
#: The settings (Makefile variables, also read from the environment) that move each port.
PORT_SETTINGS = {"emulator": "EMULATOR_PORT", "airflow": "AIRFLOW_PORT"}
#: Warnings a user of `make run` cannot act on, kept out of every Airflow process's log (``PYTHONWARNINGS``).
QUIET_WARNINGS = "ignore:GitWildMatchPattern:DeprecationWarning"
USERS = "admin:admin,analyst:viewer"
DATAVERSE_POOL = ("dataverse", "4", "Concurrent Dataverse calls across all campaign syncs")


@dataclass
class LocalStack:
    data_dir: Path
    emulator: RunningEmulator
    env: dict[str, str]

    @property
    def airflow_home(self) -> Path:
        return self.data_dir / "airflow"

    def airflow(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "airflow", *args], env=self.env, cwd=REPO, check=True,
                              capture_output=True, text=True, **kwargs)

    def migrate_metadata(self) -> None:
        """The SQLite metadata DB in WAL mode (several processes share it), migrated to this Airflow."""
        sqlite_metadata.use_write_ahead_log(self.airflow_home / "airflow.db")
        self.airflow("db", "migrate")


def airflow_environment(data_dir: Path, *, ui_port: int) -> dict[str, str]:
    """Everything but the Dynamics connection: what the stack's processes and ``make airflow`` share."""
    home = data_dir / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    return {
        **airflow_process_environment(home),
        **sqlite_metadata.airflow_environment(home / "airflow.db"),
        # Downstream DAGs run as soon as they exist; campaign sync DAGs say themselves that they start paused.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": USERS,
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__API__HOST": UI_HOST,
        "AIRFLOW__API__PORT": str(ui_port),
        "CAMPAIGN_SYNC_DATA_DIR": str(data_dir),
        "AIRFLOW_CONN_CAMPAIGN_SYNC_LEDGER": json.dumps({"conn_type": "sqlite", "host": str(data_dir / "ledger.db")}),
        "AIRFLOW_CONN_CAMPAIGN_SYNC_SOURCE": json.dumps({"conn_type": "duckdb",
                                                         "host": str(data_dir / "demo" / "source.duckdb")}),
        "PYTHONWARNINGS": ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), QUIET_WARNINGS])),
    }


def port_holder(port: int) -> str | None:
    """``"python3 (pid 1234)"`` for the process listening on ``port``, when the system lets us see it."""
    try:
        connections = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, OSError):
        return None
    for connection in connections:
        if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port:
            if connection.pid is None:
                return None
            try:
                return f"{psutil.Process(connection.pid).name()} (pid {connection.pid})"
            except psutil.Error:
                return f"pid {connection.pid}"
    return None


def check_port_free(what: str, port: int) -> None:
    """Stop with a sentence naming the port, its holder if known, and the setting that moves it."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((UI_HOST, port))
            return
        except OSError:
            pass
    holder = port_holder(port)
    setting = PORT_SETTINGS[what]
    raise SystemExit(f"Port {port} ({what}) is already in use{f' by {holder}' if holder else ''}. Stop that "
                     f"process, or choose another port: make run {setting}={port + 1}")


def prepare(data_dir: Path, *, people: int, activities: int, emulator_port: int, ui_port: int,
            changes: int = 0) -> LocalStack:
    """Sample data, a seeded emulator, and the Airflow environment pointing at them."""
    check_port_free("emulator", emulator_port)
    check_port_free("airflow", ui_port)
    demo = data_dir / "demo"
    demo.mkdir(parents=True, exist_ok=True)
    # Activity up to the start of today, so "in the past N days" windows find recent behaviour.
    end = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    source = demo / "source.duckdb"
    print(f"Sample data: {people:,} people, {activities:,} activities and {changes:,} change activities up to "
          f"{end:%Y-%m-%d} in {source}", flush=True)
    generate(source, people=people, activities=activities, end=end, changes=changes)
    seed = demo / "emulator_seed.json"
    if not seed.exists():
        write_emulator_seed(seed, people=people, end=end)
    emulator = start_emulator(data_dir / "emulator", port=emulator_port)
    # Upsert the sample people and campaigns (a no-op when present; memberships are kept), plus a list of
    # someone else's in the first campaign, so the sync has people it must leave alone ("not ours").
    document = json.loads(seed.read_text())
    emulator.seed(document | partner_list(document))
    env = airflow_environment(data_dir, ui_port=ui_port) | {
        "AIRFLOW_CONN_DYNAMICS_DEFAULT": json.dumps({
            "conn_type": "dynamics", "host": emulator.org_url, "login": emulator.client_id,
            "password": emulator.client_secret,
            "extra": {"tenant_id": emulator.tenant_id, "authority": emulator.authority, "verify": emulator.ca_path},
        }),
    }
    return LocalStack(data_dir, emulator, env)


def partner_list(document: dict) -> dict:
    """A static lead list named "Partner referrals" with a few leads, associated with the first campaign."""
    campaign = document["campaigns"][0]["campaignid"]
    list_id = str(uuid.uuid5(uuid.UUID(campaign), "partner-referrals"))
    leads = [lead["leadid"] for lead in document["leads"][:5]]
    return {
        "lists": [{"listid": list_id, "listname": "Partner referrals", "type": False, "createdfromcode": 4,
                   "lockstatus": False, "statecode": 0}],
        "listmembers": [{"listmemberid": str(uuid.uuid5(uuid.UUID(list_id), lead)), "_listid_value": list_id,
                         "_entityid_value": lead, "entitytype": "lead"} for lead in leads],
        "campaignlists": [{"campaignid": campaign, "listid": list_id}],
    }


def wait_for_api(base: str, process: subprocess.Popen, timeout: float = 300) -> None:
    problem = api_health_problem(base, process, timeout)
    if problem:
        raise SystemExit(f"airflow standalone {problem}; see its log")


def passwords(home: Path) -> dict[str, str]:
    path = home / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(1)
    return json.loads(path.read_text()) if path.exists() else {}


def run(stack: LocalStack) -> int:
    log_dir = stack.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    stack.migrate_metadata()
    stack.airflow("pools", "set", *DATAVERSE_POOL)
    airflow_log = open(log_dir / "airflow-standalone.log", "ab")
    airflow = subprocess.Popen([sys.executable, "-m", "airflow", "standalone"], env=stack.env, cwd=REPO,
                               stdout=airflow_log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(*_: object) -> None:
        print("\nStopping Airflow and the emulator ...", flush=True)
        if airflow.poll() is None:
            os.killpg(airflow.pid, signal.SIGTERM)
            try:
                airflow.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(airflow.pid, signal.SIGKILL)
        stack.emulator.stop()
        raise SystemExit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    base = f"http://{UI_HOST}:{stack.env['AIRFLOW__API__PORT']}"
    print(f"Starting Airflow (log: {log_dir / 'airflow-standalone.log'}) ...", flush=True)
    wait_for_api(base, airflow)
    logins = passwords(stack.airflow_home)
    unpause_examples_once(stack, base, logins.get("admin", ""))
    print("\n".join([
        "",
        "Campaign Sync is running.",
        f"  Airflow UI          {base}",
        f"  admin login         admin / {logins.get('admin', '(see simple_auth_manager_passwords.json.generated)')}",
        f"  analyst (read-only) analyst / {logins.get('analyst', '(see the same file)')}",
        f"  Dataverse emulator  {stack.emulator.api_url}  (CA {stack.emulator.ca_path})",
        f"  data folder         {stack.data_dir}  (source, ledger, emulator state, Airflow home, logs)",
        "  The example campaign syncs are unpaused; their first runs start within a minute or two.",
        "  A campaign you add starts paused: load its history first (README, \"Add a campaign\").",
        "  Airflow CLI for this stack: make airflow ARGS='dags list'",
        "Press Ctrl-C to stop.",
    ]), flush=True)
    while airflow.poll() is None:
        time.sleep(1)
    stack.emulator.stop()
    print(f"airflow standalone exited with code {airflow.returncode}", flush=True)
    return airflow.returncode or 0


def example_dag_ids() -> list[str]:
    """The sync DAGs of the specs shipped in dags/campaigns (the ones ``run`` starts unpaused)."""
    from dynamics_campaign_sync.naming import sync_dag_id
    from dynamics_campaign_sync.spec import load_specs
    from dynamics_campaign_sync.spec.folder import SPECS_SUBFOLDER

    return [sync_dag_id(spec.key) for spec in load_specs(REPO / "dags" / SPECS_SUBFOLDER)]


def unpause_examples_once(stack: LocalStack, base: str, password: str, timeout: float = 180) -> None:
    """On the first start only, unpause the example syncs once the dag-processor has stored them; later starts
    leave every DAG as its user left it (and new campaigns stay paused until their history is loaded)."""
    marker = stack.airflow_home / "examples-unpaused"
    if marker.exists():
        return
    session = requests.Session()
    token = session.post(f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=10)
    token.raise_for_status()
    session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    waiting = set(example_dag_ids())
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for dag_id in sorted(waiting):
            if session.patch(f"{base}/api/v2/dags/{dag_id}", json={"is_paused": False}, timeout=10).ok:
                waiting.discard(dag_id)
        if waiting:
            time.sleep(2)
    if waiting:
        print(f"Not unpaused yet (still being parsed?): {', '.join(sorted(waiting))}", flush=True)
        return
    marker.write_text("The example campaign syncs were unpaused on the first start.\n")


def airflow_cli(data_dir: Path, args: list[str], *, ui_port: int) -> int:
    """``airflow <args>`` against the stack ``run`` set up in ``data_dir`` (which must exist)."""
    if not (data_dir / "airflow" / "airflow.db").exists():
        raise SystemExit(f"No Airflow set up in {data_dir / 'airflow'} yet: start it once with `make run`.")
    env = airflow_environment(data_dir, ui_port=ui_port)
    return subprocess.run([sys.executable, "-m", "airflow", *args], env=env, cwd=REPO).returncode


@contextlib.contextmanager
def output_to(path: Path):
    """Send this process's stdout and stderr (Airflow's task logs included) to a file for a while."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def demo(stack: LocalStack) -> int:
    """Each example sync once, in this process, then a summary table."""
    # "Filling up the DagBag" is Airflow talking to itself: the table below says which DAGs ran.
    os.environ.update(stack.env | {"AIRFLOW__LOGGING__NAMESPACE_LEVELS": "airflow.dag_processing.dagbag=WARNING"})
    stack.migrate_metadata()
    from airflow.dag_processing.dagbag import DagBag

    from dynamics_campaign_sync.naming import DAG_ID_PREFIX

    bag = DagBag(dag_folder=str(REPO / "dags" / "campaign_sync.py"))
    if bag.import_errors:
        print("\n".join(f"{k}: {v}" for k, v in bag.import_errors.items()), file=sys.stderr)
        return 1
    rows = []
    log_path = stack.data_dir / "logs" / "demo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"Running {len(bag.dag_ids)} campaign syncs (task logs: {log_path}) ...", flush=True)
    for dag_id in sorted(bag.dag_ids):
        started = time.monotonic()
        with output_to(log_path):
            dag_run = bag.get_dag(dag_id).test()
        summary = dag_run.get_task_instance("summary").xcom_pull(task_ids="summary") or {}
        rows.append([dag_id.removeprefix(DAG_ID_PREFIX), dag_run.state, summary.get("qualified", "-"),
                     summary.get("added", "-"), summary.get("removed", "-"), summary.get("not_ours", "-"),
                     summary.get("failed", "-"), summary.get("requests", "-"), f"{time.monotonic() - started:.1f}s"])
    header = ["campaign", "state", "qualified", "added", "removed", "not ours", "failed", "requests", "time"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))
    stack.emulator.stop()
    return 0 if all(r[1] == "success" for r in rows) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "demo", "airflow"])
    parser.add_argument("--data-dir", type=Path, default=REPO / ".data")
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--activities", type=int, default=150_000)
    # Title, country and score changes, so specs with change filters qualify people in the demo too.
    parser.add_argument("--changes", type=int, default=3_000)
    parser.add_argument("--emulator-port", type=int, default=int(os.environ.get("EMULATOR_PORT") or 8443))
    parser.add_argument("--airflow-port", type=int, default=int(os.environ.get("AIRFLOW_PORT") or 8080))
    parser.add_argument("airflow_args", nargs=argparse.REMAINDER, help="with `airflow`: the CLI's arguments")
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    if args.command == "airflow":
        cli_args = args.airflow_args[1:] if args.airflow_args[:1] == ["--"] else args.airflow_args
        return airflow_cli(data_dir, cli_args, ui_port=args.airflow_port)
    stack = prepare(data_dir, people=args.people, activities=args.activities, changes=args.changes,
                    emulator_port=args.emulator_port, ui_port=args.airflow_port)
    return run(stack) if args.command == "run" else demo(stack)


if __name__ == "__main__":
    sys.exit(main())
