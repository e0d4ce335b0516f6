"""`soporte up` heals itself: a killed child comes back while the rest keep serving, and a
restart right after a stop comes up on the same ports though TIME_WAIT sockets remain."""

from __future__ import annotations

import mailbox
import os
import re
import signal
import socket
import stat
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from launcher.stack import RestartPolicy, Stack, StackPorts, ensure_port_free
from soporte.errors import UsageError
from soporte.settings import load_settings
from tests.stack_support import (
    RunningStack,
    child_named,
    children_named,
    start_stack,
    time_wait_sockets,
)

TICKET = {
    "kind": "support",
    "category": "facturación",
    "subject": "No puedo facturar",
    "description": "Error al emitir",
    "expected_result": "Emitir",
}


def wait_for(probe: Any, what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = probe()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout}s: {what}")


def healthy(stack: RunningStack) -> bool:
    return httpx.get(f"{stack.api_url}/healthz", timeout=5).status_code == 200


def acknowledged(data_dir: Path) -> int:
    outbox = data_dir / "mail" / "outbox"
    return len(mailbox.Maildir(str(outbox), create=False)) if outbox.exists() else 0


def open_ticket(api: str, contact: dict[str, str], key: str) -> int:
    headers = {**contact, "Idempotency-Key": key}
    opened = httpx.post(f"{api}/tickets", json=TICKET, headers=headers, timeout=60)
    assert opened.status_code == 201, opened.text
    return int(opened.json()["number"])


def register(api: str, admin: dict[str, str]) -> dict[str, str]:
    client = {"nit": "800197268-4", "name": "Ferretería El Tornillo", "active": True}
    assert httpx.post(f"{api}/clients", json=client, headers=admin).status_code == 201
    contact = {"name": "Ana", "email": "ana@tornillo.co", "phone": "3001234567"}
    created = httpx.post(f"{api}/clients/800197268-4/contacts", json=contact, headers=admin)
    assert created.status_code == 201, created.text
    token = httpx.post(f"{api}/tokens", json={"email": "ana@tornillo.co"}, headers=admin)
    return {"Authorization": f"Bearer {token.json()['token']}"}


def kill_and_heal(stack: RunningStack, *words: str) -> None:
    pid = child_named(stack.process.pid, *words)
    assert pid is not None, words
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: child_named(stack.process.pid, *words) not in (None, pid), f"{words} back")
    wait_for(lambda: healthy(stack), "healthy again")
    assert stack.process.poll() is None


