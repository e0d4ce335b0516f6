"""The `soporte` command: `up`, one part alone (`api`, `worker`, `smtp`), `migrate`, `admin`,
`sla`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from soporte.errors import UsageError
from soporte.logs import InvalidLogSetting
from soporte.logs import configure_from_environ as configure_logging
from soporte.settings import Settings, SettingsError, load_settings

log = logging.getLogger("soporte")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "workers", None) is not None:
        overrides["workers"] = args.workers
    return load_settings(**overrides)


def cmd_up(args: argparse.Namespace) -> int:
    from launcher.stack import StackPorts, run_stack

    ports = StackPorts(
        api=args.api_port, smtp=args.smtp_port, temporal=args.temporal_port, ui=args.ui_port
    )
    return run_stack(_settings(args), ports)


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from api.main import create_app

    settings = _settings(args)
    # The access log is the app's own (api.access_log): uvicorn's is off.
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        log_config=None,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from worker import run_worker

    asyncio.run(run_worker(_settings(args)))
    return 0


def cmd_worker_health(args: argparse.Namespace) -> int:
    """The container health check of a worker: its /metrics answers (soporte.worker_metrics).
    Exit 0 when it does, 1 with the reason otherwise."""
    import ipaddress
    import urllib.request

    settings = _settings(args)
    if not settings.worker_metrics_port:
        print("soporte: SOPORTE_WORKER_METRICS_PORT is 0: no endpoint to check", file=sys.stderr)
        return 1
    host = settings.worker_metrics_host
    with contextlib.suppress(ValueError):  # a host name is asked as it is
        host = "127.0.0.1" if ipaddress.ip_address(host).is_unspecified else host
    url = f"http://{host}:{settings.worker_metrics_port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as answer:  # nosec B310
            answer.read()
    except OSError as error:
        print(f"soporte: worker metrics at {url} do not answer: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_smtp(args: argparse.Namespace) -> int:
    from soporte.inbound import serve_smtp_forever

    asyncio.run(serve_smtp_forever(_settings(args), host=args.host, port=args.port))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from soporte.db.migrate import run_migrations

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    run_migrations(settings.effective_database_url)
    print(f"database is up to date: {settings.effective_database_url}")
    return 0


def cmd_admin_create_token(args: argparse.Namespace) -> int:
    from soporte.services.admin_tokens import create_token

    settings = _settings(args)
    created = asyncio.run(
        create_token(
            settings.effective_database_url,
            args.email,
            create_admin=args.create_admin,
            name=args.name,
        )
    )
    issued = created.issued
    done = f"; staff member {created.registered}" if created.registered else ""
    print(
        f"token {issued.id} for {issued.email} (roles: {', '.join(created.roles)}){done}. "
        "It is shown once: only its digest is kept; revoke it with DELETE /api/v1/tokens/"
        f"{issued.id}.",
        file=sys.stderr,
    )
    print(issued.token)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from soporte.backup import backup

    summary = backup(_settings(args), Path(args.target))
    print(
        f"backup in {summary.target.resolve()}: {summary.tickets} tickets, "
        f"{summary.attachments} attachments; {summary.restart} tickets registered during "
        "the copy are checked again at the next start after a restore"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from soporte.backup import restore

    settings = _settings(args)
    manifest = restore(settings, Path(args.source), force=args.force)
    print(
        f"restored the backup of {manifest['created_at']} into {settings.data_dir.resolve()}: "
        f"{manifest['tickets']} tickets, {len(manifest['attachments'])} attachments; "
        "start it with `soporte up`"
    )
    return 0


def cmd_sla_deadline(args: argparse.Namespace) -> int:
    from soporte.sla_preview import DeadlineInputError, bogota_iso, preview

    try:
        result = preview(args.priority, args.start)
    except DeadlineInputError as error:
        raise UsageError(f"--{error.field}: {error.message}") from None
    if args.json:
        print(json.dumps(result.as_json()))
    else:
        print(f"priority            {result.priority.value}")
        print(f"start               {bogota_iso(result.start)}")
        print(f"first response due  {bogota_iso(result.first_response_due)}")
        print(f"resolution due      {bogota_iso(result.resolution_due)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="soporte", description="Amazonas Soporte")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start everything on this machine")
    up.add_argument("--data-dir", help="where state is kept (default var/)")
    up.add_argument("--api-port", type=int, default=8000)
    up.add_argument("--smtp-port", type=int, default=2525)
    up.add_argument("--temporal-port", type=int, default=7233)
    up.add_argument("--ui-port", type=int, default=None, help="default: Temporal port + 1000")
    up.add_argument(
        "--workers", type=int, default=None, help="worker processes (default SOPORTE_WORKERS, 2)"
    )
    up.set_defaults(handler=cmd_up)

    api = commands.add_parser("api", help="the HTTP API alone")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.set_defaults(handler=cmd_api)

    commands.add_parser("worker", help="the Temporal worker alone").set_defaults(handler=cmd_worker)
    worker_health = commands.add_parser(
        "worker-health", help="exit 0 when this machine's worker serves /metrics (health check)"
    )
    worker_health.add_argument("--timeout", type=float, default=4.0, help="seconds")
    worker_health.set_defaults(handler=cmd_worker_health)

    smtp = commands.add_parser("smtp", help="the inbound SMTP listener alone")
    smtp.add_argument("--host", default="127.0.0.1")
    smtp.add_argument("--port", type=int, default=2525)
    smtp.set_defaults(handler=cmd_smtp)

    commands.add_parser("migrate", help="create or upgrade the database").set_defaults(
        handler=cmd_migrate
    )

    admin = commands.add_parser("admin", help="administration from the command line")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    create_token = admin_commands.add_parser(
        "create-token",
        help="print a new API token for a staff member (once; only its digest is kept)",
    )
    create_token.add_argument("email", help="the staff member's email")
    create_token.add_argument(
        "--create-admin",
        action="store_true",
        help="register EMAIL as an admin first if needed (the first admin of a cluster)",
    )
    create_token.add_argument("--name", help="the admin's full name (with --create-admin)")
    create_token.add_argument("--data-dir", help="where state is kept (default var/)")
    create_token.set_defaults(handler=cmd_admin_create_token)

    backup = commands.add_parser(
        "backup", help="copy the state (databases, attachments, admin token), even while running"
    )
    backup.add_argument("target", metavar="DIR", help="a new or empty directory")
    backup.add_argument("--data-dir", help="where state is kept (default var/)")
    backup.set_defaults(handler=cmd_backup)

    restore = commands.add_parser("restore", help="put a backup back (the stack stopped)")
    restore.add_argument("source", metavar="DIR", help="a directory made by `soporte backup`")
    restore.add_argument("--data-dir", help="where state is kept (default var/)")
    restore.add_argument(
        "--force", action="store_true", help="replace the state already in the data dir"
    )
    restore.set_defaults(handler=cmd_restore)

    sla = commands.add_parser("sla", help="service-level arithmetic")
    sla_commands = sla.add_subparsers(dest="sla_command", required=True)
    deadline = sla_commands.add_parser("deadline", help="due instants for a ticket opened then")
    deadline.add_argument("--priority", required=True, help="P1, P2 or P3")
    deadline.add_argument("--start", required=True, help="ISO 8601 with offset")
    deadline.add_argument("--json", action="store_true", help="print JSON")
    deadline.set_defaults(handler=cmd_sla_deadline)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    # Whatever any part writes in the data dir (databases, attachments, mail, logs) is
    # private: 0700 directories, 0600 files.
    os.umask(0o077)
    try:
        configure_logging()
        return handler(args)
    except (UsageError, SettingsError, InvalidLogSetting) as error:
        print(f"soporte: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> None:
    status = run(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # A process that used a Temporal client may abort while finalizing (sdk-python #300).
    os._exit(status)


if __name__ == "__main__":
    main()
