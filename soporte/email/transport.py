"""Sending a composed message: a Maildir outbox by default, SMTP when a URL is set.

The notifications activity and the email intake's own replies both send through here.
A Maildir delivery is written once per key (the notification id, else the Message-ID):
its file name comes from the key, so a retry after a crash finds it (README).
"""

from __future__ import annotations

import asyncio
import hashlib
import mailbox
import os
import smtplib
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from soporte.email.templates.compose import WireMail
from soporte.settings import Settings

Outgoing = EmailMessage | WireMail

# Seconds each SMTP operation (connect, a reply, the data) may take before the send fails.
SMTP_TIMEOUT = 30.0


def maildir_name(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def write_maildir(outbox: Path, message: Outgoing, key: str | None = None) -> bool:
    """Deliver into the Maildir once per `key` (default: the Message-ID): the file name
    comes from it, and a file already there (in new/ or, once read, cur/) means delivered.
    False when it was."""
    outbox.parent.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(str(outbox), create=True)
    key = key or _message_id(message)
    if not key:
        box.add(message.data if isinstance(message, WireMail) else message)
        return True
    name = maildir_name(key)
    if (outbox / "new" / name).exists() or any((outbox / "cur").glob(f"{name}:*")):
        return False
    if isinstance(message, WireMail):
        data = message.data
    else:
        data = message.as_bytes(policy=message.policy.clone(linesep="\n"))
    tmp = outbox / "tmp" / f"{name}.{os.getpid()}"
    with open(tmp, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    try:
        os.link(tmp, outbox / "new" / name)  # atomic; fails if a concurrent try won
    except FileExistsError:
        return False
    finally:
        tmp.unlink()
    return True


def _message_id(message: Outgoing) -> str | None:
    return message.message_id if isinstance(message, WireMail) else message.get("Message-ID")


def send_smtp(url: str, message: Outgoing, timeout: float = SMTP_TIMEOUT) -> None:
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    port = parts.port or (465 if secure else 25)
    host = parts.hostname or "127.0.0.1"
    smtp_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
    with smtp_class(host, port, timeout=timeout) as smtp:
        if not secure and "starttls" in parts.query:
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        if isinstance(message, EmailMessage):
            smtp.send_message(message)
            return
        # What send_message does: SMTPUTF8 only for an address that is not ASCII.
        international = not "".join([message.envelope_from, *message.recipients]).isascii()
        options = ["SMTPUTF8", "BODY=8BITMIME"] if international else []
        smtp.sendmail(message.envelope_from, list(message.recipients), message.crlf(), options)


async def send_mail(
    settings: Settings,
    message: Outgoing,
    key: str | None = None,
    *,
    smtp_timeout: float = SMTP_TIMEOUT,
) -> None:
    """Maildir outbox by default (once per `key`), SMTP when SOPORTE_SMTP_URL is set."""
    if settings.smtp_url:
        await asyncio.to_thread(send_smtp, settings.smtp_url, message, smtp_timeout)
    else:
        await asyncio.to_thread(write_maildir, settings.outbox_dir, message, key)
