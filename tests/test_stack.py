"""`soporte up` end to end: healthy, then stopped cleanly with nothing left behind."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from launcher.stack import EMBEDDED_HISTORY_CACHE, dev_server_args
from soporte.settings import Settings
from tests.stack_support import (
    alive,
    children_named,
    descendants,
    free_port,
    free_ports,
    start_stack,
)


def workers_polling(api_url: str) -> int:
    return int(httpx.get(f"{api_url}/healthz", timeout=5).json()["workers"])


def test_up_serves_healthz_and_sigterm_stops_every_child(tmp_path: Path):
    metrics = free_ports(2)
    stack = start_stack(tmp_path / "var", env={"SOPORTE_WORKER_METRICS_PORT": str(metrics)})
    try:
        stack.wait_healthy()
        children = descendants(stack.process.pid)
        assert len(children) >= 5  # dev server, two workers, API, SMTP listener
        assert len(children_named(stack.process.pid, "launcher.cli", "worker")) == 2
        deadline = time.monotonic() + 60
        while workers_polling(stack.api_url) < 2 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert workers_polling(stack.api_url) == 2
        for port in (metrics, metrics + 1):  # one /metrics each
            scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
            assert scraped.status_code == 200 and "temporal_" in scraped.text
    finally:
        status, out, err = stack.stop()
    assert status == 0, err
    assert "Workers      2 on task queue soporte" in out
    assert f"http://127.0.0.1:{metrics}/metrics (worker), " in out
    assert f"http://127.0.0.1:{metrics + 1}/metrics (worker2)" in out
    # Both started at once on a new server: neither lost the race to register the search
    # attributes or create the committee schedule (a crash would be restarted and said).
    assert "exited" not in err, err
    assert f"OpenAPI docs {stack.api_url}/docs" in out
    assert f"Temporal UI  http://127.0.0.1:{stack.ports['ui']}" in out
    assert "Admin token" in out
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in children if alive(pid)] == []
    assert (tmp_path / "var" / "temporal.db").exists()
    token = (tmp_path / "var" / "admin-token").read_text().strip()
    assert len(token) >= 40 and token in out


def test_a_port_in_use_is_one_clear_line(tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "launcher.cli",
                "up",
                "--data-dir",
                str(tmp_path),
                "--api-port",
                str(port),
                "--temporal-port",
                str(free_port()),
                "--smtp-port",
                str(free_port()),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"soporte: port {port} on 127.0.0.1 is already in use (API); choose another with --api-port"
    )


def test_a_second_start_on_the_same_data_dir_finds_every_ticket(tmp_path: Path):
    data_dir = tmp_path / "var"
    stack = start_stack(data_dir)
    try:
        stack.wait_healthy()
        api = f"{stack.api_url}/api/v1"
        admin = {"Authorization": f"Bearer {(data_dir / 'admin-token').read_text().strip()}"}
        client = {"nit": "800197268-4", "name": "Ferretería El Tornillo", "active": True}
        assert httpx.post(f"{api}/clients", json=client, headers=admin).status_code == 201
        contact = {"name": "Ana", "email": "ana@tornillo.co", "phone": "3001234567"}
        created = httpx.post(f"{api}/clients/800197268-4/contacts", json=contact, headers=admin)
        assert created.status_code == 201, created.text
        token = httpx.post(f"{api}/tokens", json={"email": "ana@tornillo.co"}, headers=admin)
        ana = {"Authorization": f"Bearer {token.json()['token']}"}
        ticket = {
            "kind": "support",
            "category": "facturación",
            "subject": "No puedo facturar",
            "description": "Error al emitir",
            "expected_result": "Emitir",
        }
        opened = httpx.post(f"{api}/tickets", json=ticket, headers=ana, timeout=30)
        assert opened.status_code == 201, opened.text
        number = opened.json()["number"]
        before = opened.json()["sla"]
    finally:
        assert stack.stop()[0] == 0

    again = start_stack(data_dir)
    try:
        again.wait_healthy()
        found = httpx.get(f"{again.api_url}/api/v1/tickets/{number}", headers=ana, timeout=30)
        assert found.status_code == 200, found.text
        assert found.json()["subject"] == "No puedo facturar"
        assert found.json()["sla"]["resolution_due"] == before["resolution_due"]
        listed = httpx.get(f"{again.api_url}/api/v1/tickets", headers=ana, timeout=30).json()
        assert [item["number"] for item in listed["items"]] == [number]
    finally:
        assert again.stop()[0] == 0


def test_the_embedded_server_keeps_a_season_of_open_tickets_in_its_cache():
    args = dev_server_args("temporal", Path("temporal.db"), 7233, None)
    values = {args[i + 1] for i, arg in enumerate(args) if arg == "--dynamic-config-value"}
    for key in ("history.cacheMaxSize", "history.eventsCacheMaxSize"):
        assert f"{key}={EMBEDDED_HISTORY_CACHE}" in values
    defaults = Settings.model_fields
    hot = defaults["worker_cached_workflows"].default * defaults["workers"].default
    assert max(10_000, hot) <= EMBEDDED_HISTORY_CACHE  # the season; what workers cache
