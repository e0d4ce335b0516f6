"""Shared helpers of the API tests: a migrated database, the app, a worker, an HTTP client.

The database is SQLite (a temp file) always, and PostgreSQL too when
SOPORTE_TEST_POSTGRES_URL is set (a fresh schema per use, dropped afterwards).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from soporte.db.migrate import run_migrations, sync_url
from soporte.policy.nit import check_digit
from soporte.settings import Settings, load_settings
from tests.conftest import postgres_url
from worker import build_worker

ADMIN_TOKEN = "test-admin-token-" + uuid.uuid4().hex
T = TypeVar("T")


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if postgres_url() else ["sqlite"]


def make_nit(base: str) -> str:
    return f"{base}-{check_digit(base)}"


def wrong_nit(base: str) -> tuple[str, int]:
    right = check_digit(base)
    return f"{base}-{(right + 1) % 10}", right


def _with_search_path(url: str, schema: str) -> str:
    joiner = "&" if urlsplit(url).query else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


def first_number() -> int:
    """Where a test database starts numbering tickets.

    The dev server is shared by the whole session and workflow ids are `ticket-<number>`:
    each test database numbers from its own random block so ids never collide.
    """
    return random.randint(1, 2_000_000) * 1000


@contextmanager
def database(backend: str, tmp_dir: Path) -> Iterator[str]:
    """A migrated, empty database URL (async driver) for one test module."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_dir / 'soporte.db'}"
        run_migrations(url)
        with sqlite3.connect(tmp_dir / "soporte.db") as connection:
            connection.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('ticket_intake', ?)",
                (first_number(),),
            )
        yield url
        return
    import psycopg

    base = postgres_url()
    assert base
    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = sync_url(base).replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    url = _with_search_path(base, schema)
    try:
        run_migrations(url)
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(
                f'ALTER SEQUENCE "{schema}".ticket_intake_number_seq RESTART WITH {first_number()}'
            )
        yield url
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def api_settings(data_dir: Path, database_url: str, env: WorkflowEnvironment) -> Settings:
    return load_settings(
        data_dir=data_dir,
        database_url=database_url,
        temporal_address=env.client.service_client.config.target_host,
        task_queue=f"api-{uuid.uuid4().hex}",
        admin_token=ADMIN_TOKEN,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_TOKEN)


@dataclass
class Api:
    """An HTTP client on the app, plus helpers to register people and open tickets."""

    http: httpx.AsyncClient
    settings: Settings
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    app: Any = None  # the FastAPI app, for a client of another address

    async def ok(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, **kwargs)
        assert response.status_code == expect, (response.status_code, response.text)
        return response.json() if response.content else None

    async def client(self, base: str, name: str = "Cliente", **extra: Any) -> str:
        nit = make_nit(base)
        body = {"nit": nit, "name": name, "active": True, **extra}
        await self.ok("POST", "/api/v1/clients", 201, json=body, headers=ADMIN)
        return nit

    async def contact(self, nit: str, email: str, name: str = "Contacto") -> dict[str, str]:
        body = {"name": name, "email": email, "phone": "+57 300 000 0000"}
        await self.ok("POST", f"/api/v1/clients/{nit}/contacts", 201, json=body, headers=ADMIN)
        return await self.token(email)

    async def staff(self, email: str, roles: list[str], name: str = "Staff") -> dict[str, str]:
        body = {"name": name, "email": email, "roles": roles}
        await self.ok("POST", "/api/v1/staff", 201, json=body, headers=ADMIN)
        return await self.token(email)

    async def token(self, email: str) -> dict[str, str]:
        issued = await self.ok("POST", "/api/v1/tokens", 201, json={"email": email}, headers=ADMIN)
        self.tokens[email] = bearer(issued["token"])
        return self.tokens[email]

    async def open_ticket(self, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
        body = {
            "kind": "support",
            "category": "facturacion",
            "subject": "No puedo facturar",
            "description": "Al emitir la factura electrónica sale un error.",
            "expected_result": "Poder facturar",
            **fields,
        }
        result: dict[str, Any] = await self.ok(
            "POST", "/api/v1/tickets", 201, json=body, headers=headers
        )
        return result


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], timeout: float = 20.0
) -> T:
    """Poll `probe` until `check` holds (the read model follows the workflow)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.1)


@asynccontextmanager
async def running_api(
    env: WorkflowEnvironment, settings: Settings, *, worker: bool = True
) -> AsyncIterator[Api]:
    """The app (lifespan run) and, unless told otherwise, a worker on its task queue."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://soporte.test") as http:
            if not worker:
                yield Api(http=http, settings=settings, app=app)
                return
            async with build_worker(env.client, settings):  # as `soporte worker` runs
                yield Api(http=http, settings=settings, app=app)


@asynccontextmanager
async def module_api(
    request: pytest.FixtureRequest,
    env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
    *,
    worker: bool = True,
) -> AsyncIterator[Api]:
    """For a module-scoped fixture parametrized by `backends()`."""
    data_dir: Path = tmp_path_factory.mktemp(f"api-{request.param}")
    with database(request.param, data_dir) as url:
        async with running_api(env, api_settings(data_dir, url, env), worker=worker) as running:
            yield running