def test_killed_worker_and_dev_server_come_back_and_nothing_acknowledged_is_lost(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"
    stack = start_stack(data_dir)
    numbers: list[int] = []
    try:
        stack.wait_healthy()
        api = f"{stack.api_url}/api/v1"
        admin = {"Authorization": f"Bearer {(data_dir / 'admin-token').read_text().strip()}"}
        ana = register(api, admin)
        numbers.append(open_ticket(api, ana, "before"))
        wait_for(lambda: acknowledged(data_dir) == 1, "the first acknowledgement")

        kill_and_heal(stack, "launcher.cli", "worker")
        numbers.append(open_ticket(api, ana, "after-worker"))
        wait_for(lambda: acknowledged(data_dir) == 2, "the worker works again")

        kill_and_heal(stack, "server", "start-dev")
        numbers.append(open_ticket(api, ana, "after-server"))
        wait_for(lambda: acknowledged(data_dir) == 3, "the worker works on the new server")
        for number in numbers:
            found = httpx.get(f"{api}/tickets/{number}", headers=ana, timeout=30)
            assert found.status_code == 200, found.text
            assert found.json()["status"] == "open"
        # Enough connections the server closes itself to leave TIME_WAIT sockets on its port.
        for _ in range(20):
            httpx.get(f"{stack.api_url}/healthz", headers={"Connection": "close"}, timeout=5)
    finally:
        status, _out, err = stack.stop()
    assert status == 0, err
    assert re.search(r"soporte: worker\d* exited with status -9; restarting in", err), err
    assert "soporte: temporal exited with status -9; restarting in" in err
    assert "soporte: temporal restarted" in err
    assert (data_dir / "logs" / "supervisor.log").read_text().count("restarted") == 2

    assert time_wait_sockets(stack.ports["api"]) > 0
    again = start_stack(data_dir, ports=stack.ports)  # at once, on the same ports
    try:
        again.wait_healthy()
        listed = httpx.get(f"{again.api_url}/api/v1/tickets", headers=ana, timeout=30).json()
        assert sorted(item["number"] for item in listed["items"]) == sorted(numbers)
        assert acknowledged(data_dir) == 3  # each acknowledgement once across it all
        assert_private(data_dir)
    finally:
        assert again.stop()[0] == 0


def assert_private(data_dir: Path) -> None:
    """A new data dir and all in it: 0700 directories, 0600 files."""
    seen = {path.relative_to(data_dir).parts[0] for path in data_dir.rglob("*")}
    assert {"soporte.db", "temporal.db", "logs", "mail", "admin-token"} <= seen
    loose = []
    for path in [data_dir, *data_dir.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            loose.append(f"{path.relative_to(data_dir)} {oct(mode)}")
    assert loose == []


def test_a_child_that_keeps_crashing_stops_the_stack_with_backoff_between(
    tmp_path: Path,
) -> None:
    policy = RestartPolicy(first_delay=0.2, max_delay=0.4, max_crashes=4, window=60.0)
    assert [policy.delay(n) for n in range(1, 5)] == [0.2, 0.4, 0.4, 0.4]
    (tmp_path / "logs").mkdir()
    stack = Stack(load_settings(data_dir=tmp_path), StackPorts(), policy)
    # A child that runs until the stack stops it.
    steady = stack.spawn("steady", [sys.executable, "-c", "import signal; signal.pause()"], {})
    stack.spawn("flaky", [sys.executable, "-c", "raise SystemExit(3)"], {})
    began = time.monotonic()
    try:
        assert stack.wait() == 1
        assert time.monotonic() - began >= 0.2 + 0.4 + 0.4  # the backoff between restarts
        assert steady.process.poll() is None  # the others kept running, never restarted
    finally:
        stack.stop()
    said = (tmp_path / "logs" / "supervisor.log").read_text()
    assert said.count("flaky exited with status 3; restarting in") == 3
    assert said.count("flaky restarted") == 3
    assert "flaky exited with status 3, 4 times in 60s: stopping" in said
    assert "steady" not in said


def time_wait_on(port: int) -> None:
    """Leave a TIME_WAIT socket on `port`: the server side closes first."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        with socket.create_connection(("127.0.0.1", port)) as client:
            served, _ = listener.accept()
            served.close()
            client.recv(1)


def test_the_port_probe_tells_time_wait_from_a_listening_server() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    time_wait_on(port)
    assert time_wait_sockets(port) >= 1
    ensure_port_free(port, "API", "--api-port")  # TIME_WAIT only: free for our server
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", port))
        busy.listen()
        with pytest.raises(UsageError, match=f"port {port} on 127.0.0.1 is already in use"):
            ensure_port_free(port, "API", "--api-port")


def staff_token(api: str, admin: dict[str, str], email: str) -> dict[str, str]:
    staff = {"name": "Luis", "email": email, "roles": ["engineer"]}
    assert httpx.post(f"{api}/staff", json=staff, headers=admin).status_code == 201
    token = httpx.post(f"{api}/tokens", json={"email": email}, headers=admin)
    return {"Authorization": f"Bearer {token.json()['token']}"}


def client_and_engineer(stack: RunningStack) -> tuple[str, dict[str, str], dict[str, str]]:
    """Once healthy: the API's base, a contact's (Ana's) and an engineer's (Luis's) tokens."""
    stack.wait_healthy()
    api = f"{stack.api_url}/api/v1"
    token = (stack.data_dir / "admin-token").read_text().strip()
    admin = {"Authorization": f"Bearer {token}"}
    return api, register(api, admin), staff_token(api, admin, "luis@btw.com.co")


def timed_post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[float, Any]:
    began = time.monotonic()
    response = httpx.post(url, json=body, headers=headers, timeout=120)
    return time.monotonic() - began, response


def test_a_stalled_worker_shows_in_healthz_and_every_command_is_answered_in_bound(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"
    stack = start_stack(data_dir, env={"SOPORTE_WORKERS": "1"})
    worker: int | None = None
    try:
        api, ana, luis = client_and_engineer(stack)
        number = open_ticket(api, ana, "first")
        wait_for(lambda: acknowledged(data_dir) >= 1, "the acknowledgement")
        worker = child_named(stack.process.pid, "launcher.cli", "worker")
        assert worker is not None
        os.kill(worker, signal.SIGSTOP)

        health = wait_for(
            lambda: (
                (r := httpx.get(f"{stack.api_url}/healthz", timeout=5)).status_code != 200 and r
            ),
            "healthz to see the stalled worker",
        )
        assert health.status_code == 503
        assert health.json()["worker"] == "not polling"
        assert health.json()["temporal"] == "ok"

        reply = {"body": "Revisando", "visibility": "public"}
        keyed = {**luis, "Idempotency-Key": "reply-1"}
        took, answer = timed_post(f"{api}/tickets/{number}/messages", reply, keyed)
        assert answer.status_code == 202, answer.text
        assert answer.headers["Location"] == f"/api/v1/tickets/{number}"
        assert answer.json()["location"] == f"/api/v1/tickets/{number}"
        assert took < 15
        took, answer = timed_post(f"{api}/tickets/{number}/messages", {"body": "FE-1"}, ana)
        assert answer.status_code == 202, answer.text
        assert took < 15
        took, answer = timed_post(f"{api}/tickets", TICKET, ana)
        assert answer.status_code == 201, answer.text  # the server takes it; the worker later
        assert took < 15
        took, read = time.monotonic(), httpx.get(f"{api}/tickets/{number}", headers=ana, timeout=60)
        assert read.status_code == 200 and time.monotonic() - took < 15

        os.kill(worker, signal.SIGCONT)
        worker = None
        wait_for(lambda: healthy(stack), "healthy again")
        # The retry with the same key gets the first answer; the reply is there once.
        retried = httpx.post(
            f"{api}/tickets/{number}/messages", json=reply, headers=keyed, timeout=60
        )
        assert retried.status_code == 200, retried.text

        def bodies() -> list[str]:
            entries = httpx.get(f"{api}/tickets/{number}/log", headers=luis, timeout=30).json()
            return [entry["body"] for entry in entries]

        wait_for(lambda: {"Revisando", "FE-1"} <= set(bodies()), "both messages in the log")
        assert bodies().count("Revisando") == 1 and bodies().count("FE-1") == 1
    finally:
        if worker is not None:
            os.kill(worker, signal.SIGCONT)
        status, _out, err = stack.stop()
    assert status == 0, err


def test_with_one_of_two_workers_stalled_healthz_stays_ok_and_its_tickets_move_on(
    tmp_path: Path,
) -> None:
    """The tickets the stalled worker kept in its cache (of the four, whichever it took) go
    to the other once the server gives up on its sticky queue (the SDK's 10 s): nothing
    waits for it to wake. With one worker, /healthz would answer 503 and nothing move."""
    data_dir = tmp_path / "var"
    stack = start_stack(data_dir)  # SOPORTE_WORKERS: 2 by default
    stalled: int | None = None
    try:
        api, ana, luis = client_and_engineer(stack)
        numbers = [open_ticket(api, ana, f"t{k}") for k in range(4)]
        # Each: its acknowledgement to Ana, its assignment to Luis (the only engineer).
        wait_for(lambda: acknowledged(data_dir) == 8, "four tickets acknowledged and assigned")
        workers = children_named(stack.process.pid, "launcher.cli", "worker")
        assert len(workers) == 2
        stalled = workers[0]
        os.kill(stalled, signal.SIGSTOP)

        def one_polling() -> Any:
            health = httpx.get(f"{stack.api_url}/healthz", timeout=5)
            assert health.status_code == 200, health.text  # never unavailable meanwhile
            return health.json()["workers"] == 1 and health

        assert wait_for(one_polling, "healthz to count one worker").json()["worker"] == "ok"
        for number in numbers:
            reply = {"body": f"Revisando {number}", "visibility": "public"}
            answer = httpx.post(
                f"{api}/tickets/{number}/messages", json=reply, headers=luis, timeout=60
            )
            assert answer.status_code in (200, 202), answer.text

        def replied() -> bool:
            for number in numbers:
                log = httpx.get(f"{api}/tickets/{number}/log", headers=luis, timeout=30).json()
                if f"Revisando {number}" not in [entry["body"] for entry in log]:
                    return False
            return True

        wait_for(replied, "every reply taken while one worker is stalled", timeout=60)
        assert alive_stopped(stalled)
    finally:
        if stalled is not None:
            os.kill(stalled, signal.SIGCONT)
        status, _out, err = stack.stop()
    assert status == 0, err


def alive_stopped(pid: int) -> bool:
    """The process exists and is stopped (state T)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
