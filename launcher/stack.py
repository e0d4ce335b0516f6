"""`soporte up`: the whole product on one machine, as child processes of this one.

Order: database migrations, the Temporal dev server (unless SOPORTE_TEMPORAL_ADDRESS
names a cluster), then the worker, the API and the SMTP listener. Ctrl-C or SIGTERM
stops them in reverse order; a child that dies stops the rest.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from soporte.backup import data_dir_lock
from soporte.errors import UsageError
from soporte.settings import Settings

HOST = "127.0.0.1"
STOP_GRACE_SECONDS = 20.0
TEMPORAL_START_TIMEOUT = 60.0
# WAL with synchronous=NORMAL: a commit survives a killed process (the WAL is in the OS
# before the commit returns); only a power loss may drop the last commits. See README.
DEV_SERVER_PRAGMAS = ("journal_mode=wal", "synchronous=normal", "busy_timeout=10000")


@dataclass(frozen=True)
class StackPorts:
    api: int = 8000
    smtp: int = 2525
    temporal: int = 7233
    ui: int | None = None

    @property
    def temporal_ui(self) -> int:
        return self.ui if self.ui is not None else self.temporal + 1000


def dev_server_args(temporal_bin: str, db_file: Path, port: int, ui_port: int | None) -> list[str]:
    """The Temporal dev server as `soporte up` runs it (benchmarks reuse this)."""
    args = [temporal_bin, "server", "start-dev", "--db-filename", str(db_file)]
    args += ["--ip", HOST, "--port", str(port), "--log-level", "error"]
    for pragma in DEV_SERVER_PRAGMAS:
        args += ["--sqlite-pragma", pragma]
    if ui_port is None:
        args.append("--headless")
    else:
        args += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
    return args


def temporal_binary() -> str:
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.exists():
        return str(beside_python)
    raise UsageError("the Temporal dev server binary is missing: run `make install`")


def ensure_port_free(port: int, what: str, flag: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            raise UsageError(
                f"port {port} on {HOST} is already in use ({what}); choose another with {flag}"
            ) from None


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UsageError(f"the Temporal dev server exited with status {process.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise UsageError(f"the Temporal dev server did not answer on port {port} in {timeout:.0f}s")


def admin_token(settings: Settings) -> tuple[str, bool]:
    """The admin token and whether it was generated now (it is then printed once)."""
    if settings.admin_token:
        return settings.admin_token, False
    path = settings.data_dir / "admin-token"
    if path.exists():
        return path.read_text().strip(), False
    token = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token, True


def _die_with_parent() -> None:
    """Runs in the child before exec: if `soporte up` is killed, the child gets SIGTERM."""
    os.setsid()
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:
        pass


class Stack:
    def __init__(self, settings: Settings, ports: StackPorts) -> None:
        self.settings = settings
        self.ports = ports
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.stop_requested = threading.Event()

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log_file = open(self.settings.data_dir / "logs" / f"{name}.log", "ab")  # noqa: SIM115
        process = subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        log_file.close()
        self.children.append((name, process))
        return process

    def child_env(self, token: str, temporal_address: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SOPORTE_DATA_DIR=str(self.settings.data_dir),
            SOPORTE_DATABASE_URL=self.settings.effective_database_url,
            SOPORTE_TEMPORAL_ADDRESS=temporal_address,
            SOPORTE_ADMIN_TOKEN=token,
            SOPORTE_PUBLIC_URL=f"http://{HOST}:{self.ports.api}",
        )
        return env

    def check_ports(self) -> None:
        ensure_port_free(self.ports.api, "API", "--api-port")
        ensure_port_free(self.ports.smtp, "SMTP listener", "--smtp-port")
        if not self.settings.temporal_address:
            ensure_port_free(self.ports.temporal, "Temporal", "--temporal-port")
            ensure_port_free(self.ports.temporal_ui, "Temporal UI", "--ui-port")

    def start_temporal(self) -> str:
        if self.settings.temporal_address:
            return self.settings.temporal_address
        args = dev_server_args(
            temporal_binary(),
            self.settings.data_dir / "temporal.db",
            self.ports.temporal,
            self.ports.temporal_ui,
        )
        process = self.spawn("temporal", args, dict(os.environ))
        wait_for_port(self.ports.temporal, TEMPORAL_START_TIMEOUT, process)
        return f"{HOST}:{self.ports.temporal}"

    def start_app(self, env: dict[str, str]) -> None:
        me = [sys.executable, "-m", "launcher.cli"]
        self.spawn("worker", [*me, "worker"], env)
        self.spawn("api", [*me, "api", "--host", HOST, "--port", str(self.ports.api)], env)
        self.spawn("smtp", [*me, "smtp", "--host", HOST, "--port", str(self.ports.smtp)], env)

    def wait(self) -> int:
        """Until a stop is asked for (status 0) or a child dies on its own (status 1)."""
        while not self.stop_requested.wait(0.5):
            for name, process in self.children:
                if process.poll() is not None:
                    logs = self.settings.data_dir / "logs" / f"{name}.log"
                    print(
                        f"soporte: {name} exited with status {process.returncode}; see {logs}",
                        file=sys.stderr,
                    )
                    return 1
        return 0

    def stop(self) -> None:
        for _name, process in reversed(self.children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def print_banner(settings: Settings, ports: StackPorts, token: str, new_token: bool) -> None:
    data_dir = settings.data_dir.resolve()
    lines = [
        f"API          http://{HOST}:{ports.api}/api/v1",
        f"OpenAPI docs http://{HOST}:{ports.api}/docs",
    ]
    if settings.temporal_address:
        lines.append(f"Temporal     {settings.temporal_address} (external cluster)")
    else:
        lines.append(f"Temporal     {HOST}:{ports.temporal}")
        lines.append(f"Temporal UI  http://{HOST}:{ports.temporal_ui}")
    lines.append(f"SMTP inbound {HOST}:{ports.smtp}")
    lines.append(f"Data dir     {data_dir} (logs in {data_dir / 'logs'})")
    if new_token:
        lines.append(f"Admin token  {token}  (kept in {data_dir / 'admin-token'})")
    else:
        lines.append(f"Admin token  in {data_dir / 'admin-token'} or SOPORTE_ADMIN_TOKEN")
    print("\n".join(lines), flush=True)


def run_stack(settings: Settings, ports: StackPorts) -> int:
    settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
    stack = Stack(settings, ports)
    stack.check_ports()
    (settings.data_dir / "logs").mkdir(parents=True, exist_ok=True)
    # Held while the stack runs: `soporte restore` refuses to write under a running stack.
    with data_dir_lock(settings.data_dir, "starting a second stack on it"):
        return _run_locked(settings, ports, stack)


def _run_locked(settings: Settings, ports: StackPorts, stack: Stack) -> int:
    from soporte.db.migrate import run_migrations

    token, new_token = admin_token(settings)
    run_migrations(settings.effective_database_url)

    def request_stop(signum: int, _frame: object) -> None:
        stack.stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        temporal_address = stack.start_temporal()
        stack.start_app(stack.child_env(token, temporal_address))
        print_banner(settings, ports, token, new_token)
        status = stack.wait()
    finally:
        stack.stop()
    print("soporte: stopped", flush=True)
    return status
