"""Run `soporte up` as a user would: a real process tree on free ports."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports below the kernel's ephemeral range (the
    stack counts up from such a base: the workers' /metrics). A port from the ephemeral
    range may be taken meanwhile by any process's next connection or random bind (the dev
    server binds several), and its neighbour is no one's to promise."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as ports:
            ephemeral = int(ports.read().split()[0])
    except OSError:  # not Linux: IANA's dynamic range starts here
        ephemeral = 49152
    candidates = list(range(max(1024, ephemeral - 12_000), ephemeral - count))
    random.shuffle(candidates)
    for base in candidates:
        probes = [socket.socket() for _ in range(count)]
        try:
            for offset, probe in enumerate(probes):
                probe.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise RuntimeError(f"no {count} consecutive free ports below {ephemeral}")


@contextmanager
def black_hole() -> Iterator[int]:
    """A port whose connections are taken (by the kernel's backlog) and never answered: an
    SMTP server that hangs, or a firewall that swallows the session."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, read from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def child_named(pid: int, *words: str) -> int | None:
    """The descendant of `pid` whose command line holds every word, if one runs."""
    found = children_named(pid, *words)
    return found[0] if found else None


def children_named(pid: int, *words: str) -> list[int]:
    """Every live descendant of `pid` whose command line holds every word."""
    found = []
    for child in descendants(pid):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if alive(child) and all(word.encode() in argv for word in words):
            found.append(child)
    return sorted(found)


def time_wait_sockets(port: int) -> int:
    """TCP sockets in TIME_WAIT whose local port is `port` (from /proc/net/tcp)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "06":
            count += 1
    return count


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    api_url: str
    ports: dict[str, int]
    data_dir: Path

    def wait_healthy(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                out, err = self.process.communicate()
                raise AssertionError(f"soporte up exited {self.process.returncode}: {out}\n{err}")
            try:
                if httpx.get(f"{self.api_url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError("soporte up did not become healthy")

    def stop(self, timeout: float = 90.0) -> tuple[int, str, str]:
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err


def start_stack(
    data_dir: Path, env: dict[str, str] | None = None, ports: dict[str, int] | None = None
) -> RunningStack:
    ports = ports or {name: free_port() for name in ("api", "smtp", "temporal", "ui")}
    args = [sys.executable, "-m", "launcher.cli", "up", "--data-dir", str(data_dir)]
    for name, port in ports.items():
        args += [f"--{name}-port", str(port)]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SOPORTE_")}
    full_env.update(env or {})
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env
    )
    return RunningStack(process, f"http://127.0.0.1:{ports['api']}", ports, data_dir)
