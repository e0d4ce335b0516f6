"""`soporte backup DIR` and `soporte restore DIR`: the single-machine stack's state.

The state of `soporte up` is four things in its data dir: `temporal.db` (every ticket's
workflow), `soporte.db` (the registry, the ticket numbers, the read model), the
attachments (content-addressed files, `attachments/<2 hex>/<sha256>`), and the secret files
`admin-token` and `mail-secret` (the key of our Message-IDs: without it a restored stack
would take every reply to our earlier mail for an unverified one).

A backup is consistent while the stack runs: each database is copied with SQLite's online
backup API (one snapshot per database, writers are not stopped), `temporal.db` first and
`soporte.db` second, so every workflow in the copy has its registration in the copy.
A ticket registered while `temporal.db` was being copied may have no workflow in it: the
manifest lists the tickets registered from then on, and the first worker after a restore
starts their workflows again from their stored input (an existing one is left alone).
Attachments are copied after `soporte.db`, each checked against its hash.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from soporte.db.session import is_sqlite
from soporte.email.secret import SECRET_FILE
from soporte.errors import UsageError
from soporte.settings import Settings

log = logging.getLogger("soporte.backup")

FORMAT = 1
MANIFEST = "manifest.json"
DATABASES = ("temporal.db", "soporte.db")  # in this order: see the module's docstring
ADMIN_TOKEN = "admin-token"  # nosec B105  # a file name, not a secret
MAIL_SECRET = SECRET_FILE
SECRET_FILES = (ADMIN_TOKEN, MAIL_SECRET)  # copied as they are, kept 0600
ATTACHMENTS = "attachments"
LOCK_FILE = "soporte.lock"
PENDING = "restore-pending.json"
# A registration this long before the Temporal snapshot began may still have started its
# workflow after it (the API starts it right after the registration's commit).
START_MARGIN = timedelta(minutes=1)
CHUNK = 500
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class BackupSummary:
    target: Path
    tickets: int
    attachments: int
    restart: int


# --- The data dir's lock: `soporte up` holds it, restore needs it -----------------------------


@contextmanager
def data_dir_lock(data_dir: Path, what: str) -> Iterator[None]:
    """An exclusive lock on the data dir for as long as the context runs."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = (data_dir / LOCK_FILE).open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"the stack is running on {data_dir.resolve()} (`soporte up` holds "
                f"{LOCK_FILE}): stop it before {what}"
            ) from None
        yield
    finally:
        handle.close()


# --- Backup ----------------------------------------------------------------------------------


def backup(settings: Settings, target: Path) -> BackupSummary:
    data_dir = settings.data_dir
    _refuse_other_topologies(settings)
    paths = state_paths(settings)
    for name in DATABASES:
        if not paths[name].is_file():
            raise UsageError(f"{paths[name]} does not exist: nothing to back up")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} is not an empty directory: choose a new one")
    target.mkdir(parents=True, exist_ok=True)
    snapshot_started = datetime.now(UTC)
    for name in DATABASES:
        copy_database(paths[name], target / name)
    restart = registered_since(target / "soporte.db", snapshot_started - START_MARGIN)
    attachments = copy_attachments(data_dir / ATTACHMENTS, target / ATTACHMENTS)
    for name in SECRET_FILES:
        if paths[name].is_file():
            shutil.copy2(paths[name], target / name)
            (target / name).chmod(0o600)
    tickets, last_number = intake_counts(target / "soporte.db")
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "temporal_snapshot_started_at": snapshot_started.isoformat(),
        "source": str(data_dir.resolve()),
        "schema_revision": schema_revision(target / "soporte.db"),
        "tickets": tickets,
        "last_ticket_number": last_number,
        "attachments": attachments,
        "restart_numbers": restart,
        "files": {name: file_entry(target / name) for name in _top_files(target)},
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return BackupSummary(target, tickets, len(attachments), len(restart))


