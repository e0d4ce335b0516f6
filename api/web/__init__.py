"""The web portal: server-rendered Spanish pages at the root of the API's app.

`install(app)` mounts the static files, adds the page routes and makes errors on portal
paths answer as pages (the API's paths keep their JSON errors).
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope
from temporalio.service import RPCError

from api.web import (
    committee_pages,
    confirm_pages,
    console,
    contact,
    core,
    dashboard_pages,
    forms,
    incident_pages,
    refused_mail_pages,
    registry_pages,
    saved_reply_pages,
    sign_in,
    ticket_pages,
    ticket_work,
)
from soporte import portal_paths
from soporte.services.errors import ServiceError

log = logging.getLogger("soporte.portal")

ERROR_WORDS = {
    400: ("Solicitud no válida", "La dirección o el formulario no son válidos."),
    403: ("Acceso no permitido", "No tiene permiso para ver esta página."),
    404: (
        "No encontramos esta página",
        "La página o la solicitud no existen, o no pertenecen a su empresa.",
    ),
    405: ("Acción no disponible", "Esa acción no está disponible en esta dirección."),
    409: ("No fue posible", "La solicitud no permite esa acción en su estado actual."),
    413: ("Archivo demasiado grande", "El envío supera el tamaño permitido."),
    422: ("Datos no válidos", "Revise la dirección o los datos enviados."),
    429: ("Demasiados intentos", "Espere unos minutos e intente de nuevo."),
    503: (
        "Servicio no disponible",
        "El sistema no responde en este momento; intente en unos minutos.",
    ),
}


async def error_page(request: Request, status: int) -> Response:
    caller = None
    try:
        caller = await core.optional_caller(request)
    except Exception:  # an error page must render even when the database is down
        caller = None
    title, text = ERROR_WORDS.get(status, ERROR_WORDS[400] if status < 500 else ERROR_WORDS[503])
    return core.page(request, "error.html", caller, status, title=title, text=text, code=status)


def _wrap(app: FastAPI, exc_class: type[Exception], status_of: Any) -> None:
    api_handler = app.exception_handlers.get(exc_class)

    async def handler(request: Request, exc: Exception) -> Response:
        if core.is_portal(request) or api_handler is None:
            status = status_of(exc)
            if status >= 500:
                log.warning("portal page %s failed: %r", request.url.path, exc, exc_info=exc)
            return await error_page(request, status)
        answer = api_handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(exc_class, handler)


async def on_sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, core.SignInRequired)  # nosec B101  # registered for this type only
    return core.secure(core.sign_in_redirect(exc.next_path))


async def on_form_refused(request: Request, exc: Exception) -> Response:
    caller = await core.optional_caller(request)
    return core.page(
        request,
        "error.html",
        caller,
        403,
        title="Formulario vencido",
        text=(
            "No pudimos aceptar el formulario: venció o no salió de este portal. "
            "Vuelva a la página, recárguela y envíelo de nuevo."
        ),
        code=403,
    )


class PortalStatic(StaticFiles):
    """The portal's CSS, script and icon: never sniffed into another type."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def install(app: FastAPI) -> None:
    app.mount(portal_paths.STATIC, PortalStatic(directory=core.STATIC), name="static")
    for module in (
        sign_in,
        contact,
        confirm_pages,
        console,
        forms,
        ticket_pages,
        ticket_work,
        saved_reply_pages,
        committee_pages,
        incident_pages,
        registry_pages,
        refused_mail_pages,
        dashboard_pages,
    ):
        app.include_router(module.router)
    _wrap(app, ServiceError, lambda exc: exc.status)
    _wrap(app, StarletteHTTPException, lambda exc: exc.status_code)
    _wrap(app, RequestValidationError, lambda exc: 404 if _path_error(exc) else 422)
    _wrap(app, RPCError, lambda exc: 503)
    _wrap(app, OperationalError, lambda exc: 503)
    _wrap(app, DataError, lambda exc: 422)
    _wrap(app, Exception, lambda exc: 500)
    app.add_exception_handler(core.SignInRequired, on_sign_in_required)
    app.add_exception_handler(core.FormRefused, on_form_refused)


def _path_error(exc: Exception) -> bool:
    """A bad ticket number in the address is a page that does not exist."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return any(error.get("loc", ("",))[0] == "path" for error in errors)
