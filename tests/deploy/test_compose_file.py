"""docker-compose.yaml and the Dockerfile describe the distributed deployment they claim to.

Every check is a function from the parsed file to the list of what is wrong with it, so the mutation tests
at the end can show that each check notices a real mistake (a service without the plugins mount, a secret
written into the file, ...), not only that today's file passes.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from airflow.models.connection import Connection
from sqlalchemy.engine import make_url

from dataverse_emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID
from dynamics_campaign_sync.dag_factory import DATAVERSE_POOL
from dynamics_campaign_sync.hooks.dynamics import RENAMED_SECRET_EXTRAS, SECRET_EXTRAS, config_from_connection

REPO = Path(__file__).resolve().parents[2]
COMPOSE_PATH = REPO / "docker-compose.yaml"
DOCKERFILE_PATH = REPO / "Dockerfile"

AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker",
                    "airflow-triggerer", "airflow-init")
EMULATOR = "dataverse-emulator"
REQUIRED_SERVICES = ("postgres", "redis", *AIRFLOW_SERVICES, EMULATOR)
HEALTH_CHECKED = ("postgres", "redis", "airflow-apiserver", "airflow-scheduler", "airflow-worker",
                  "airflow-triggerer", "airflow-dag-processor", EMULATOR)
CODE_MOUNTS = {"dags": "/opt/airflow/dags", "plugins": "/opt/airflow/plugins", "include": "/opt/airflow/include"}
#: Connections read per service: the worker runs every task; the triggerer runs the campaign-state trigger.
CONNECTIONS_NEEDED = {
    "airflow-worker": ("dynamics_default", "campaign_sync_ledger", "campaign_sync_source"),
    "airflow-triggerer": ("dynamics_default",),
}
#: Values that may appear in the file as secrets: development defaults its header documents.
DEV_DEFAULTS = ("airflow", "airflow_jwt_secret", "local-emulator-secret")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|PRIVATE|_KEY$", re.IGNORECASE)
SECRET_FIELDS = ("password", "client_secret", *SECRET_EXTRAS, *RENAMED_SECRET_EXTRAS)

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<default>[^${}]*))?\}")
#: The .env lines the compose header documents for a real organisation ("#   DYNAMICS_X=value  # why").
_HEADER_ENV_LINE = re.compile(r"^#\s+(?P<name>DYNAMICS_[A-Z_]+)=(?P<value><[^>]*>|\S*)", re.MULTILINE)


# -- reading the compose file as Compose does ----------------------------------------------------------------

def interpolate(text: str, env: Mapping[str, str] | None = None) -> str:
    """Compose's variable substitution (``${X}``, ``${X:-d}``, ``${X-d}``, ``${X:+alt}``, nesting, ``$$``)."""
    env = env or {}

    def value(match: re.Match[str]) -> str:
        name, op, default = match["name"], match["op"] or "", match["default"] or ""
        is_set = name in env and bool(env[name] or not op.startswith(":"))
        if op.endswith("+"):
            return default if is_set else ""
        if is_set:
            return env[name]
        return default if op.endswith("-") else ""

    text = text.replace("$$", "\0")
    while True:
        replaced = _VARIABLE.sub(value, text)
        if replaced == text:
            return replaced.replace("\0", "$")
        text = replaced


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_PATH.read_text())


def environment(service: Mapping[str, Any], env: Mapping[str, str] | None = None) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {key: interpolate(str(value), env) for key, value in raw.items()}


def mounts(service: Mapping[str, Any]) -> dict[str, str]:
    """Mount target → source (a host path relative to the project, or a named volume)."""
    found = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            found[volume["target"]] = interpolate(str(volume.get("source", "")))
        else:
            source, target, *_ = interpolate(volume).split(":")
            found[target] = source
    return found