def _refuse_other_topologies(settings: Settings) -> None:
    if not is_sqlite(settings.effective_database_url):
        raise UsageError(
            "SOPORTE_DATABASE_URL is not SQLite: back up PostgreSQL with its own tools "
            "(pg_dump) and the Temporal cluster with its own; `soporte backup` copies the "
            "files of the `soporte up` stack"
        )


def state_paths(settings: Settings) -> dict[str, Path]:
    """Where each file of a backup lives in this stack (the read model may be elsewhere)."""
    url = settings.effective_database_url
    soporte_db = settings.data_dir / "soporte.db"
    if ":///" in url:
        soporte_db = Path(url.split(":///", 1)[1])
    return {
        "temporal.db": settings.data_dir / "temporal.db",
        "soporte.db": soporte_db,
        **{name: settings.data_dir / name for name in SECRET_FILES},
    }


def copy_database(source: Path, target: Path) -> None:
    """One consistent snapshot of a live SQLite database (WAL readers never block writers)."""
    with _connect(source) as src, _connect(target) as dst:
        src.backup(dst)
        problem = dst.execute("PRAGMA quick_check").fetchone()[0]
    if problem != "ok":
        raise UsageError(f"the copy of {source.name} fails SQLite's check: {problem}")


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, timeout=30)
    try:
        connection.execute("PRAGMA busy_timeout=30000")
        yield connection
    finally:
        connection.close()


def copy_attachments(source: Path, target: Path) -> list[str]:
    """Every stored file whose content matches its name (its SHA-256)."""
    copied: list[str] = []
    if not source.is_dir():
        return copied
    for path in sorted(source.glob("??/*")):
        sha = path.name
        if len(sha) != 64 or not set(sha) <= _HEX or path.parent.name != sha[:2]:
            continue  # an upload in progress (.upload-*) or a stranger
        destination = target / sha[:2] / sha
        destination.parent.mkdir(parents=True, exist_ok=True)
        if _copy_checked(path, destination) != sha:
            destination.unlink()
            log.warning("attachment %s does not match its hash: not backed up", path)
            continue
        copied.append(sha)
    return copied


def _copy_checked(source: Path, target: Path) -> str:
    digest = hashlib.sha256()
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(1 << 20):
            digest.update(chunk)
            writer.write(chunk)
    return digest.hexdigest()


def registered_since(database: Path, since: datetime) -> list[int]:
    with _connect(database) as db:
        rows = db.execute(
            "SELECT number FROM ticket_intake WHERE created_at >= ? "
            "AND coalesce(input, 'null') != 'null' ORDER BY number",
            (since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),),
        ).fetchall()
    return [int(number) for (number,) in rows]


def intake_counts(database: Path) -> tuple[int, int | None]:
    with _connect(database) as db:
        count, last = db.execute("SELECT count(*), max(number) FROM ticket_intake").fetchone()
    return int(count), last


def schema_revision(database: Path) -> str | None:
    with _connect(database) as db:
        try:
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
    return str(row[0]) if row else None


