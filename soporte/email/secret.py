"""The mail secret: the key of our Message-IDs' hashes and of confirmation links.

`SOPORTE_MAIL_SECRET`, else `<data dir>/mail-secret`, created (0600) at first use like the
admin token. Every process that sends or reads mail (API, worker, SMTP listener) must see
the same one: one data dir, or the setting.
"""

from __future__ import annotations

import os
import secrets
import time
from functools import lru_cache
from pathlib import Path

from soporte.email.templates.message_ids import MessageIds
from soporte.settings import Settings

SECRET_FILE = "mail-secret"  # nosec B105  # the file name, not the secret


def mail_secret(settings: Settings) -> bytes:
    return _secret(settings.mail_secret, settings.data_dir)


def _secret(setting: str | None, data_dir: Path) -> bytes:
    if setting:
        return setting.encode()
    return _file_secret(data_dir.resolve() / SECRET_FILE)


@lru_cache
def _file_secret(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(32) + "\n")
    return _read(path)


def _read(path: Path) -> bytes:
    for _ in range(50):  # another process may be writing it this very moment
        value = path.read_text().strip()
        if value:
            return value.encode()
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty: delete it or set SOPORTE_MAIL_SECRET")


def message_ids(settings: Settings) -> MessageIds:
    """Our Message-IDs under the mail secret, at the mail domain (SOPORTE_MAIL_DOMAIN)."""
    data_dir = settings.data_dir
    if not data_dir.is_absolute():  # where it points depends on the working directory
        data_dir = Path.cwd() / data_dir
    return _message_ids(settings.mail_secret, data_dir, settings.mail_domain)


@lru_cache(maxsize=16)
def _message_ids(secret: str | None, data_dir: Path, domain: str) -> MessageIds:
    # Once per setting: resolving the data dir (a syscall per path part) and building the
    # value took 3 % of a worker's CPU under load (two calls per mail; issue 15).
    return MessageIds(_secret(secret, data_dir), domain.strip().lower())


def confirmation_token(settings: Settings, row_id: int, message_key: str) -> str:
    """The token of a held message's confirmation link: its row and a keyed hash."""
    return f"{row_id}.{message_ids(settings).mac(f'confirm.{row_id}.{message_key}')}"


def confirmation_row(token: str) -> int | None:
    """The row a token names (unchecked: check it with `confirmation_token`)."""
    head, _, mac = token.partition(".")
    return int(head) if head.isdigit() and len(head) < 12 and mac else None
