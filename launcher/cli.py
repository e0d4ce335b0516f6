"""The `soporte` command: `up`, one part alone (`api`, `worker`, `smtp`), `migrate`, `sla`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from soporte.errors import UsageError
from soporte.settings import Settings, SettingsError, load_settings

log = logging.getLogger("soporte")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
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
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from worker import run_worker

    asyncio.run(run_worker(_settings(args)))
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
    up.set_defaults(handler=cmd_up)

    api = commands.add_parser("api", help="the HTTP API alone")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.set_defaults(handler=cmd_api)

    commands.add_parser("worker", help="the Temporal worker alone").set_defaults(handler=cmd_worker)

    smtp = commands.add_parser("smtp", help="the inbound SMTP listener alone")
    smtp.add_argument("--host", default="127.0.0.1")
    smtp.add_argument("--port", type=int, default=2525)
    smtp.set_defaults(handler=cmd_smtp)

    commands.add_parser("migrate", help="create or upgrade the database").set_defaults(
        handler=cmd_migrate
    )

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
    logging.basicConfig(
        level=os.environ.get("SOPORTE_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Whatever any part writes in the data dir (databases, attachments, mail, logs) is
    # private: 0700 directories, 0600 files.
    os.umask(0o077)
    try:
        return handler(args)
    except (UsageError, SettingsError) as error:
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
