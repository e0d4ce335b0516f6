"""The inbound SMTP listener: accepts mail for our support addresses and hands it on.

Mail is never lost: a message is acknowledged with 250 only after the `deliver` callback
returned; if it raises or takes too long the sender hears `451 4.3.0` and retries later.
The raw bytes reach `deliver` exactly as received, with the envelope sender ("" for the
null reverse path `MAIL FROM:<>`).

Two ways to run it:
- `open_smtp_listener` / `serve_smtp`: inside the caller's running event loop (`soporte up`).
- `start_smtp_server`: aiosmtpd's threaded `Controller`, for sync callers and tests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from soporte.settings import DEFAULT_MAIL_DOMAIN

log = logging.getLogger(__name__)

Deliver = Callable[[bytes, str], Coroutine[Any, Any, None]]

MAX_MESSAGE_BYTES = 25 * 1024 * 1024
DEFAULT_SERVER_HOSTNAME = DEFAULT_MAIL_DOMAIN
DEFAULT_DELIVER_TIMEOUT = 120.0


class _LenientSMTP(SMTP):
    # RFC 5321 caps lines at 1000 octets, but real mailers send longer 8-bit HTML lines;
    # refusing them would lose a client's mail, so accept up to 64 KiB per line.
    line_length_limit = 64 * 1024


class InboundHandler:
    """aiosmtpd handler: RCPT only for our support addresses, DATA handed to `deliver`."""

    def __init__(
        self,
        deliver: Deliver,
        support_addresses: Iterable[str],
        *,
        deliver_loop: asyncio.AbstractEventLoop | None = None,
        deliver_timeout: float = DEFAULT_DELIVER_TIMEOUT,
    ) -> None:
        self._deliver = deliver
        self._accepted = frozenset(_normalize(address) for address in support_addresses)
        # Where `deliver` must run: the app's loop owns its database and Temporal clients.
        self._deliver_loop = deliver_loop
        self._deliver_timeout = deliver_timeout

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if _normalize(address) not in self._accepted:
            log.info("refused recipient %s", address)
            return "550 5.1.1 Recipient not accepted here / destinatario no atendido aqui"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        sender = _envelope_sender(envelope.mail_from)
        try:
            await self._run_deliver(raw, sender)
        except Exception:
            log.exception("inbound message from %r (%d bytes) not delivered", sender, len(raw))
            return "451 4.3.0 Temporary failure, please retry later / intente mas tarde"
        log.info("inbound message from %r accepted (%d bytes)", sender, len(raw))
        return "250 2.0.0 Message accepted / mensaje recibido"

    async def _run_deliver(self, raw: bytes, sender: str) -> None:
        target = self._deliver_loop
        if target is None or target is asyncio.get_running_loop():
            await asyncio.wait_for(self._deliver(raw, sender), self._deliver_timeout)
            return
        future = asyncio.run_coroutine_threadsafe(self._deliver(raw, sender), target)
        try:
            await asyncio.wait_for(asyncio.wrap_future(future), self._deliver_timeout)
        finally:
            future.cancel()  # no-op when done; stops a timed-out delivery in the other loop


def _normalize(address: str) -> str:
    return address.strip().strip("<>").strip().lower()


def _envelope_sender(mail_from: str | None) -> str:
    sender = (mail_from or "").strip()
    return "" if sender in ("", "<>") else sender


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _LenientSMTP(self.handler, **self.SMTP_kwargs)


def start_smtp_server(
    host: str,
    port: int,
    deliver: Deliver,
    support_addresses: Iterable[str],
    *,
    deliver_loop: asyncio.AbstractEventLoop | None = None,
    deliver_timeout: float = DEFAULT_DELIVER_TIMEOUT,
    server_hostname: str = DEFAULT_SERVER_HOSTNAME,
    ready_timeout: float = 5.0,
) -> Controller:
    """Start the listener in its own thread and return its `Controller` (call `.stop()`).

    `deliver` runs on `deliver_loop` when given, else on the listener thread's loop.
    """
    handler = InboundHandler(
        deliver, support_addresses, deliver_loop=deliver_loop, deliver_timeout=deliver_timeout
    )
    controller = _Controller(
        handler,
        hostname=host,
        port=port,
        server_hostname=server_hostname,
        ready_timeout=ready_timeout,
        data_size_limit=MAX_MESSAGE_BYTES,
    )
    controller.start()
    return controller


async def open_smtp_listener(
    host: str,
    port: int,
    deliver: Deliver,
    support_addresses: Iterable[str],
    *,
    deliver_timeout: float = DEFAULT_DELIVER_TIMEOUT,
    server_hostname: str = DEFAULT_SERVER_HOSTNAME,
) -> asyncio.Server:
    """Bind the listener in the running loop and return the server (port 0 picks a free one)."""
    loop = asyncio.get_running_loop()
    handler = InboundHandler(deliver, support_addresses, deliver_timeout=deliver_timeout)

    def protocol() -> SMTP:
        return _LenientSMTP(
            handler,
            data_size_limit=MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
            hostname=server_hostname,
            loop=loop,
        )

    return await loop.create_server(protocol, host=host, port=port)


async def serve_smtp(
    host: str,
    port: int,
    deliver: Deliver,
    support_addresses: Iterable[str],
    *,
    deliver_timeout: float = DEFAULT_DELIVER_TIMEOUT,
    server_hostname: str = DEFAULT_SERVER_HOSTNAME,
) -> None:
    """Serve in the running loop until cancelled; the port is released on the way out."""
    server = await open_smtp_listener(
        host,
        port,
        deliver,
        support_addresses,
        deliver_timeout=deliver_timeout,
        server_hostname=server_hostname,
    )
    log.info("SMTP listener on %s:%d", host, port)
    try:
        await server.serve_forever()
    finally:
        server.close()
        await server.wait_closed()
