"""The supervisor's dashboard: SLA compliance by priority and by month, open tickets by
priority and age, the period's breaches with links, load per engineer, CSAT; charts as
server-rendered SVG, each table downloadable as CSV (the report's CSV for the report's
tables). Numbers from soporte.services.reports (the SLA report of the API) and
soporte.services.dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import select

from api.web import charts, core, words
from api.web.console import staff_caller
from api.web.core import page
from soporte import portal_paths
from soporte.db.models import Staff
from soporte.policy import SUPPORT_PRIORITIES
from soporte.policy.calendar import BOGOTA
from soporte.policy.sla_report import GroupBy, ReportRow, TargetCounts
from soporte.services import dashboard, reports
from soporte.services.access import Action
from soporte.services.auth import Principal
from soporte.services.errors import InvalidInput
from soporte.services.reports import ReportQuery, SlaReport

router = APIRouter(include_in_schema=False)

TABLES = ("prioridad", "mes", "ingeniero", "antiguedad", "incumplimientos", "carga")
Table = Annotated[str, Path(pattern="^(" + "|".join(TABLES) + ")$")]
MONTHS = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date
    values: dict[str, str]
    errors: dict[str, str]

    def query(self, group_by: GroupBy) -> ReportQuery:
        return ReportQuery(self.first_day, self.last_day, group_by)

    def months_query(self) -> ReportQuery:
        """The twelve months up to the period's last one."""
        end = self.last_day
        year, month = (
            (end.year, end.month - 11) if end.month > 11 else (end.year - 1, end.month + 1)
        )
        return ReportQuery(date(year, month, 1), end, GroupBy.MONTH)


def today_in_bogota() -> date:
    return datetime.now(UTC).astimezone(BOGOTA).date()


def read_period(request: Request) -> Period:
    today = today_in_bogota()
    params = request.query_params
    values = {"desde": params.get("desde", ""), "hasta": params.get("hasta", "")}
    errors: dict[str, str] = {}
    days = {}
    defaults = {"desde": today.replace(day=1), "hasta": today}
    for name, default in defaults.items():
        try:
            days[name] = date.fromisoformat(values[name]) if values[name] else default
        except ValueError:
            errors[name] = "Escriba una fecha válida (AAAA-MM-DD)."
            days[name] = default
    if not errors and days["hasta"] < days["desde"]:
        errors["hasta"] = "Debe ser igual o posterior a «desde»."
        days["hasta"] = days["desde"]
    if (days["hasta"] - days["desde"]).days > reports.MAX_DAYS:
        errors["hasta"] = f"El periodo abarca como máximo {reports.MAX_DAYS} días."
        days["desde"] = days["hasta"].replace(year=days["hasta"].year - 1)
    values = {k: values[k] or days[k].isoformat() for k in values} if not errors else values
    return Period(days["desde"], days["hasta"], values, errors)


def percent(met: int, breached: int) -> float | None:
    decided = met + breached
    return None if decided == 0 else 100.0 * met / decided


def month_label(key: str | None) -> str:
    if not key or len(key) < 7:
        return "—"
    return f"{MONTHS[int(key[5:7]) - 1]} {key[2:4]}"


def compliance_chart(title: str, rows: list[ReportRow], labels: list[str]) -> Markup:
    return charts.grouped_bars(
        title,
        labels,
        [
            charts.Series(
                "Primera respuesta",
                [percent(r.first_response.met, r.first_response.breached) for r in rows],
            ),
            charts.Series(
                "Solución", [percent(r.resolution.met, r.resolution.breached) for r in rows]
            ),
        ],
        100,
        "%",
    )


async def engineer_names(request: Request) -> dict[str, str]:
    async with core.state_of(request).sessions() as session:
        found = dict((await session.execute(select(Staff.email, Staff.name))).all())
        await session.commit()
    return found


async def report(request: Request, principal: Principal, query: ReportQuery) -> SlaReport:
    async with core.state_of(request).sessions() as session:
        return await reports.sla_report(session, principal, query)


def by_priority(found: SlaReport) -> list[ReportRow]:
    """Every support priority, in order, even those with no ticket in the period."""
    rows = {row.key: row for row in found.rows}
    empty = TargetCounts()
    return [
        rows.get(p.value) or ReportRow(p.value, 0, empty, empty, None, None, 0, 0, None)
        for p in SUPPORT_PRIORITIES
    ]


