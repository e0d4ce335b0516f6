"""`soporte smtp`: the inbound SMTP listener wired to the email intake.

Every accepted message goes through `EmailIntake.receive`; when that raises (the database
or Temporal is down) the listener answers `451` and the sender retries later, so mail is
never lost. Temporal is connected lazily and again after a failure, so the listener starts
and keeps answering even while Temporal is still coming up. SIGTERM or SIGINT stop it
cleanly: the port is released, the database engine disposed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from temporalio.client import Client as TemporalClient

from soporte.db.session import create_engine, create_sessionmaker
from soporte.email.smtp_server import serve_smtp
from soporte.services.email_intake import EmailIntake
from soporte.services.errors import Unavailable
from soporte.settings import Settings
from soporte.temporal_client import connect

log = logging.getLogger("soporte.smtp")


class LazyTemporal:
    """The Temporal client, connected on first use and again after a failed connect."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: TemporalClient | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> TemporalClient:
        if self.client is not None:
            return self.client
        async with self._lock:
            if self.client is None:
                try:
                    self.client = await connect(self.settings)
                except Exception as error:  # the SDK raises RuntimeError on connect failures
                    log.warning("cannot reach Temporal: %s", error)
                    raise Unavailable("Temporal is not answering; try again shortly") from None
            return self.client


async def serve_smtp_forever(settings: Settings, host: str, port: int) -> None:
    """Serve SMTP on host:port until SIGTERM/SIGINT (or cancellation)."""
    engine = create_engine(settings.effective_database_url)
    temporal = LazyTemporal(settings)
    intake = EmailIntake(settings, create_sessionmaker(engine), temporal)

    async def deliver(raw: bytes, envelope_from: str) -> None:
        await intake.receive(raw, envelope_from)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    with contextlib.suppress(Exception):
        await temporal()  # connect early when possible; a failure is retried per message
    server = asyncio.create_task(
        serve_smtp(
            host, port, deliver, settings.support_addresses, server_hostname=settings.mail_domain
        ),
        name="smtp",
    )
    stopper = asyncio.create_task(stop.wait(), name="smtp-stop")
    try:
        done, _ = await asyncio.wait({server, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if server in done:
            server.result()  # the listener failed (e.g. the port is taken): say so
        else:
            log.info("SMTP listener stopping")
    finally:
        for task in (server, stopper):
            task.cancel()
        for task in (server, stopper):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for signum in installed:
            loop.remove_signal_handler(signum)
        await engine.dispose()
        log.info("SMTP listener stopped")
