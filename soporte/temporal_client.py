"""One way to reach Temporal: always with the pydantic data converter."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from soporte.settings import Settings

DEFAULT_ADDRESS = "127.0.0.1:7233"


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address or DEFAULT_ADDRESS,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )
