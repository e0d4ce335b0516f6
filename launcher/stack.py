"""`soporte up`: the whole product on one machine, as child processes of this one.

Order: database migrations, the Temporal dev server (unless SOPORTE_TEMPORAL_ADDRESS
names a cluster), then the workers (SOPORTE_WORKERS), the API and the SMTP listener.
Ctrl-C or SIGTERM stops them in reverse order. A child that dies on its own is restarted
after a backoff while the others keep serving (RestartPolicy); only a child that keeps
crashing (`max_crashes` within `window` seconds) stops the whole stack.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import socket
import subprocess  # nosec B404  # soporte up runs its own children
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from soporte.backup import data_dir_lock
from soporte.errors import UsageError
from soporte.settings import Settings

HOST = "127.0.0.1"
PRIVATE_UMASK = 0o077
STOP_GRACE_SECONDS = 20.0
TEMPORAL_START_TIMEOUT = 60.0
# WAL with synchronous=NORMAL: a commit survives a killed process (the WAL is in the OS
# before the commit returns); only a power loss may drop the last commits. See README.
DEV_SERVER_PRAGMAS = ("journal_mode=wal", "synchronous=normal", "busy_timeout=10000")
# The dev server answers an idle long poll after this (Temporal's default is 60 s), so a
# live worker re-polls that often and one that stopped polling is seen within the max age.
EMBEDDED_LONG_POLL = "10s"
EMBEDDED_POLLER_MAX_AGE = "PT30S"
# Workflows whose state (and recent events) the dev server keeps in memory, a season's open
# tickets (Temporal's default is 512): past it, a command on a ticket the server let go
# reloads its state from SQLite. Over 2,000 open tickets commands ran 8-10 % faster
# (bench/commands.py); over 5,000 no faster, the workers' caches being what is missed.
EMBEDDED_HISTORY_CACHE = 10000


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
    long_poll = f'matching.longPollExpirationInterval="{EMBEDDED_LONG_POLL}"'
    args += ["--dynamic-config-value", long_poll]
    for key in ("history.cacheMaxSize", "history.eventsCacheMaxSize"):
        args += ["--dynamic-config-value", f"{key}={EMBEDDED_HISTORY_CACHE}"]
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
    """Refuse a port another process listens on. The probe binds as our servers will
    (uvicorn, aiosmtpd and the dev server all set SO_REUSEADDR), so the TIME_WAIT sockets
    a stop leaves behind do not look like a running server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            raise UsageError(
                f"port {port} on {HOST} is already in use ({what}); choose another with {flag}"
            ) from None