def file_entry(path: Path) -> dict[str, Any]:
    return {"size": path.stat().st_size, "sha256": _sha256(path)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        while chunk := reader.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _top_files(target: Path) -> list[str]:
    return [name for name in (*DATABASES, *SECRET_FILES) if (target / name).is_file()]


# --- Restore ---------------------------------------------------------------------------------


def restore(settings: Settings, source: Path, *, force: bool) -> dict[str, Any]:
    _refuse_other_topologies(settings)
    manifest = read_manifest(source)
    verify(source, manifest)
    data_dir, paths = settings.data_dir, state_paths(settings)
    with data_dir_lock(data_dir, "restoring into it"):
        present = _state_present(data_dir, paths)
        if present and not force:
            raise UsageError(
                f"{data_dir.resolve()} already holds {', '.join(present)}: restore into an "
                "empty data dir, or add --force to replace them"
            )
        _remove_state(data_dir, paths)
        for name in manifest["files"]:
            _put(source / name, paths[name])
        for sha in manifest["attachments"]:
            _put(source / ATTACHMENTS / sha[:2] / sha, data_dir / ATTACHMENTS / sha[:2] / sha)
        for name in SECRET_FILES:
            if (data_dir / name).exists():
                (data_dir / name).chmod(0o600)
        pending = {"numbers": manifest["restart_numbers"], "backup": manifest["created_at"]}
        (data_dir / PENDING).write_text(json.dumps(pending) + "\n")
    return manifest


def read_manifest(source: Path) -> dict[str, Any]:
    path = source / MANIFEST
    if not path.is_file():
        raise UsageError(f"{source} holds no {MANIFEST}: not a backup of `soporte backup`")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UsageError(f"{path} is not valid JSON ({error})") from None
    if manifest.get("format") != FORMAT:
        raise UsageError(f"{path}: unknown backup format {manifest.get('format')!r}")
    return manifest


def verify(source: Path, manifest: dict[str, Any]) -> None:
    """Every file is there with the size and hash the manifest says."""
    for name in DATABASES:
        if name not in manifest["files"]:
            raise UsageError(f"the backup in {source} has no {name}")
    for name, entry in manifest["files"].items():
        path = source / name
        if not path.is_file() or file_entry(path) != entry:
            raise UsageError(f"{path} is missing or differs from the manifest: backup damaged")
    for sha in manifest["attachments"]:
        path = source / ATTACHMENTS / sha[:2] / sha
        if not path.is_file() or _sha256(path) != sha:
            raise UsageError(f"attachment {sha} is missing or damaged in {source}")


def _state_present(data_dir: Path, paths: dict[str, Path]) -> list[str]:
    found = [name for name, path in paths.items() if path.exists()]
    attachments = data_dir / ATTACHMENTS
    if attachments.is_dir() and any(attachments.iterdir()):
        found.append(ATTACHMENTS)
    return found


def _remove_state(data_dir: Path, paths: dict[str, Path]) -> None:
    for name in DATABASES:
        for suffix in ("", "-wal", "-shm", "-journal"):
            paths[name].with_name(paths[name].name + suffix).unlink(missing_ok=True)
    for name in SECRET_FILES:
        paths[name].unlink(missing_ok=True)
    (data_dir / PENDING).unlink(missing_ok=True)
    shutil.rmtree(data_dir / ATTACHMENTS, ignore_errors=True)


def _put(source: Path, target: Path) -> None:
    """Copy next to the target, then rename: a half-copied file never has the real name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(source, partial)
    os.replace(partial, target)


# --- After a restore: the workflows the Temporal snapshot may lack ---------------------------


async def finish_restore(settings: Settings, temporal: Any) -> int | None:
    """Start again the workflows of the tickets registered while the backup's Temporal
    snapshot was taken (REJECT_DUPLICATE: one that exists is left alone). Run by the
    worker at start; returns how many were looked at, None when no restore is pending."""
    pending_file = settings.data_dir / PENDING
    if not pending_file.is_file():
        return None
    from sqlalchemy import select

    from soporte.db.models import TicketIntake
    from soporte.db.session import create_engine, create_sessionmaker
    from soporte.services.intake import start_workflow, stored_input

    numbers = [int(n) for n in json.loads(pending_file.read_text()).get("numbers", [])]
    engine = create_engine(settings.effective_database_url)
    checked = 0
    try:
        for at in range(0, len(numbers), CHUNK):
            chunk = numbers[at : at + CHUNK]
            async with create_sessionmaker(engine)() as session:
                rows = await session.scalars(
                    select(TicketIntake).where(TicketIntake.number.in_(chunk))
                )
                tickets = [ticket for row in rows if (ticket := stored_input(row)) is not None]
            for ticket in tickets:
                await start_workflow(temporal, settings, ticket, replay=True)
            checked += len(tickets)
    finally:
        await engine.dispose()
    pending_file.unlink(missing_ok=True)  # another worker starting beside this one
    log.info("restore finished: %d ticket workflows checked and started if missing", checked)
    return checked
