"""The SLA report (supervisor and admin): tickets opened in a range of Bogota days, grouped
by priority, client, engineer or month, with each target's met/breached/pending counts.

Aggregated in SQL over the columns the projection keeps (soporte.policy.sla_report): one grouped
query for the counts and sums, one windowed query per median, both on the opened_on index.
soporte.policy.sla_report.aggregate is the same computation in Python; the tests hold the two equal.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from soporte.db.models import Ticket
from soporte.db.session import read_on_a_thread
from soporte.policy import SUPPORT_PRIORITIES, Priority
from soporte.policy.sla_report import GroupBy, Outcome, ReportRow, TargetCounts, median, sort_key
from soporte.services import access
from soporte.services.access import Action
from soporte.services.auth import Principal
from soporte.services.errors import InvalidInput

MAX_DAYS = 3660


@dataclass(frozen=True)
class ReportQuery:
    first_day: date
    last_day: date
    group_by: GroupBy
    priority: Priority | None = None
    nit: str | None = None


@dataclass(frozen=True)
class SlaReport:
    query: ReportQuery
    rows: list[ReportRow]

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.query.first_day.isoformat(),
            "to": self.query.last_day.isoformat(),
            "group_by": self.query.group_by.value,
            "rows": [row_json(row) for row in self.rows],
        }


def row_json(row: ReportRow) -> dict[str, Any]:
    return {
        "key": row.key,
        "tickets": row.tickets,
        "first_response": counts_json(row.first_response),
        "resolution": counts_json(row.resolution),
        "median_first_response_seconds": row.median_first_response_seconds,
        "median_resolution_seconds": row.median_resolution_seconds,
        "paused_seconds": row.paused_seconds,
        "reopened": row.reopened,
        "csat_average": row.csat_average,
    }


def counts_json(counts: TargetCounts) -> dict[str, int]:
    return {"met": counts.met, "breached": counts.breached, "pending": counts.pending}


CSV_COLUMNS = (
    "key",
    "tickets",
    "first_response_met",
    "first_response_breached",
    "first_response_pending",
    "resolution_met",
    "resolution_breached",
    "resolution_pending",
    "median_first_response_seconds",
    "median_resolution_seconds",
    "paused_seconds",
    "reopened",
    "csat_average",
)


def as_csv(report: SlaReport) -> str:
    """The same rows as the JSON, flattened; an empty cell is a JSON null."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        data = row_json(row)
        flat: dict[str, Any] = {**data}
        for target in ("first_response", "resolution"):
            for outcome, value in data[target].items():
                flat[f"{target}_{outcome}"] = value
        writer.writerow(["" if flat[name] is None else flat[name] for name in CSV_COLUMNS])
    return out.getvalue()


def check_query(query: ReportQuery) -> None:
    if query.last_day < query.first_day:
        raise InvalidInput("to", "must be on or after `from`")
    if (query.last_day - query.first_day).days > MAX_DAYS:
        raise InvalidInput("to", f"a report spans at most {MAX_DAYS} days")
    if query.priority is not None and query.priority not in SUPPORT_PRIORITIES:
        names = ", ".join(p.value for p in SUPPORT_PRIORITIES)
        raise InvalidInput("priority", f"the SLA report covers {names}")


def _key(group_by: GroupBy) -> Any:
    if group_by is GroupBy.PRIORITY:
        return Ticket.priority
    if group_by is GroupBy.CLIENT:
        return Ticket.nit
    if group_by is GroupBy.ENGINEER:
        return Ticket.assignee
    # The ISO date's "YYYY-MM" on both backends.
    return func.substr(cast(Ticket.opened_on, String), 1, 7)


