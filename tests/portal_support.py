"""Helpers of the portal tests: a browser-like HTTP client (cookies, forms, CSRF) and the
sign-in links read from the real Maildir outbox."""

from __future__ import annotations

import asyncio
import mailbox
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from soporte.settings import Settings
from tests.api_support import Api, api_settings, database
from worker import build_worker

BASE = "http://soporte.test"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LINK = re.compile(r"https?://[^\s\"<>]+/ingresar/enlace/[A-Za-z0-9_-]+")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def subject_of(message: Message) -> str:
    return str(make_header(decode_header(str(message.get("Subject", "")))))


def body_text(message: Message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    texts = []
    for part in parts:
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode(part.get_content_charset() or "utf-8"))
    return "\n".join(texts)


def mails_to(outbox: Path, address: str) -> list[mailbox.MaildirMessage]:
    if not outbox.exists():
        return []
    box = mailbox.Maildir(str(outbox), create=False)
    found = [m for m in box if address.lower() in str(m.get("To", "")).lower()]
    return sorted(found, key=lambda m: m.get_date())  # delivery order (sub-second)


def sign_in_links(outbox: Path, address: str) -> list[str]:
    links = []
    for message in mails_to(outbox, address):
        if "ingresar" in subject_of(message):
            links += LINK.findall(body_text(message))
    return links


async def wait_for_mail(
    outbox: Path, address: str, contains: str, timeout: float = 30.0
) -> list[Message]:
    deadline = time.monotonic() + timeout
    while True:
        found = [
            m
            for m in mails_to(outbox, address)
            if contains in subject_of(m) or contains in body_text(m)
        ]
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail to {address} with {contains!r} within {timeout}s")
        await asyncio.sleep(0.2)


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has a form with a CSRF token"
    return match.group(1)


@dataclass
class Browser:
    """A person's browser on the app: cookies kept, forms posted with their CSRF token."""

    http: httpx.AsyncClient
    settings: Settings

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(path, **kwargs)

    async def post_form(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        page: str | None = None,
        files: Any = None,
        csrf: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Post like the browser would: the CSRF token taken from `page` (or the form's)."""
        if csrf is None:
            source = await self.http.get(page or path)
            csrf = csrf_of(source.text)
        fields = {"csrf": csrf, **(data or {})}
        return await self.http.post(path, data=fields, files=files, headers=headers)

    async def sign_in(self, email: str, next_path: str = "") -> httpx.Response:
        """Ask for a link, read it from the Maildir, follow it, press the button."""
        before = set(sign_in_links(self.settings.outbox_dir, email))
        page = await self.http.get("/ingresar" + (f"?siguiente={next_path}" if next_path else ""))
        data = {"email": email, "siguiente": next_path}
        sent = await self.post_form("/ingresar", data, csrf=csrf_of(page.text))
        assert sent.status_code == 200, sent.text
        new = [
            link for link in sign_in_links(self.settings.outbox_dir, email) if link not in before
        ]
        assert new, f"a sign-in link was mailed to {email}"
        return await self.follow_link(new[-1])

    async def follow_link(self, link: str) -> httpx.Response:
        path = httpx.URL(link).path
        confirm = await self.http.get(path)
        assert confirm.status_code == 200, confirm.text
        return await self.post_form(path, {}, csrf=csrf_of(confirm.text))


@dataclass
class Portal:
    app: Any
    api: Api
    settings: Settings

    @asynccontextmanager
    async def browser(self, ip: str = "127.0.0.1", base: str = BASE) -> AsyncIterator[Browser]:
        transport = httpx.ASGITransport(app=self.app, client=(ip, 50000))
        async with httpx.AsyncClient(transport=transport, base_url=base) as http:
            yield Browser(http=http, settings=self.settings)


@asynccontextmanager
async def running_portal(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Portal]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url=BASE) as http,
            build_worker(env.client, settings),
        ):
            yield Portal(app=app, api=Api(http=http, settings=settings), settings=settings)


@asynccontextmanager
async def portal_on(
    backend: str, env: WorkflowEnvironment, data_dir: Path
) -> AsyncIterator[Portal]:
    """A running portal on a fresh database of `backend` (the page tests' module fixture)."""
    with database(backend, data_dir) as url:
        settings = api_settings(data_dir, url, env).model_copy(update={"public_url": BASE})
        async with running_portal(env, settings) as running:
            yield running


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
