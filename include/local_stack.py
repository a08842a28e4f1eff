"""`make run`: the local Dataverse emulator plus `airflow standalone` with this project's DAGs.

Everything lives under the data folder (default ``.data/``): the emulator's state and certificates,
the Airflow home with its SQLite metadata DB and logs. A second run reuses them. Ctrl-C (or SIGTERM)
stops every process this script started.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "include"))

from dataverse_emulator.testing import start_emulator  # noqa: E402

UI_HOST, UI_PORT = "127.0.0.1", 8080
EXAMPLE_DAG = "dynamics_campaigns_overview"


def dynamics_connection(emulator) -> str:
    """The ``dynamics_default`` connection pointing at the emulator, trusting only its private CA."""
    return json.dumps({
        "conn_type": "dynamics",
        "host": emulator.org_url,
        "login": emulator.client_id,
        "password": emulator.client_secret,
        "extra": {"tenant_id": emulator.tenant_id, "authority": emulator.authority, "verify": emulator.ca_path},
    })


def airflow_environment(data_dir: Path, emulator) -> dict[str, str]:
    home = data_dir / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,analyst:viewer",
        "AIRFLOW__API__HOST": UI_HOST,
        "AIRFLOW__API__PORT": str(UI_PORT),
        "AIRFLOW_CONN_DYNAMICS_DEFAULT": dynamics_connection(emulator),
        "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO / "include")]),
        # `airflow standalone` starts its components as `airflow ...` subprocesses found on PATH.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }


def wait_for_api(base: str, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"airflow standalone exited with code {process.returncode}; see its log")
        try:
            if requests.get(f"{base}/api/v2/monitor/health", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(2)
    raise SystemExit(f"the Airflow API did not answer on {base} within {timeout:.0f}s")


def passwords(home: Path) -> dict[str, str]:
    path = home / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(1)
    return json.loads(path.read_text()) if path.exists() else {}


def trigger_when_parsed(base: str, user: str, password: str, dag_id: str, timeout: float = 180) -> bool:
    """Trigger one run of ``dag_id`` once the dag-processor has registered it."""
    token = requests.post(f"{base}/auth/token", json={"username": user, "password": password}, timeout=10)
    token.raise_for_status()
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if requests.get(f"{base}/api/v2/dags/{dag_id}", headers=headers, timeout=10).ok:
            run = requests.post(f"{base}/api/v2/dags/{dag_id}/dagRuns", headers=headers,
                                json={"logical_date": None}, timeout=10)
            return run.ok
        time.sleep(3)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=REPO / ".data")
    parser.add_argument("--emulator-port", type=int, default=8443)
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)

    emulator = start_emulator(data_dir / "emulator", port=args.emulator_port)
    env = airflow_environment(data_dir, emulator)
    airflow_log = open(log_dir / "airflow-standalone.log", "ab")
    airflow = subprocess.Popen([sys.executable, "-m", "airflow", "standalone"], env=env, cwd=REPO,
                               stdout=airflow_log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(*_: object) -> None:
        print("\nStopping Airflow and the emulator ...", flush=True)
        if airflow.poll() is None:
            os.killpg(airflow.pid, signal.SIGTERM)
            try:
                airflow.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(airflow.pid, signal.SIGKILL)
        emulator.stop()
        raise SystemExit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    base = f"http://{UI_HOST}:{UI_PORT}"
    print(f"Starting Airflow (log: {log_dir / 'airflow-standalone.log'}) ...", flush=True)
    wait_for_api(base, airflow)
    logins = passwords(data_dir / "airflow")
    triggered = trigger_when_parsed(base, "admin", logins.get("admin", ""), EXAMPLE_DAG)
    print(
        "\n".join([
            "",
            "Campaign Sync is running.",
            f"  Airflow UI      {base}",
            f"  admin login     admin / {logins.get('admin', '(see simple_auth_manager_passwords.json.generated)')}",
            f"  analyst login   analyst / {logins.get('analyst', '(read-only)')}",
            f"  Dataverse emulator  {emulator.api_url}  (CA: {emulator.ca_path})",
            f"  data folder     {data_dir}",
            f"  example DAG     {EXAMPLE_DAG} ({'triggered' if triggered else 'not triggered yet'})",
            "Press Ctrl-C to stop.",
        ]),
        flush=True,
    )
    while airflow.poll() is None:
        time.sleep(1)
    emulator.stop()
    print(f"airflow standalone exited with code {airflow.returncode}", flush=True)
    return airflow.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
