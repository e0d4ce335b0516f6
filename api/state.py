"""What the API keeps while it runs: the engine, the session factory, the Temporal client."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client as TemporalClient

from soporte.services.auth_limits import FailureLimiter
from soporte.services.errors import Unavailable
from soporte.settings import Settings
from soporte.temporal_client import connect

log = logging.getLogger("soporte.api")


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    client: TemporalClient | None = None
    auth_failures: FailureLimiter = field(default_factory=FailureLimiter)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def temporal(self) -> TemporalClient:
        """The Temporal client, connecting (again) on demand; 503 while it cannot."""
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
