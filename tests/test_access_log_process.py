"""The API's log as `soporte up` keeps it (a real `soporte api` process, its stderr in a
file): one JSON line per request, SOPORTE_LOG_LEVEL and SOPORTE_LOG_FORMAT obeyed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api_support import ADMIN_TOKEN, database


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def app_env(data_dir: Path, url: str, temporal: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPORTE_")}
    env.update(
        SOPORTE_DATA_DIR=str(data_dir),
        SOPORTE_DATABASE_URL=url,
        SOPORTE_TEMPORAL_ADDRESS=temporal,
        SOPORTE_ADMIN_TOKEN=ADMIN_TOKEN,
        **extra,
    )
    return env


@contextmanager
def api_process(
    tmp_path: Path, dev_env: WorkflowEnvironment, **log_settings: str
) -> Iterator[tuple[str, Path]]:
    """`soporte api` as `soporte up` runs it, its output in a log file."""
    temporal = dev_env.client.service_client.config.target_host
    port = free_port()
    log_file = tmp_path / "api.log"
    with database("sqlite", tmp_path) as url, log_file.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "launcher.cli", "api", "--port", str(port)],
            env=app_env(tmp_path, url, temporal, **log_settings),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    # No worker runs here, so health answers 503 ("worker": "not polling"):
                    # any answer means the API is up.
                    if httpx.get(f"{base}/healthz", timeout=2).status_code in (200, 503):
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, log_file.read_text()
                assert time.monotonic() < deadline, "the API did not come up"
                time.sleep(0.1)
            yield base, log_file
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)


ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def some_requests(base: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as http:
        created = http.post(
            "/api/v1/clients",
            json={"nit": "800197268-4", "name": "Tornillo", "active": True},
            headers={**ADMIN, "X-Request-ID": "crea-cliente-1"},
        )
        assert created.status_code == 201, created.text
        assert created.headers["x-request-id"] == "crea-cliente-1"
        listed = http.get("/api/v1/clients/800197268-4/contacts", headers=ADMIN)
        assert listed.status_code == 200
        refused = http.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
        assert refused.status_code == 401


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_api_log_has_one_json_line_per_request(tmp_path: Path, dev_env: WorkflowEnvironment):
    with api_process(tmp_path, dev_env, SOPORTE_LOG_FORMAT="json") as (base, log_file):
        some_requests(base)

    lines = json_lines(log_file)  # every line of the file is JSON
    access = [line for line in lines if line["logger"] == "soporte.access"]
    requests = [(a["method"], a["path"], a["status"]) for a in access if a["path"] != "/healthz"]
    # Each line is written as its response ends: the next request may be logged first.
    assert sorted(requests) == sorted([
        ("POST", "/api/v1/clients", 201),
        ("GET", "/api/v1/clients/{nit}/contacts", 200),
        ("GET", "/api/v1/me", 401),
    ])
    post = next(a for a in access if a["method"] == "POST")
    assert post["request_id"] == "crea-cliente-1" and post["principal"] == "admin"
    assert isinstance(post["duration_ms"], float) and post["level"] == "INFO"
    assert {"at", "message"} <= post.keys()
    text = log_file.read_text()
    assert ADMIN_TOKEN not in text and "not-a-token" not in text
    assert "Tornillo" not in text and "800197268-4" not in text  # no body, no raw path


def test_text_format_and_a_quieter_level(tmp_path: Path, dev_env: WorkflowEnvironment):
    with api_process(tmp_path / "text", dev_env) as (base, log_file):
        some_requests(base)
    [line] = [line for line in log_file.read_text().splitlines() if "POST" in line]
    assert " INFO soporte.access: POST /api/v1/clients 201 " in line
    assert line.endswith("principal=admin request_id=crea-cliente-1")

    with api_process(tmp_path / "quiet", dev_env, SOPORTE_LOG_LEVEL="warning") as (base, quiet):
        some_requests(base)
    assert "soporte.access" not in quiet.read_text()


@pytest.mark.parametrize(
    ("name", "value"), [("SOPORTE_LOG_FORMAT", "xml"), ("SOPORTE_LOG_LEVEL", "LOUD")]
)
def test_a_bad_log_setting_is_one_line_naming_it(tmp_path: Path, name: str, value: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPORTE_")}
    env.update({"SOPORTE_DATA_DIR": str(tmp_path), name: value})
    result = subprocess.run(
        [sys.executable, "-m", "launcher.cli", "migrate"],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert name in result.stderr and value in result.stderr and "Traceback" not in result.stderr
