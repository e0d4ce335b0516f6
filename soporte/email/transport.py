"""Sending a composed message: a Maildir outbox by default, SMTP when a URL is set.

The notifications activity and the email intake's own replies both send through here.
"""

from __future__ import annotations

import asyncio
import mailbox
import smtplib
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from soporte.settings import Settings


def write_maildir(outbox: Path, message: EmailMessage) -> None:
    outbox.parent.mkdir(parents=True, exist_ok=True)
    mailbox.Maildir(str(outbox), create=True).add(message)


def send_smtp(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    port = parts.port or (465 if secure else 25)
    host = parts.hostname or "127.0.0.1"
    smtp_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
    with smtp_class(host, port, timeout=30) as smtp:
        if not secure and "starttls" in parts.query:
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)


async def send_mail(settings: Settings, message: EmailMessage) -> None:
    """Maildir outbox by default, SMTP when SOPORTE_SMTP_URL is set."""
    if settings.smtp_url:
        await asyncio.to_thread(send_smtp, settings.smtp_url, message)
    else:
        await asyncio.to_thread(write_maildir, settings.outbox_dir, message)