def totals_of(rows: list[ReportRow]) -> dict[str, Any]:
    tickets = sum(r.tickets for r in rows)
    rated = [(r.csat_average, r.tickets) for r in rows if r.csat_average is not None]
    return {
        "tickets": tickets,
        "first": percent(
            sum(r.first_response.met for r in rows), sum(r.first_response.breached for r in rows)
        ),
        "resolution": percent(
            sum(r.resolution.met for r in rows), sum(r.resolution.breached for r in rows)
        ),
        "breached": sum(r.first_response.breached + r.resolution.breached for r in rows),
        # The ticket-weighted mean of the rows' averages (a row's average is over its rated
        # tickets; the report does not say how many were rated).
        "csat": (sum(a * n for a, n in rated) / sum(n for _, n in rated)) if rated else None,
    }


@router.get(portal_paths.DASHBOARD)
async def dashboard_page(request: Request) -> Response:
    caller = await staff_caller(request, Action.READ_SLA_REPORT)
    principal = caller.principal
    period = read_period(request)
    now = datetime.now(UTC)
    async with core.state_of(request).sessions() as session:
        found = await reports.dashboard_reports(
            session, principal, period.query(GroupBy.PRIORITY), period.months_query(), now
        )
        priority_rows = by_priority(found.priority)
        month_rows, engineer_rows = found.months.rows, found.engineer.rows
        opened = await dashboard.open_now(session, principal, now)
        ages, loads = opened.ages, opened.loads
        breaches = await dashboard.breaches(session, principal, period.query(GroupBy.PRIORITY), now)
    names = await engineer_names(request)
    age_series = [
        charts.Series(label, [float(ages[p.value][i]) for p in SUPPORT_PRIORITIES])
        for i, (label, _) in enumerate(dashboard.AGES)
    ]
    return page(
        request,
        "dashboard.html",
        caller,
        422 if period.errors else 200,
        section="dashboard",
        period=period,
        values=period.values,
        errors=period.errors,
        totals=totals_of(priority_rows),
        priority_rows=priority_rows,
        month_rows=month_rows,
        engineer_rows=engineer_rows,
        ages=ages,
        age_labels=[label for label, _ in dashboard.AGES],
        breaches=breaches,
        loads=loads,
        names=names,
        percent=percent,
        month_label=month_label,
        duration=words.duration,
        timedelta_seconds=lambda seconds: timedelta(seconds=seconds),
        priority_chart=compliance_chart(
            "Cumplimiento por prioridad (%)",
            priority_rows,
            [words.priority_label(r.key or "") for r in priority_rows],
        ),
        month_chart=compliance_chart(
            "Cumplimiento por mes (%)", month_rows, [month_label(r.key) for r in month_rows]
        ),
        age_chart=charts.stacked_bars(
            "Solicitudes abiertas por prioridad y antigüedad",
            [p.value for p in SUPPORT_PRIORITIES],
            age_series,
        ),
        csv_query=f"desde={period.first_day.isoformat()}&hasta={period.last_day.isoformat()}",
    )


@router.get(portal_paths.DASHBOARD + "/csv/{table}")
async def dashboard_csv(request: Request, table: Table) -> Response:
    caller = await staff_caller(request, Action.READ_SLA_REPORT)
    principal = caller.principal
    period = read_period(request)
    if period.errors:
        raise InvalidInput(next(iter(period.errors)), "not a valid day")
    now = datetime.now(UTC)
    if table in ("prioridad", "mes", "ingeniero"):
        query = {
            "prioridad": period.query(GroupBy.PRIORITY),
            "mes": period.months_query(),
            "ingeniero": period.query(GroupBy.ENGINEER),
        }[table]
        body = reports.as_csv(await report(request, principal, query))
        first, last = query.first_day, query.last_day
    else:
        first, last = period.first_day, period.last_day
        body = await other_table(request, principal, table, period, now)
    name = f"tablero-{table}-{first}-{last}.csv"
    return core.secure(
        Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    )


async def other_table(
    request: Request, principal: Principal, table: str, period: Period, now: datetime
) -> str:
    async with core.state_of(request).sessions() as session:
        if table == "antiguedad":
            ages = await dashboard.open_by_priority_and_age(session, principal, now)
            header = ["priority", *[label for label, _ in dashboard.AGES]]
            return dashboard.table_csv(header, [[p, *counts] for p, counts in ages.items()])
        if table == "incumplimientos":
            found = await dashboard.breaches(
                session, principal, period.query(GroupBy.PRIORITY), now
            )
            header = [
                "number",
                "subject",
                "client",
                "priority",
                "assignee",
                "first_response_breached",
                "resolution_breached",
            ]
            rows: list[list[object]] = [
                [
                    b.number,
                    b.subject,
                    b.client_name,
                    b.priority,
                    b.assignee,
                    b.first_response,
                    b.resolution,
                ]
                for b in found
            ]
            return dashboard.table_csv(header, rows)
        loads = await dashboard.load_per_engineer(session, principal)
        return dashboard.table_csv(
            ["assignee", "name", "open", "open_breached"],
            [[load.email, load.name, load.open, load.breached] for load in loads],
        )
