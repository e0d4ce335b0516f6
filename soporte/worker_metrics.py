"""The worker's /metrics: our counters (soporte.metrics) and the Temporal SDK's own.

The SDK serves its metrics with its own Prometheus exporter (temporalio.runtime
PrometheusConfig) on a loopback port of its own; the endpoint on
SOPORTE_WORKER_METRICS_PORT answers with our registry followed by the SDK's text, so one
scrape target carries both.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from contextlib import suppress

from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
)

from soporte import metrics

log = logging.getLogger("soporte.worker")
LOOPBACK = "127.0.0.1"
READ_TIMEOUT = 5.0


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def runtime_with_metrics(sdk_port: int) -> Runtime:
    """A runtime like soporte.temporal_client's, plus the SDK's Prometheus exporter."""
    core_logging = LoggingConfig(
        filter="WARN",
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )
    telemetry = TelemetryConfig(
        logging=core_logging,
        metrics=PrometheusConfig(bind_address=f"{LOOPBACK}:{sdk_port}"),
    )
    return Runtime(telemetry=telemetry)


async def fetch_sdk_metrics(sdk_port: int) -> bytes:
    """The SDK exporter's text; empty when it does not answer (ours are still served)."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(LOOPBACK, sdk_port), READ_TIMEOUT
        )
    except (OSError, TimeoutError):
        return b""
    try:
        writer.write(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), READ_TIMEOUT)
    except (OSError, TimeoutError):
        return b""
    finally:
        writer.close()
        with suppress(OSError):
            await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    return body if head.split(b" ", 2)[1:2] == [b"200"] else b""


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sdk: int) -> None:
    try:
        request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
        parts = request.split(b" ", 2)
        if parts[0] == b"GET" and len(parts) > 1 and parts[1].split(b"?")[0] == b"/metrics":
            body = metrics.render() + await fetch_sdk_metrics(sdk)
            status, kind = b"200 OK", metrics.CONTENT_TYPE.encode()
        else:
            body, status, kind = b"not found: try /metrics\n", b"404 Not Found", b"text/plain"
        writer.write(
            b"HTTP/1.1 "
            + status
            + b"\r\nContent-Type: "
            + kind
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + body
        )
        await writer.drain()
    except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()
        with suppress(OSError):
            await writer.wait_closed()


async def serve_metrics(host: str, port: int, sdk_port: int) -> asyncio.Server | None:
    """Start the endpoint; a port in use is logged and the worker runs on without it."""
    try:
        server = await asyncio.start_server(
            lambda r, w: _answer(r, w, sdk_port), host=host, port=port
        )
    except OSError as error:
        log.warning("worker metrics not served on %s:%s: %s", host, port, error)
        return None
    log.info("worker metrics on http://%s:%s/metrics", host, port)
    return server