def command_words(service: Mapping[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(word) for word in command]


def connection(service: Mapping[str, Any], conn_id: str,
               env: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    raw = environment(service, env).get(f"AIRFLOW_CONN_{conn_id.upper()}")
    return json.loads(raw) if raw else None


def real_org_env(text: str) -> dict[str, str]:
    """The DYNAMICS_* settings of the .env the compose header shows for a real organisation."""
    return {match["name"]: match["value"] for match in _HEADER_ENV_LINE.finditer(text.split("\n---", 1)[0])}


def named_volume_targets(compose: Mapping[str, Any], service: Mapping[str, Any]) -> dict[str, str]:
    """Named volume → where this service mounts it."""
    return {source: target for target, source in mounts(service).items() if source in (compose.get("volumes") or {})}


def strings(node: Any) -> Iterator[tuple[str | None, str]]:
    """Every (key, string value) in a parsed YAML tree, list items with key None."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                yield str(key), value
            else:
                yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from ((None, item),) if isinstance(item, str) else strings(item)


# -- checks: each returns what is wrong ----------------------------------------------------------------------

def missing_services(compose: Mapping[str, Any]) -> list[str]:
    return [f"no service {name}" for name in REQUIRED_SERVICES if name not in compose["services"]]


def executor_and_backends(compose: Mapping[str, Any]) -> list[str]:
    services = compose["services"]
    problems = []
    for name in AIRFLOW_SERVICES:
        env = environment(services[name])
        if env.get("AIRFLOW__CORE__EXECUTOR") != "CeleryExecutor":
            problems.append(f"{name}: executor is {env.get('AIRFLOW__CORE__EXECUTOR')!r}, not CeleryExecutor")
        metadata = make_url(env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite://"))
        if metadata.get_backend_name() != "postgresql" or metadata.host != "postgres":
            problems.append(f"{name}: the metadata DB is not on the postgres service ({metadata.host})")
        results = env.get("AIRFLOW__CELERY__RESULT_BACKEND", "").removeprefix("db+")
        if not results or make_url(results).host != "postgres":
            problems.append(f"{name}: the Celery result backend is not on the postgres service")
        broker = urlsplit(env.get("AIRFLOW__CELERY__BROKER_URL", ""))
        if broker.scheme != "redis" or broker.hostname != "redis" or "redis" not in services:
            problems.append(f"{name}: the Celery broker is not the redis service")
    return problems


def code_mounts(compose: Mapping[str, Any]) -> list[str]:
    problems = []
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        env, found = environment(service), mounts(service)
        expected = {**CODE_MOUNTS, "dags": env.get("AIRFLOW__CORE__DAGS_FOLDER", CODE_MOUNTS["dags"]),
                    "plugins": env.get("AIRFLOW__CORE__PLUGINS_FOLDER", CODE_MOUNTS["plugins"])}
        for folder, target in expected.items():
            if Path(found.get(target, "")).as_posix().removeprefix("./") != folder:
                problems.append(f"{name}: ./{folder} is not mounted at {target}")
    return problems


def connections(compose: Mapping[str, Any]) -> list[str]:
    services = compose["services"]
    emulator_host = _option(command_words(services[EMULATOR]), "--public-host")
    problems = []
    for name, conn_ids in CONNECTIONS_NEEDED.items():
        service = services[name]
        for conn_id in conn_ids:
            if connection(service, conn_id) is None:
                problems.append(f"{name}: no connection {conn_id} (AIRFLOW_CONN_{conn_id.upper()})")
        dynamics = connection(service, "dynamics_default")
        if dynamics is None:
            continue
        host = urlsplit(dynamics.get("host", ""))
        extra = dynamics.get("extra", {})
        if (host.scheme, host.hostname) != ("https", emulator_host) or host.hostname != EMULATOR:
            problems.append(f"{name}: dynamics_default does not default to the emulator service: {dynamics['host']}")
        if (dynamics.get("login"), dynamics.get("password"), extra.get("tenant_id")) != (
                DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID):
            problems.append(f"{name}: dynamics_default does not default to the emulator's app registration")
        if extra.get("authority") != f"{dynamics['host']}/{DEFAULT_TENANT_ID}":
            problems.append(f"{name}: dynamics_default's authority is not the emulator's token service")
        ca_folders = named_volume_targets(compose, service)
        emulator_data = _option(command_words(services[EMULATOR]), "--data-dir")
        volume = {t: v for v, t in named_volume_targets(compose, services[EMULATOR]).items()}.get(emulator_data)
        if volume not in ca_folders or extra.get("verify") != f"{ca_folders[volume]}/ca.pem":
            problems.append(f"{name}: dynamics_default does not trust the CA in the emulator's data volume")
    for name in CONNECTIONS_NEEDED:
        ledger = connection(services[name], "campaign_sync_ledger")
        if ledger and make_url(ledger["extra"]["url"]).host != "postgres":
            problems.append(f"{name}: the ledger is not on the postgres service")
    return problems


def health_checks(compose: Mapping[str, Any]) -> list[str]:
    problems = []
    for name in HEALTH_CHECKED:
        check = compose["services"][name].get("healthcheck") or {}
        if not check.get("test") or check.get("disable"):
            problems.append(f"{name}: no health check")
    return problems


def image(compose: Mapping[str, Any]) -> list[str]:
    problems = []
    images = {compose["services"][name].get("image") for name in (*AIRFLOW_SERVICES, EMULATOR)}
    for name in (*AIRFLOW_SERVICES, EMULATOR):
        build = compose["services"][name].get("build") or {}
        build = {"context": build} if isinstance(build, str) else build
        context = (REPO / build.get("context", "")).resolve()
        if not build or context != REPO or (context / build.get("dockerfile", "Dockerfile")) != DOCKERFILE_PATH:
            problems.append(f"{name}: not built from {DOCKERFILE_PATH.name}")
    if len(images) != 1:
        problems.append(f"the Airflow services and the emulator run different images: {sorted(map(str, images))}")
    return problems


def initialisation(compose: Mapping[str, Any]) -> list[str]:
    init = compose["services"]["airflow-init"]
    script = " ".join(command_words(init))
    problems = []
    if environment(init).get("_AIRFLOW_DB_MIGRATE") != "true" and "db migrate" not in script:
        problems.append("airflow-init does not migrate the metadata DB")
    if not re.search(rf"airflow pools set {DATAVERSE_POOL} \d+", script):
        problems.append(f"airflow-init does not create the {DATAVERSE_POOL!r} pool the sync tasks run in")
    if "CREATE DATABASE" not in script:
        problems.append("airflow-init does not create the ledger's database")
    for name in AIRFLOW_SERVICES[:-1]:
        if (compose["services"][name].get("depends_on") or {}).get("airflow-init", {}).get(
                "condition") != "service_completed_successfully":
            problems.append(f"{name} does not wait for airflow-init")
    return problems


def emulator(compose: Mapping[str, Any]) -> list[str]:
    service = compose["services"][EMULATOR]
    words = command_words(service)
    problems = []
    if "demo" not in (service.get("profiles") or []):
        problems.append("the emulator is not limited to the demo profile")
    expected = ["python", "-m", "dataverse_emulator", "--host", "0.0.0.0", "--public-host", EMULATOR,
                "--admin-anywhere"]
    if [w for w in words if w not in ("--data-dir", _option(words, "--data-dir"))] != expected:
        problems.append(f"the emulator does not run as {' '.join(expected)} --data-dir ...: {' '.join(words)}")
    if _option(words, "--data-dir") not in named_volume_targets(compose, service).values():
        problems.append("the emulator's data folder is not a named volume (the CA would not be shared)")
    return problems


def secrets_in_file(compose: Mapping[str, Any], text: str) -> list[str]:
    """Secrets must come from the environment (.env); only the documented development defaults are written."""
    documented = " ".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    problems = [f"development default {value!r} is not documented in the file's comments"
                for value in DEV_DEFAULTS if f'"{value}"' not in documented]
    for key, raw in strings(compose):
        value = interpolate(raw)
        found = [value] if key and SECRET_NAME.search(key) else []
        found += [url.password for url in map(urlsplit, re.findall(r"[a-z+]+://[^\s\"'@/]*@", value))
                  if url.password]
        if value.lstrip().startswith("{"):
            found += _json_secrets(json.loads(value))
        problems += [f"{key}: the secret {secret[:3]}... is written into the file" for secret in found
                     if secret and secret not in DEV_DEFAULTS]
    return problems


def dockerfile(text: str) -> list[str]:
    problems = []
    if not re.search(r"^FROM apache/airflow:(slim-)?3\.3\.2(-python3\.\d+)?\s*$", text, re.MULTILINE):
        problems.append("the Dockerfile does not build FROM apache/airflow 3.3.2")
    installs = " ".join(re.findall(r"^RUN .*?(?<!\\)$", text.replace("\\\n", " "), re.MULTILINE))
    copied = " ".join(re.findall(r"^COPY .*$", text, re.MULTILINE))
    if not ("requirements.txt" in copied and "constraints.txt" in copied):
        problems.append("the Dockerfile does not copy requirements.txt and constraints.txt")
    # -r may name requirements.txt itself or its runtime part, cut from it in the same RUN.
    if "requirements.txt" not in installs or not re.search(
            r"pip install [^&]*-r \S+\.txt[^&]*-c \S*constraints\.txt", installs):
        problems.append("the Dockerfile does not install the requirements with the constraints")
    runtime = (REPO / "requirements.txt").read_text().split("# development")[0]
    for package in ("apache-airflow-providers-celery", "asyncpg"):
        if f"{package}==" not in runtime and not re.search(rf"{package}==[\w.]+", text):
            problems.append(f"the image does not get a pinned {package}")
    return problems


def _option(words: list[str], name: str) -> str | None:
    return words[words.index(name) + 1] if name in words and words.index(name) + 1 < len(words) else None


def _json_secrets(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [str(v) for k, v in node.items() if k in SECRET_FIELDS and isinstance(v, str)] + [
            s for v in node.values() for s in _json_secrets(v)]
    return []


COMPOSE_CHECKS: list[Callable[[Mapping[str, Any]], list[str]]] = [
    missing_services, executor_and_backends, code_mounts, connections, health_checks, image, initialisation,
    emulator,
]


# -- the real files ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("check", COMPOSE_CHECKS, ids=lambda check: check.__name__)
def test_compose_file(check: Callable[[Mapping[str, Any]], list[str]]) -> None:
    assert check(load_compose()) == []


def test_compose_file_holds_no_secret_but_documented_development_defaults() -> None:
    assert secrets_in_file(load_compose(), COMPOSE_PATH.read_text()) == []


def test_dockerfile_builds_on_airflow_3_3_2_with_our_pinned_requirements() -> None:
    assert dockerfile(DOCKERFILE_PATH.read_text()) == []


def test_interpolation_follows_compose() -> None:
    assert interpolate("${A:-x}/${B-y}/${C}/$${D}") == "x/y//${D}"
    assert interpolate("${A:-${B:-inner}}", {"B": "b"}) == "b"
    assert interpolate("${A:-x}|${A-x}", {"A": ""}) == "x|"
    assert interpolate("${A:+set}|${A+set}|${B:+set}", {"A": ""}) == "|set|"
    assert interpolate('${A:+"k": "${B:-}",}', {"A": "a"}) == '"k": "",'


@pytest.mark.parametrize("service", sorted(CONNECTIONS_NEEDED))
def test_the_documented_real_org_env_signs_in_with_microsoft(service: str) -> None:
    """A real org's .env (the header's) without DYNAMICS_AUTHORITY signs in with Entra ID for its tenant."""
    env = {name: value for name, value in real_org_env(COMPOSE_PATH.read_text()).items()
           if name != "DYNAMICS_AUTHORITY"}
    assert {"DYNAMICS_ORG_URL", "DYNAMICS_TENANT_ID"} <= env.keys()
    config = config_from_connection(Connection.from_json(
        json.dumps(connection(load_compose()["services"][service], "dynamics_default", env)),
        conn_id="dynamics_default"))
    assert config.org_url.rstrip("/") == env["DYNAMICS_ORG_URL"]
    assert config.authority_url == f"https://login.microsoftonline.com/{env['DYNAMICS_TENANT_ID']}"
    assert config.is_microsoft_authority


def test_an_authority_given_for_a_real_org_is_used() -> None:
    env = {**real_org_env(COMPOSE_PATH.read_text()), "DYNAMICS_AUTHORITY": "https://login.example.test/t1"}
    conn = connection(load_compose()["services"]["airflow-worker"], "dynamics_default", env)
    assert conn["extra"]["authority"] == "https://login.example.test/t1"


# -- each check catches the mistake it is for ----------------------------------------------------------------

def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    return compose["services"][name]


def _set_env(compose: dict[str, Any], name: str, **values: str) -> None:
    service = _service(compose, name)
    service["environment"] = {**service["environment"], **values}  # anchors share dicts: replace, not mutate


def _without_mount(compose: dict[str, Any], name: str, target: str) -> None:
    service = _service(compose, name)
    service["volumes"] = [v for v in service["volumes"] if interpolate(str(v)).split(":")[1:2] != [target]]


def _dynamics_password(compose: dict[str, Any], name: str, password: str) -> None:
    conn = connection(_service(compose, name), "dynamics_default")
    _set_env(compose, name, AIRFLOW_CONN_DYNAMICS_DEFAULT=json.dumps({**conn, "password": password}))


MISTAKES: dict[str, tuple[Callable[[dict[str, Any]], None], Callable[..., list[str]], str]] = {
    "triggerer without plugins": (lambda c: _without_mount(c, "airflow-triggerer", "/opt/airflow/plugins"),
                                  code_mounts, "airflow-triggerer: ./plugins"),
    "worker without include": (lambda c: _without_mount(c, "airflow-worker", "/opt/airflow/include"),
                               code_mounts, "airflow-worker: ./include"),
    "worker on LocalExecutor": (lambda c: _set_env(c, "airflow-worker", AIRFLOW__CORE__EXECUTOR="LocalExecutor"),
                                executor_and_backends, "airflow-worker: executor"),
    "metadata DB on SQLite": (lambda c: _set_env(c, "airflow-scheduler",
                                                 AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:////tmp/a.db"),
                              executor_and_backends, "airflow-scheduler: the metadata DB"),
    "broker elsewhere": (lambda c: _set_env(c, "airflow-worker", AIRFLOW__CELERY__BROKER_URL="redis://cache:6379/0"),
                         executor_and_backends, "airflow-worker: the Celery broker"),
    "scheduler without health check": (lambda c: _service(c, "airflow-scheduler").pop("healthcheck"),
                                       health_checks, "airflow-scheduler: no health check"),
    "triggerer without Dynamics": (lambda c: _set_env(c, "airflow-triggerer", AIRFLOW_CONN_DYNAMICS_DEFAULT=""),
                                   connections, "airflow-triggerer: no connection dynamics_default"),
    "worker without the emulator's CA": (lambda c: _without_mount(c, "airflow-worker", "/opt/airflow/emulator-data"),
                                         connections, "airflow-worker: dynamics_default does not trust"),
    "emulator renamed": (lambda c: c["services"].__setitem__("dynamics", c["services"].pop(EMULATOR)),
                         missing_services, "no service dataverse-emulator"),
    "no pool": (lambda c: _service(c, "airflow-init").__setitem__("command", ["-c", "airflow version"]),
                initialisation, "'dataverse' pool"),
    "image from elsewhere": (lambda c: _service(c, "airflow-worker").__setitem__("build", "./other"),
                             image, "airflow-worker: not built"),
    "a real secret": (lambda c: _dynamics_password(c, "airflow-worker", "Qx8~real-client-secret"),
                      lambda c: secrets_in_file(c, COMPOSE_PATH.read_text()), "the secret Qx8"),
    "a secret as a default": (lambda c: _set_env(c, "airflow-apiserver",
                                                 AIRFLOW__API_AUTH__JWT_SECRET="${JWT:-prod-signing-key}"),
                              lambda c: secrets_in_file(c, COMPOSE_PATH.read_text()), "the secret pro"),
    "a password in a URL": (lambda c: _set_env(c, "airflow-worker", AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=(
        "postgresql://airflow:Winter2026@postgres/airflow")), lambda c: secrets_in_file(c, COMPOSE_PATH.read_text()),
        "the secret Win"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_check_catches_its_mistake(mistake: str) -> None:
    mutate, check, expected = MISTAKES[mistake]
    compose = copy.deepcopy(load_compose())
    mutate(compose)
    problems = check(compose)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize("old, new, expected", [
    ("FROM apache/airflow:slim-3.3.2-python3.11", "FROM apache/airflow:2.10.5", "FROM apache/airflow 3.3.2"),
    ("-c /tmp/campaign-sync/constraints.txt", "", "with the constraints"),
])
def test_the_dockerfile_check_catches_its_mistakes(old: str, new: str, expected: str) -> None:
    text = DOCKERFILE_PATH.read_text()
    assert old in text
    assert any(expected in problem for problem in dockerfile(text.replace(old, new)))