def _where(query: ReportQuery) -> list[ColumnElement[bool]]:
    conditions = [
        Ticket.opened_on >= query.first_day,
        Ticket.opened_on <= query.last_day,
        Ticket.priority.in_([p.value for p in SUPPORT_PRIORITIES]),
    ]
    if query.priority is not None:
        conditions.append(Ticket.priority == query.priority.value)
    if query.nit is not None:
        conditions.append(Ticket.nit == query.nit.strip())
    return conditions


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _outcome_counts(outcome: Any, due: Any, now: datetime, prefix: str) -> list[ColumnElement[Any]]:
    """met / breached / pending, a pending target past its due instant counted breached
    (soporte.policy.sla_report.current_outcome)."""
    overdue = and_(outcome == Outcome.PENDING.value, due.is_not(None), due <= now)
    return [
        _count(outcome == Outcome.MET.value).label(f"{prefix}_met"),
        _count(or_(outcome == Outcome.BREACHED.value, overdue)).label(f"{prefix}_breached"),
        _count(and_(outcome == Outcome.PENDING.value, ~overdue)).label(f"{prefix}_pending"),
    ]


def _totals(query: ReportQuery, now: datetime) -> Select[Any]:
    key = _key(query.group_by).label("key")
    return (
        select(
            key,
            func.count().label("tickets"),
            *_outcome_counts(Ticket.first_response_outcome, Ticket.first_response_due, now, "fr"),
            *_outcome_counts(Ticket.resolution_outcome, Ticket.resolution_due, now, "res"),
            func.coalesce(func.sum(Ticket.paused_seconds), 0).label("paused"),
            _count(Ticket.reopen_count > 0).label("reopened"),
            func.avg(Ticket.rating).label("csat"),
        )
        .where(*_where(query))
        .group_by(key)
    )


def _seconds(query: ReportQuery) -> Select[Any]:
    """The counted seconds of each ticket that reached a target, with its key (read from
    the covering index); the medians are taken in Python, the same on both backends."""
    return select(
        _key(query.group_by).label("key"),
        Ticket.first_response_seconds,
        Ticket.resolution_seconds,
    ).where(
        *_where(query),
        or_(Ticket.first_response_seconds.is_not(None), Ticket.resolution_seconds.is_not(None)),
    )


Medians = tuple[float | None, float | None]


def _medians(rows: Iterable[Sequence[Any]]) -> dict[Any, Medians]:
    values: dict[Any, tuple[list[int], list[int]]] = {}
    for key, first, resolution in rows:
        first_values, resolution_values = values.setdefault(key, ([], []))
        if first is not None:
            first_values.append(first)
        if resolution is not None:
            resolution_values.append(resolution)
    return {key: (median(a), median(b)) for key, (a, b) in values.items()}


def _totals_reader(query: ReportQuery, now: datetime) -> Callable[[Connection], list[RowMapping]]:
    return lambda connection: list(connection.execute(_totals(query, now)).mappings())


def _medians_reader(query: ReportQuery) -> Callable[[Connection], dict[Any, Medians]]:
    def read(connection: Connection) -> dict[Any, Medians]:
        result = connection.execute(_seconds(query))
        try:
            # The DBAPI's own rows (plain keys and integers, nothing to convert): Core's Row
            # objects cost more than the query itself at 100,000 tickets.
            return _medians(result.cursor.fetchall())
        finally:
            result.close()

    return read


async def sla_report(
    session: AsyncSession, principal: Principal, query: ReportQuery, now: datetime | None = None
) -> SlaReport:
    access.check(principal, Action.READ_SLA_REPORT)
    check_query(query)
    now = now or datetime.now(UTC)
    # Two connections at once: SQLite sums in C while Python takes the medians.
    totals, medians = await asyncio.gather(
        read_on_a_thread(session.bind, _totals_reader(query, now)),
        read_on_a_thread(session.bind, _medians_reader(query)),
    )
    rows = [
        ReportRow(
            key=row["key"],
            tickets=row["tickets"],
            first_response=TargetCounts(row["fr_met"], row["fr_breached"], row["fr_pending"]),
            resolution=TargetCounts(row["res_met"], row["res_breached"], row["res_pending"]),
            median_first_response_seconds=medians.get(row["key"], (None, None))[0],
            median_resolution_seconds=medians.get(row["key"], (None, None))[1],
            paused_seconds=int(row["paused"]),
            reopened=int(row["reopened"]),
            csat_average=None if row["csat"] is None else round(float(row["csat"]), 2),
        )
        for row in totals
    ]
    rows.sort(key=lambda r: sort_key(r.key))
    return SlaReport(query=query, rows=rows)
