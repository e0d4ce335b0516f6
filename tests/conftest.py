"""Shared fixtures: real Temporal servers from the installed binaries, never downloaded."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from soporte.search_attributes import cli_flags, ensure_search_attributes

BIN = Path(sys.executable).parent


def binary(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed: run `make install`")
    return found


TEMPORAL_BIN = binary("temporal")
TEST_SERVER_BIN = binary("temporal-test-server")

# The ticket workflow upserts these (soporte.policy.visibility): both servers must know them.
SEARCH_ATTRIBUTES: list[str] = cli_flags()

if TYPE_CHECKING:
    from tests.api_support import Api


# The SDK waits 5 s for a test or dev server to answer; a loaded 2-core machine has taken
# longer (a time-skipping server "did not start within 5s" in a CI run beside a benchmark).
SERVER_STARTUP = timedelta(seconds=30)


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping test server per test (timers pass in milliseconds)."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=TEST_SERVER_BIN,
        test_server_startup_timeout=SERVER_STARTUP,
    )
    await ensure_search_attributes(env.client, "default")
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """One dev server for the session: updates, schedules, search attributes."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=TEMPORAL_BIN,
        ui=False,
        dev_server_log_level="error",
        dev_server_startup_timeout=SERVER_STARTUP,
        dev_server_extra_args=[
            arg for attr in SEARCH_ATTRIBUTES for arg in ("--search-attribute", attr)
        ],
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


def postgres_url() -> str | None:
    return os.environ.get("SOPORTE_TEST_POSTGRES_URL") or None


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if postgres_url() else ["sqlite"]


@pytest.fixture(scope="module", params=backends())
async def api(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Api]:
    """The API (app, worker, migrated database) of one test module, once per backend."""
    from tests.api_support import module_api  # it imports this module

    async with module_api(request, dev_env, tmp_path_factory) as running:
        yield running
