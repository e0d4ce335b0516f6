"""Property-based run of schemathesis over the whole OpenAPI (bounded, deterministic).

The app runs under uvicorn in a thread (with a worker on its task queue), so the
synchronous schemathesis client talks to it over HTTP like any client would.
Checks: no 5xx, status codes and bodies as documented.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from api.main import create_app
from soporte.settings import Settings
from tests.api_support import ADMIN, api_settings, backends, database, make_nit
from workflows.registry import ALL_WORKFLOWS

MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LiveServer:
    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error")
        )
        self.thread = threading.Thread(target=lambda: asyncio.run(self.main()), daemon=True)

    async def main(self) -> None:
        client = await Client.connect(
            self.settings.temporal_address or "", data_converter=pydantic_data_converter
        )
        worker = Worker(
            client,
            task_queue=self.settings.task_queue,
            workflows=ALL_WORKFLOWS,
            activities=build_activities(self.settings),
        )
        async with worker:
            await self.server.serve()

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module", params=backends())
def live_url(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp(f"schema-{request.param}")
    with database(request.param, data_dir) as url:
        port = free_port()
        with LiveServer(api_settings(data_dir, url, dev_env), port):
            base = f"http://127.0.0.1:{port}"
            seed(base)
            yield base


def seed(base: str) -> None:
    """Some registry data so reads and updates find something."""
    with httpx.Client(base_url=base, headers=ADMIN) as http:
        nit = make_nit("860000001")
        http.post("/api/v1/clients", json={"nit": nit, "name": "Semilla"}).raise_for_status()
        contact = {"name": "Semilla", "email": "semilla@cliente.co", "phone": "1"}
        http.post(f"/api/v1/clients/{nit}/contacts", json=contact).raise_for_status()
        staff = {"name": "Ing", "email": "ing@btw.com.co", "roles": ["engineer"]}
        http.post("/api/v1/staff", json=staff).raise_for_status()


# Raw email (POST /inbound-email) is sent as bytes, like any binary body.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")


def operations(base: str) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI schema is invalid: {result}"
        found.append(result.ok())
    return found


def test_every_operation_answers_as_documented(live_url: str) -> None:
    failures: list[str] = []
    calls: list[int] = []
    for operation in operations(live_url):

        @hypothesis_settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def exercise(case: schemathesis.Case) -> None:
            response = case.call(base_url=live_url, headers=ADMIN, timeout=60)
            calls.append(response.status_code)
            case.validate_response(response, checks=CHECKS)

        try:
            exercise()
        except Exception as error:  # collect every operation's failure, then report all
            failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)
    assert len(calls) >= 10 * len(operations(live_url))
