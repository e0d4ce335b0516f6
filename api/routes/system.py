"""Health, the SLA preview and who-am-I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse

from api.deps import PrincipalDep, SettingsDep, StateDep
from api.errors import COMMON_RESPONSES
from soporte.services.contact import contact_page
from soporte.services.errors import InvalidInput
from soporte.services.health import check
from soporte.services.schemas import HealthOut, PrincipalOut, SlaPreviewOut
from soporte.sla_preview import DeadlineInputError, preview

router = APIRouter(responses=COMMON_RESPONSES)


@router.get("/healthz", tags=["system"], responses={503: {"model": HealthOut}})
async def healthz(state: StateDep) -> JSONResponse:
    """200 only when the database and Temporal answer and a worker polls; else 503 saying
    which not."""
    report = await check(state.engine, state.temporal, state.settings)
    code = 200 if report.status == "ok" else 503
    return JSONResponse(report.model_dump(), status_code=code)


@router.get("/contacto", tags=["system"], response_class=HTMLResponse)
async def contacto(settings: SettingsDep) -> HTMLResponse:
    """The vendor's channels, in Spanish (no token needed): the page our mails link to."""
    return HTMLResponse(contact_page(settings))


@router.get("/api/v1/sla/preview", tags=["sla"])
async def sla_preview(
    priority: Annotated[str, Query(max_length=20, description="P1, P2 or P3")],
    start: Annotated[
        str,
        Query(max_length=64, description="ISO 8601 with offset, e.g. 2026-11-27T16:30:00-05:00"),
    ],
) -> SlaPreviewOut:
    """The due instants of a ticket of `priority` opened at `start` (Bogota offset)."""
    try:
        result = preview(priority, start)
    except DeadlineInputError as error:
        raise InvalidInput(error.field, error.message) from None
    except (ValueError, OverflowError) as error:
        raise InvalidInput("start", str(error)) from None
    return SlaPreviewOut(**result.as_json())


@router.get("/api/v1/me", tags=["system"])
async def me(principal: PrincipalDep) -> PrincipalOut:
    """Who the token belongs to."""
    return PrincipalOut(
        email=principal.email,
        roles=sorted(principal.roles),
        nit=principal.nit,
        name=principal.name,
    )
