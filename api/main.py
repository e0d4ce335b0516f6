"""The HTTP API: `create_app(settings)` (OpenAPI at /docs)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api import docs, errors, metrics, web
from api.access_log import AccessLog
from api.body_check import JsonBodyCheck
from api.limits import BodySizeLimit
from api.routes import (
    advisories,
    attachments,
    audit,
    committee,
    email,
    incidents,
    registry,
    reports,
    system,
    tickets,
)
from api.state import AppState
from soporte.db.session import create_engine, create_sessionmaker
from soporte.services.errors import Unavailable
from soporte.settings import Settings, get_settings

log = logging.getLogger("soporte.api")

DESCRIPTION = (
    "Amazonas Soporte. Authenticate with `Authorization: Bearer <token>` (admin's token, "
    'or one issued by `POST /api/v1/tokens`). Errors are `{"detail": ...}`.'
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.effective_database_url)
        state = AppState(settings=settings, engine=engine, sessions=create_sessionmaker(engine))
        app.state.soporte = state
        try:
            await state.temporal()
        except Unavailable:
            log.warning("starting without Temporal; it is retried on each request")
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Amazonas Soporte",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    docs.install(app)
    app.add_middleware(JsonBodyCheck)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(metrics.RequestMetrics)
    app.add_middleware(AccessLog)  # added last: outermost, it times and logs everything
    errors.install(app)
    routers = (
        system,
        registry,
        tickets,
        attachments,
        advisories,
        committee,
        incidents,
        email,
        reports,
    )
    for module in routers:
        app.include_router(module.router)
    app.include_router(metrics.router)
    app.include_router(audit.router)
    web.install(app)  # the portal's pages, at the root (after the API's error handlers)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with 422 bodies described as this API really sends them."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "HTTPValidationError" in components:
        components["HTTPValidationError"] = {"$ref": "#/components/schemas/ValidationErrorBody"}
        components.pop("ValidationError", None)
    app.openapi_schema = schema
    return schema
