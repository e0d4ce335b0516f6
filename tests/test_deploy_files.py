"""The production topology (docker-compose.yml, Dockerfile) is wired as DESIGN.md says.

No Docker needed: the files are parsed and their wiring checked, so a renamed
service, a lost environment variable or a broken start order fails here first.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
INIT_SQL = ROOT / "deploy" / "postgres-init.sql"

APP_SERVICES = ("migrate", "api", "worker", "smtp")
TEMPORAL_SERVICES = ("temporal-schema", "temporal", "temporal-namespace", "temporal-ui")
ALL_SERVICES = ("postgres", *TEMPORAL_SERVICES, *APP_SERVICES)
TEMPORAL_POSTGRES_DRIVERS = {"postgres12", "postgres12_pgx", "postgresql"}

_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}")


def _defaults(value: object) -> str:
    """A compose value with `${VAR:-default}` replaced by its default (the shell ignored)."""
    text = "" if value is None else str(value)
    return _INTERPOLATION.sub(lambda m: m.group("default") or "", text).replace("$$", "$")


def _env(service: dict[str, Any]) -> dict[str, str | None]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in raw)
        raw = dict(pairs)
    return {key: None if value is None else _defaults(value) for key, value in raw.items()}


def _depends(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return {name: "service_started" for name in raw}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


def _command(service: dict[str, Any]) -> list[str]:
    raw = service.get("command") or []
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


def _published_targets(service: dict[str, Any]) -> set[int]:
    targets = set()
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            targets.add(int(port["target"]))
        else:
            targets.add(int(str(port).split("/")[0].rsplit(":", 1)[-1]))
    return targets


def _healthcheck_enabled(service: dict[str, Any]) -> bool:
    check = service.get("healthcheck")
    if not check or check.get("disable"):
        return False
    test = check.get("test")
    return bool(test) and test != ["NONE"]


def _healthcheck_text(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    assert COMPOSE_FILE.exists(), "docker-compose.yml is missing at the project root"
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose.get("services")
    assert isinstance(found, dict), "docker-compose.yml has no services"
    return found


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuations joined."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


# --- compose: services and the app image ------------------------------------------


def test_every_service_of_the_topology_exists(services: dict[str, Any]) -> None:
    missing = [name for name in ALL_SERVICES if name not in services]
    assert not missing, f"docker-compose.yml lacks services {missing}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_use_the_app_build(services: dict[str, Any], name: str) -> None:
    service = services[name]
    build = service.get("build")
    assert build is not None, f"{name} must be built from this project's Dockerfile"
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (ROOT / context).resolve() == ROOT, f"{name} builds from {context!r}, not the root"
    assert (ROOT / context / dockerfile).resolve() == DOCKERFILE


def test_app_services_share_one_image(services: dict[str, Any]) -> None:
    images = {_defaults(services[name].get("image")) for name in APP_SERVICES}
    assert len(images) == 1 and "" not in images, f"app services name images {images}"


def test_shared_app_environment_is_an_anchor_every_app_service_gets(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    assert re.search(r"^x-app-env:\s*&", COMPOSE_FILE.read_text(encoding="utf-8"), re.M)
    shared = compose.get("x-app-env")
    assert isinstance(shared, dict) and shared
    for name in APP_SERVICES:
        env = _env(services[name])
        for key, value in shared.items():
            assert key in env, f"{name} lacks {key} from x-app-env"
            assert env[key] == (None if value is None else _defaults(value)), (name, key)


# --- compose: environment wiring ------------------------------------------------


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_reach_the_read_model_database(services: dict[str, Any], name: str) -> None:
    url = _env(services[name]).get("SOPORTE_DATABASE_URL")
    assert url, f"{name} has no SOPORTE_DATABASE_URL"
    parts = urlsplit(url)
    assert parts.scheme in {"postgresql+psycopg", "postgresql"}, url
    assert parts.hostname == "postgres" and "postgres" in services, url
    assert parts.port in (None, 5432), url
    database = parts.path.lstrip("/")
    assert database == "soporte", f"{name}: the app's database is {database!r}, not 'soporte'"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_reach_temporal(services: dict[str, Any], name: str) -> None:
    env = _env(services[name])
    assert env.get("SOPORTE_TEMPORAL_ADDRESS") == "temporal:7233", name
    assert env.get("SOPORTE_DATA_DIR") == "/data", name


def test_app_database_and_role_are_created_by_the_init_script(services: dict[str, Any]) -> None:
    url = urlsplit(_env(services["api"])["SOPORTE_DATABASE_URL"] or "")
    sql = INIT_SQL.read_text(encoding="utf-8")
    assert re.search(
        rf"CREATE\s+(ROLE|USER)\s+{url.username}\b[^;]*PASSWORD\s+'{url.password}'", sql, re.I
    ), "the init script must create the role and password SOPORTE_DATABASE_URL uses"
    assert re.search(rf"CREATE\s+DATABASE\s+{url.path.lstrip('/')}\b", sql, re.I)
    mounts = [_defaults(volume) for volume in services["postgres"].get("volumes") or []]
    assert any(
        mount.split(":")[0] in {"./deploy/postgres-init.sql", "deploy/postgres-init.sql"}
        and mount.split(":")[1].startswith("/docker-entrypoint-initdb.d/")
        for mount in mounts
    ), f"postgres does not mount deploy/postgres-init.sql: {mounts}"


def test_temporal_is_postgresql_backed(services: dict[str, Any]) -> None:
    temporal, postgres = services["temporal"], services["postgres"]
    # The server image, not the deprecated auto-setup one (its schema step is temporal-schema).
    assert str(temporal.get("image")).startswith("temporalio/server:")
    assert not [name for name, svc in services.items() if "auto-setup" in str(svc.get("image"))]
    env, db_env = _env(temporal), _env(postgres)
    assert env.get("DB") in TEMPORAL_POSTGRES_DRIVERS, f"temporal DB={env.get('DB')!r}"
    assert env.get("POSTGRES_SEEDS") == "postgres"
    assert str(env.get("DB_PORT")) == "5432"
    assert env.get("POSTGRES_USER") == db_env.get("POSTGRES_USER")
    assert env.get("POSTGRES_PWD") == db_env.get("POSTGRES_PASSWORD")


def test_temporal_and_the_app_use_separate_databases(services: dict[str, Any]) -> None:
    url = urlsplit(_env(services["api"])["SOPORTE_DATABASE_URL"] or "")
    temporal_env = _env(services["temporal"])
    temporal_dbs = {
        temporal_env.get("DBNAME") or "temporal",
        temporal_env.get("VISIBILITY_DBNAME") or "temporal_visibility",
    }
    assert url.path.lstrip("/") not in temporal_dbs
    assert url.username != temporal_env.get("POSTGRES_USER")


def test_temporal_ui_points_at_the_cluster(services: dict[str, Any]) -> None:
    ui = services["temporal-ui"]
    assert "temporalio/ui" in str(ui.get("image"))
    assert _env(ui).get("TEMPORAL_ADDRESS") == "temporal:7233"
    assert 8080 in _published_targets(ui)


# --- compose: commands, ports, scale ---------------------------------------------


def test_commands_and_ports(services: dict[str, Any]) -> None:
    assert _command(services["migrate"]) == ["soporte", "migrate"]
    assert _command(services["worker"]) == ["soporte", "worker"]
    api = _command(services["api"])
    assert api[:2] == ["soporte", "api"]
    assert api[api.index("--host") + 1] == "0.0.0.0"
    assert api[api.index("--port") + 1] == "8000"
    assert 8000 in _published_targets(services["api"])
    smtp = _command(services["smtp"])
    assert smtp[:2] == ["soporte", "smtp"]
    assert smtp[smtp.index("--host") + 1] == "0.0.0.0"
    assert 2525 in _published_targets(services["smtp"])


def test_worker_runs_at_least_two_replicas(services: dict[str, Any]) -> None:
    worker = services["worker"]
    replicas = (worker.get("deploy") or {}).get("replicas")
    assert isinstance(replicas, int) and replicas >= 2, f"worker replicas: {replicas!r}"
    # Replicas cannot share a container name or a published host port.
    assert "container_name" not in worker
    assert not worker.get("ports")


# --- compose: health and start order ----------------------------------------------


@pytest.mark.parametrize("name", ["postgres", "temporal", "api", "worker", "smtp"])
def test_core_services_have_healthchecks(services: dict[str, Any], name: str) -> None:
    assert _healthcheck_enabled(services[name]), f"{name} has no enabled healthcheck"


def test_healthchecks_ask_the_right_thing(services: dict[str, Any]) -> None:
    assert "pg_isready" in _healthcheck_text(services["postgres"])
    # The server image carries no Temporal CLI: its check asks the frontend port.
    temporal = _healthcheck_text(services["temporal"])
    assert "nc -z" in temporal and "7233" in temporal
    api = _healthcheck_text(services["api"])
    assert "/healthz" in api and ":8000" in api


@pytest.mark.parametrize(
    ("name", "needs"),
    [
        ("temporal-schema", {"postgres": "service_healthy"}),
        ("temporal", {"temporal-schema": "service_completed_successfully"}),
        ("temporal-namespace", {"temporal": "service_healthy"}),
        ("migrate", {"postgres": "service_healthy"}),
        (
            "api",
            {
                "migrate": "service_completed_successfully",
                "temporal": "service_healthy",
                "temporal-namespace": "service_completed_successfully",
            },
        ),
        (
            "worker",
            {
                "migrate": "service_completed_successfully",
                "temporal": "service_healthy",
                "temporal-namespace": "service_completed_successfully",
            },
        ),
        ("smtp", {"migrate": "service_completed_successfully"}),
        ("temporal-ui", {"temporal": None}),
    ],
)
def test_start_order(services: dict[str, Any], name: str, needs: dict[str, str | None]) -> None:
    depends = _depends(services[name])
    for target, condition in needs.items():
        assert target in depends, f"{name} must depend on {target}"
        if condition:
            assert depends[target] == condition, f"{name} -> {target}: {depends[target]}"


def test_every_dependency_condition_can_be_met(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for target, condition in _depends(service).items():
            assert target in services, f"{name} depends on unknown service {target}"
            if condition == "service_healthy":
                assert _healthcheck_enabled(services[target]), (
                    f"{name} waits for {target} to be healthy, but it has no healthcheck"
                )
            if condition == "service_completed_successfully":
                restart = str(services[target].get("restart", "no"))
                assert restart in {"no", "on-failure"}, (
                    f"{target} is one-shot for {name}, but restarts ({restart})"
                )


def test_migrate_is_one_shot(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert str(migrate.get("restart", "no")) in {"no", "on-failure"}
    assert not migrate.get("ports")


# --- Dockerfile and .dockerignore ------------------------------------------------------


def test_dockerfile_base_install_and_command(dockerfile: list[tuple[str, str]]) -> None:
    froms = [args for keyword, args in dockerfile if keyword == "FROM"]
    assert froms and froms[-1].split()[0] == "python:3.11-slim"
    runs = " ".join(args for keyword, args in dockerfile if keyword == "RUN")
    assert re.search(r"pip install[^&;]*\s\.(\s|$)", runs), "the image must `pip install .`"
    cmd = [args for keyword, args in dockerfile if keyword == "CMD"]
    assert cmd and "soporte" in cmd[-1] and "api" in cmd[-1] and "0.0.0.0" in cmd[-1]
    env = " ".join(args for keyword, args in dockerfile if keyword == "ENV")
    assert re.search(r"SOPORTE_DATA_DIR[= ]/data\b", env)
    volumes = " ".join(args for keyword, args in dockerfile if keyword == "VOLUME")
    assert "/data" in volumes


def test_dockerfile_has_a_healthcheck_on_healthz(dockerfile: list[tuple[str, str]]) -> None:
    checks = [args for keyword, args in dockerfile if keyword == "HEALTHCHECK"]
    assert checks, "the Dockerfile has no HEALTHCHECK"
    assert not checks[-1].upper().startswith("NONE")
    assert "/healthz" in checks[-1] and "urllib" in checks[-1]


def test_dockerfile_runs_as_a_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    # Only the final stage's USER matters.
    last_from = max(i for i, (keyword, _) in enumerate(dockerfile) if keyword == "FROM")
    users = [args for keyword, args in dockerfile[last_from:] if keyword == "USER"]
    assert users, "the final image runs as root: add a USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"USER {users[-1]} is root"


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = {
        line.strip().strip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (".venv", ".git", "var", "__pycache__", ".pytest_cache", ".mypy_cache"):
        assert needed in patterns, f".dockerignore must exclude {needed}"


def test_compose_comment_gives_the_first_admin_by_a_real_command() -> None:
    """The cluster's API prints no admin token: the comment names the command that makes one,
    and that command parses as the CLI's own."""
    from launcher.cli import build_parser

    comment = [line.lstrip("# ") for line in COMPOSE_FILE.read_text().splitlines()]
    assert not any("grep -i token" in line for line in comment)
    [line] = [line for line in comment if "soporte admin create-token --create-admin" in line]
    words = shlex.split(line)
    args = build_parser().parse_args(words[words.index("soporte") + 1 :])
    assert args.create_admin and args.email == "admin@btw.com.co" and args.name
    assert words[:4] == ["docker", "compose", "run", "--rm"]
    assert words[4] in {"migrate", "api"}
