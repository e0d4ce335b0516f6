"""One way to reach Temporal: always with the pydantic data converter.

The SDK core writes its own logs to stdout unless told otherwise; every client here
uses a runtime that forwards them to Python logging (stderr), so nothing a script
parses is polluted.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig

from soporte.settings import Settings
from soporte.temporal_interceptors import RequestIdToTemporal

DEFAULT_ADDRESS = "127.0.0.1:7233"


@lru_cache
def quiet_runtime() -> Runtime:
    core_logging = LoggingConfig(
        filter="WARN",
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )
    return Runtime(telemetry=TelemetryConfig(logging=core_logging))


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        settings.temporal_address or DEFAULT_ADDRESS,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime or quiet_runtime(),
        interceptors=[RequestIdToTemporal()],
    )
