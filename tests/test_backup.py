"""`soporte backup` under load and `soporte restore` into a new data dir: the restored
stack finds every ticket (its workflow too), its attachments and the admin token."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from tests.stack_support import RunningStack, start_stack

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
TICKET = {
    "kind": "support",
    "category": "facturación",
    "subject": "No puedo facturar",
    "description": "Error al emitir",
    "expected_result": "Emitir",
}


def soporte(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "launcher.cli", *args], capture_output=True, text=True, timeout=120
    )


def refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def register(stack: RunningStack) -> tuple[dict[str, str], dict[str, str]]:
    api = f"{stack.api_url}/api/v1"
    admin = {"Authorization": f"Bearer {(stack.data_dir / 'admin-token').read_text().strip()}"}
    client = {"nit": "800197268-4", "name": "Ferretería El Tornillo", "active": True}
    assert httpx.post(f"{api}/clients", json=client, headers=admin).status_code == 201
    contact = {"name": "Ana", "email": "ana@tornillo.co", "phone": "3001234567"}
    assert httpx.post(f"{api}/clients/800197268-4/contacts", json=contact, headers=admin)
    token = httpx.post(f"{api}/tokens", json={"email": "ana@tornillo.co"}, headers=admin)
    return admin, {"Authorization": f"Bearer {token.json()['token']}"}


class Load(threading.Thread):
    """Opens tickets one after another until stopped; keeps when each 201 arrived."""

    def __init__(self, api: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.api, self.headers = api, headers
        self.stop = threading.Event()
        self.answered: list[tuple[int, float]] = []

    def run(self) -> None:
        with httpx.Client(timeout=30) as http:
            while not self.stop.is_set():
                body = {**TICKET, "subject": f"Carga {len(self.answered)}"}
                response = http.post(f"{self.api}/tickets", json=body, headers=self.headers)
                assert response.status_code == 201, response.text
                self.answered.append((response.json()["number"], time.monotonic()))


async def workflows_missing(temporal_port: int, numbers: list[int]) -> list[int]:
    client = await Client.connect(f"127.0.0.1:{temporal_port}")
    missing = []
    for number in numbers:
        try:
            await client.get_workflow_handle(f"ticket-{number}").describe()
        except Exception:
            missing.append(number)
    return missing


def test_backup_under_load_restores_to_a_stack_that_finds_every_ticket(tmp_path: Path):
    source, backup_dir, target = tmp_path / "var", tmp_path / "backup", tmp_path / "restored"
    stack = start_stack(source)
    try:
        stack.wait_healthy()
        admin, ana = register(stack)
        api = f"{stack.api_url}/api/v1"
        opened = httpx.post(f"{api}/tickets", json=TICKET, headers=ana, timeout=30)
        first, request_id = opened.json(), opened.headers["x-request-id"]
        files = {"file": ("pantallazo.png", PNG, "image/png")}
        uploaded = httpx.post(
            f"{api}/tickets/{first['number']}/attachments", files=files, headers=ana, timeout=30
        )
        assert uploaded.status_code == 201, uploaded.text
        sha = uploaded.json()["sha256"]

        load = Load(api, ana)
        load.start()
        deadline = time.monotonic() + 60
        while len(load.answered) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        backup_started = time.monotonic()
        made = soporte("backup", str(backup_dir), "--data-dir", str(source))
        time.sleep(0.3)  # the load goes on a little after the copy, as it would
        load.stop.set()
        load.join(timeout=60)
        assert made.returncode == 0, made.stderr
        assert "backup in" in made.stdout
        before = [number for number, at in load.answered if at < backup_started]
        assert len(before) >= 5

        refused(soporte("backup", str(backup_dir), "--data-dir", str(source)), "not an empty")
        refused(
            soporte("restore", str(backup_dir), "--data-dir", str(source), "--force"),
            "running",
        )
    finally:
        assert stack.stop()[0] == 0

    # The stack's logs: the API's access line and the worker's line name the same request.
    api_log = (source / "logs" / "api.log").read_text()
    assert "soporte.access: POST /api/v1/tickets 201 " in api_log
    assert f"request_id={request_id}" in api_log
    # On whichever of the two workers took it (logs/worker.log, logs/worker2.log).
    worker_logs = "".join(path.read_text() for path in (source / "logs").glob("worker*.log"))
    assert f"start ticket-{first['number']} request_id={request_id}" in worker_logs

    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert set(manifest["files"]) == {"temporal.db", "soporte.db", "admin-token", "mail-secret"}
    assert manifest["attachments"] == [sha]
    assert manifest["tickets"] >= 1 + len(before)

    restored = soporte("restore", str(backup_dir), "--data-dir", str(target))
    assert restored.returncode == 0, restored.stderr
    refused(soporte("restore", str(backup_dir), "--data-dir", str(target)), "--force")
    again = soporte("restore", str(backup_dir), "--data-dir", str(target), "--force")
    assert again.returncode == 0, again.stderr
    assert (target / "admin-token").read_text() == (source / "admin-token").read_text()
    assert (target / "mail-secret").read_text() == (source / "mail-secret").read_text()

    stack = start_stack(target)
    try:
        stack.wait_healthy()
        api = f"{stack.api_url}/api/v1"
        for number in [first["number"], *before]:
            found = httpx.get(f"{api}/tickets/{number}", headers=ana, timeout=30)
            assert found.status_code == 200, (number, found.text)
        picture = httpx.get(
            f"{api}/tickets/{first['number']}/attachments/{sha}", headers=ana, timeout=30
        )
        assert picture.status_code == 200 and picture.content == PNG
        assert httpx.get(f"{api}/me", headers=admin).json()["roles"] == ["admin"]

        # Every registered ticket of the backup has its workflow (restarted if need be).
        numbers = list(range(1, manifest["last_ticket_number"] + 1))
        deadline = time.monotonic() + 60
        while missing := asyncio.run(workflows_missing(stack.ports["temporal"], numbers)):
            assert time.monotonic() < deadline, f"no workflow for {missing}"
            time.sleep(0.5)
        assert not (target / "restore-pending.json").exists()

        newer = httpx.post(f"{api}/tickets", json=TICKET, headers=ana, timeout=30)
        assert newer.status_code == 201
        assert newer.json()["number"] > manifest["last_ticket_number"]
    finally:
        assert stack.stop()[0] == 0


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    refused(
        soporte("restore", str(tmp_path / "empty"), "--data-dir", str(tmp_path / "v")),
        "manifest.json",
    )
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    manifest: dict[str, Any] = {
        "format": 1,
        "files": {"temporal.db": {"size": 1, "sha256": "0"}, "soporte.db": {}},
        "attachments": [],
        "restart_numbers": [],
        "created_at": "x",
        "tickets": 0,
    }
    (damaged / "manifest.json").write_text(json.dumps(manifest))
    refused(soporte("restore", str(damaged), "--data-dir", str(tmp_path / "v")), "damaged")
    assert not (tmp_path / "v" / "soporte.db").exists()


def test_backup_of_a_data_dir_without_state_says_so(tmp_path: Path):
    refused(
        soporte("backup", str(tmp_path / "b"), "--data-dir", str(tmp_path / "none")),
        "nothing to back up",
    )


def test_a_second_stack_on_a_locked_data_dir_is_refused(tmp_path: Path):
    from soporte.backup import data_dir_lock
    from tests.stack_support import free_port

    data_dir = tmp_path / "var"
    with data_dir_lock(data_dir, "test"):
        ports = [f"--{name}-port={free_port()}" for name in ("api", "smtp", "temporal", "ui")]
        refused(soporte("up", "--data-dir", str(data_dir), *ports), "running", "soporte.lock")


def test_tickets_registered_during_the_copy_are_listed(tmp_path: Path):
    """The manifest's restart list compares SQLite's stored instants as text: the format
    the models write must sort as time does."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from soporte.backup import registered_since
    from soporte.db.migrate import run_migrations
    from soporte.db.models import TicketIntake

    run_migrations(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    engine = create_engine(f"sqlite:///{tmp_path / 's.db'}")
    now = datetime.now(UTC)
    with Session(engine) as db:
        for at in (now - timedelta(minutes=3), now, now.replace(microsecond=0) + timedelta(1)):
            db.add(TicketIntake(principal="a@b.co", nit="1", created_at=at, input={"n": 1}))
        db.add(TicketIntake(principal="a@b.co", nit="1", created_at=now, input=None))
        db.commit()
    engine.dispose()
    assert registered_since(tmp_path / "s.db", now - timedelta(minutes=1)) == [2, 3]


def test_the_mail_secret_is_backed_up_so_a_restore_knows_our_old_message_ids(tmp_path: Path):
    """Without `mail-secret` a restored stack would make a new one, and every reply to our
    earlier mail would name a Message-ID it no longer recognises (an unverified message)."""
    import sqlite3

    from soporte.db.migrate import run_migrations
    from soporte.email.secret import message_ids
    from soporte.settings import load_settings

    source, backup_dir, target = tmp_path / "var", tmp_path / "backup", tmp_path / "restored"
    source.mkdir()
    run_migrations(f"sqlite+aiosqlite:///{source / 'soporte.db'}")
    with sqlite3.connect(source / "temporal.db") as db:
        db.execute("CREATE TABLE t (x)")
    (source / "admin-token").write_text("token\n")
    sent = message_ids(load_settings(data_dir=source)).for_mail(7, "7-1")
    assert (source / "mail-secret").is_file()

    made = soporte("backup", str(backup_dir), "--data-dir", str(source))
    assert made.returncode == 0, made.stderr
    assert "mail-secret" in json.loads((backup_dir / "manifest.json").read_text())["files"]
    restored = soporte("restore", str(backup_dir), "--data-dir", str(target))
    assert restored.returncode == 0, restored.stderr

    assert (target / "mail-secret").stat().st_mode & 0o777 == 0o600
    assert message_ids(load_settings(data_dir=target)).ticket_of(sent) == 7
    assert message_ids(load_settings(data_dir=tmp_path / "fresh")).ticket_of(sent) is None
