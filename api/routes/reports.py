"""Reports: the SLA report as JSON, or the same rows as CSV (`Accept: text/csv`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from api.deps import PrincipalDep, SessionDep
from api.errors import COMMON_RESPONSES
from api.query import KnownQueryOnly
from soporte.policy import Priority
from soporte.policy.sla_report import GroupBy
from soporte.services import reports

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=COMMON_RESPONSES)

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
CSV = "text/csv"


@router.get(
    "/sla",
    dependencies=[KnownQueryOnly],
    responses={200: {"content": {CSV: {}}, "description": "the report (JSON, or CSV)"}},
)
async def sla_report(
    principal: PrincipalDep,
    session: SessionDep,
    first_day: Annotated[date, Query(alias="from", description="first Bogota day, YYYY-MM-DD")],
    last_day: Annotated[date, Query(alias="to", description="last Bogota day, included")],
    group_by: GroupBy = GroupBy.PRIORITY,
    priority: Priority | None = None,
    nit: Annotated[str | None, Query(max_length=30, pattern=PRINTABLE)] = None,
    accept: Annotated[str, Header()] = "application/json",
) -> Any:
    """SLA compliance of the tickets opened on those days (supervisor and admin)."""
    query = reports.ReportQuery(first_day, last_day, group_by, priority, nit)
    report = await reports.sla_report(session, principal, query)
    if CSV in accept.lower():
        name = f"sla-{first_day}-{last_day}-{group_by.value}.csv"
        return Response(
            reports.as_csv(report),
            media_type=f"{CSV}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return report.as_json()