def wait_for_port(
    port: int,
    timeout: float,
    process: subprocess.Popen[bytes],
    stop: threading.Event | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (stop and stop.is_set()):
        if process.poll() is not None:
            raise UsageError(f"the Temporal dev server exited with status {process.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    if stop and stop.is_set():
        return
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


@dataclass(frozen=True)
class RestartPolicy:
    """How a crashed child comes back: after `first_delay`, doubled per recent crash up to
    `max_delay`; `max_crashes` crashes within `window` seconds stop the stack."""

    first_delay: float = 0.5
    max_delay: float = 10.0
    max_crashes: int = 5
    window: float = 120.0

    def delay(self, recent_crashes: int) -> float:
        return min(self.max_delay, self.first_delay * 2 ** max(0, recent_crashes - 1))


@dataclass
class Child:
    name: str
    args: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    # The port it serves once ready (the dev server: the others wait for it).
    ready_port: int | None = None
    crashes: list[float] = field(default_factory=list)
    restart_at: float | None = None


class Stack:
    def __init__(
        self, settings: Settings, ports: StackPorts, policy: RestartPolicy | None = None
    ) -> None:
        self.settings = settings
        self.ports = ports
        self.policy = policy or RestartPolicy()
        self.children: list[Child] = []
        self.stop_requested = threading.Event()

    def log_path(self, name: str) -> Path:
        return self.settings.data_dir / "logs" / f"{name}.log"

    def say(self, line: str) -> None:
        """A supervisor event: on stderr and in logs/supervisor.log."""
        print(f"soporte: {line}", file=sys.stderr, flush=True)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with open(self.log_path("supervisor"), "a") as log_file:
            log_file.write(f"{stamp} {line}\n")

    def _popen(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with open(self.log_path(name), "ab") as log_file:
            return subprocess.Popen(  # nosec B603  # our own argv, no shell
                args,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 (no threads run yet; see _die_with_parent)
            )

    def spawn(
        self, name: str, args: list[str], env: dict[str, str], ready_port: int | None = None
    ) -> Child:
        child = Child(name, args, env, self._popen(name, args, env), ready_port)
        self.children.append(child)
        return child

    def child_env(self, token: str, temporal_address: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SOPORTE_DATA_DIR=str(self.settings.data_dir),
            SOPORTE_DATABASE_URL=self.settings.effective_database_url,
            SOPORTE_TEMPORAL_ADDRESS=temporal_address,
            SOPORTE_ADMIN_TOKEN=token,
            SOPORTE_PUBLIC_URL=self.settings.public_url,
        )
        if not self.settings.temporal_address:
            # The embedded server answers idle polls every EMBEDDED_LONG_POLL, so a worker
            # that stops polling shows in /healthz within this age.
            env.setdefault("SOPORTE_HEALTH_POLLER_MAX_AGE", EMBEDDED_POLLER_MAX_AGE)
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
        child = self.spawn("temporal", args, dict(os.environ), ready_port=self.ports.temporal)
        wait_for_port(self.ports.temporal, TEMPORAL_START_TIMEOUT, child.process)
        return f"{HOST}:{self.ports.temporal}"

    def start_app(self, env: dict[str, str]) -> None:
        me = [sys.executable, "-m", "launcher.cli"]
        for k in range(1, self.settings.workers + 1):
            self.spawn(worker_name(k), [*me, "worker"], worker_env(self.settings, env, k))
        self.spawn("api", [*me, "api", "--host", HOST, "--port", str(self.ports.api)], env)
        self.spawn("smtp", [*me, "smtp", "--host", HOST, "--port", str(self.ports.smtp)], env)

    def wait(self) -> int:
        """Until a stop is asked for (status 0) or a child keeps crashing (status 1)."""
        while not self.stop_requested.wait(0.25):
            for child in self.children:
                if not self.supervise(child, time.monotonic()):
                    return 1
        return 0

    def supervise(self, child: Child, now: float) -> bool:
        """Notice a crash, restart when its backoff is over; False to stop the stack."""
        if child.restart_at is None:
            status = child.process.poll()
            if status is None:
                return True
            child.crashes = [t for t in child.crashes if now - t < self.policy.window] + [now]
            recent = len(child.crashes)
            if recent >= self.policy.max_crashes:
                self.say(
                    f"{child.name} exited with status {status}, {recent} times in "
                    f"{self.policy.window:.0f}s: stopping; see {self.log_path(child.name)}"
                )
                return False
            delay = self.policy.delay(recent)
            child.restart_at = now + delay
            self.say(
                f"{child.name} exited with status {status}; restarting in {delay:.1f}s "
                f"(crash {recent} of {self.policy.max_crashes} allowed in "
                f"{self.policy.window:.0f}s; see {self.log_path(child.name)})"
            )
            return True
        if now < child.restart_at:
            return True
        return self.restart(child)

    def restart(self, child: Child) -> bool:
        child.restart_at = None
        child.process = self._popen(child.name, child.args, child.env)
        if child.ready_port is not None:
            try:
                wait_for_port(
                    child.ready_port, TEMPORAL_START_TIMEOUT, child.process, self.stop_requested
                )
            except UsageError as error:
                self.say(f"{child.name} did not come back: {error}")
                return True  # its exit is noticed (and counted) on the next turn
        self.say(f"{child.name} restarted (pid {child.process.pid})")
        return True

    def stop(self) -> None:
        for child in reversed(self.children):
            process = child.process
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def worker_name(k: int) -> str:
    """The k-th worker's name in the supervisor's lines and its log (logs/worker2.log)."""
    return "worker" if k == 1 else f"worker{k}"


def worker_metrics_port(settings: Settings, k: int) -> int:
    """The k-th worker's /metrics port: one port each from SOPORTE_WORKER_METRICS_PORT
    (two processes cannot bind one); 0 keeps them all off."""
    base = settings.worker_metrics_port
    return base + k - 1 if base else 0


def worker_env(settings: Settings, env: dict[str, str], k: int) -> dict[str, str]:
    return {**env, "SOPORTE_WORKER_METRICS_PORT": str(worker_metrics_port(settings, k))}


def private_data_dir(data_dir: Path) -> None:
    """The data dir holds contact details, raw mail and whole ticket histories: what this
    process and its children create there is theirs alone (0700 dirs, 0600 files)."""
    os.umask(PRIVATE_UMASK)
    if not data_dir.exists():
        data_dir.mkdir(parents=True, mode=0o700)
    (data_dir / "logs").mkdir(exist_ok=True)


def with_public_url(settings: Settings, api_port: int) -> Settings:
    """The address our mail links to: SOPORTE_PUBLIC_URL when it is set (a proxy, a real
    name), else the API this stack serves (its port, as `--api-port` says)."""
    if "public_url" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"public_url": f"http://{HOST}:{api_port}"})


def metrics_line(settings: Settings, served: str) -> str:
    """Where Prometheus scrapes: the API's endpoint, and each worker's own (README "The
    queue, the SLA report, metrics")."""
    api = f"Metrics      {served}/metrics (API)"
    if settings.worker_metrics_port == 0:
        return f"{api}; the workers' off (SOPORTE_WORKER_METRICS_PORT=0)"
    host = settings.worker_metrics_host
    workers = [
        f"http://{host}:{worker_metrics_port(settings, k)}/metrics ({worker_name(k)})"
        for k in range(1, settings.workers + 1)
    ]
    return f"{api}, {', '.join(workers)}"


def print_banner(settings: Settings, ports: StackPorts, token: str, new_token: bool) -> None:
    data_dir = settings.data_dir.resolve()
    served = f"http://{HOST}:{ports.api}"
    lines = [
        f"Portal       {served}/",
        f"API          {served}/api/v1",
        f"OpenAPI docs {served}/docs",
        metrics_line(settings, served),
    ]
    if settings.public_url.rstrip("/") != served:
        lines.append(f"Public URL   {settings.public_url} (SOPORTE_PUBLIC_URL: our mail links)")
    if settings.temporal_address:
        lines.append(f"Temporal     {settings.temporal_address} (external cluster)")
    else:
        lines.append(f"Temporal     {HOST}:{ports.temporal}")
        lines.append(f"Temporal UI  http://{HOST}:{ports.temporal_ui}")
    lines.append(f"SMTP inbound {HOST}:{ports.smtp}")
    lines.append(f"Workers      {settings.workers} on task queue {settings.task_queue}")
    lines.append(f"Data dir     {data_dir} (logs in {data_dir / 'logs'})")
    if new_token:
        lines.append(f"Admin token  {token}  (kept in {data_dir / 'admin-token'})")
    else:
        lines.append(f"Admin token  in {data_dir / 'admin-token'} or SOPORTE_ADMIN_TOKEN")
    print("\n".join(lines), flush=True)


def run_stack(settings: Settings, ports: StackPorts) -> int:
    settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
    settings = with_public_url(settings, ports.api)
    stack = Stack(settings, ports)
    stack.check_ports()
    private_data_dir(settings.data_dir)
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
