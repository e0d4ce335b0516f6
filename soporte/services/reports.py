"""The SLA report (supervisor and admin): tickets opened in a range of Bogota days, grouped
by priority, client, engineer or month, with each target's met/breached/pending counts.

Aggregated in SQL over the columns the projection keeps (soporte.policy.sla_report): one grouped
query for the counts and sums, and one fetch of the counted seconds for the medians (taken in
Python), both on the covering index ix_tickets_report.
soporte.policy.sla_report.aggregate is the same computation in Python; the tests hold the two equal.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
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


def _grouping(group_by: GroupBy) -> tuple[list[Any], Callable[[Sequence[Any]], Any]]:
    """The grouped query's keys, and the report's key of each of its rows. By priority and
    by month, grouped by opening day first: the covering index's own order, so SQLite sums
    the rows as it reads them, with no sort (75 ms instead of 115 for a year of 100,000
    tickets); the days (at most 366 a year) fold into the report's keys in Python."""
    if group_by is GroupBy.PRIORITY:
        return [Ticket.opened_on, Ticket.priority], lambda row: row[1]
    if group_by is GroupBy.MONTH:
        return [Ticket.opened_on], month_of
    return [_key(group_by)], lambda row: row[0]


def month_of(row: Sequence[Any]) -> str:
    """The "YYYY-MM" of a row's opening day, as the DBAPI gives it (an ISO string from
    SQLite, a date from psycopg)."""
    return str(row[0])[:7]


def _where(query: ReportQuery, first_day: date | None = None) -> list[ColumnElement[bool]]:
    """The report's tickets: opened in its days (from `first_day` when given: a wider
    read folded into several reports), of a support priority, and its filters."""
    conditions = [
        Ticket.opened_on >= (first_day or query.first_day),
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


# The grouped query's sums, in this order: every one adds up across groups, so groups by
# several keys fold into the rows of any one of them (the dashboard's three tables from
# one read). CSAT is a sum and a count of ratings, not an average, for the same reason.
SUMS = (
    "tickets",
    "fr_met",
    "fr_breached",
    "fr_pending",
    "res_met",
    "res_breached",
    "res_pending",
    "paused",
    "reopened",
    "rating_sum",
    "rated",
)


def _totals(
    conditions: list[ColumnElement[bool]], keys: Sequence[Any], now: datetime
) -> Select[Any]:
    labeled = [key.label(f"key{index}") for index, key in enumerate(keys)]
    return (
        select(
            *labeled,
            func.count().label("tickets"),
            *_outcome_counts(Ticket.first_response_outcome, Ticket.first_response_due, now, "fr"),
            *_outcome_counts(Ticket.resolution_outcome, Ticket.resolution_due, now, "res"),
            func.coalesce(func.sum(Ticket.paused_seconds), 0).label("paused"),
            _count(Ticket.reopen_count > 0).label("reopened"),
            func.coalesce(func.sum(Ticket.rating), 0).label("rating_sum"),
            func.count(Ticket.rating).label("rated"),
        )
        .where(*conditions)
        .group_by(*labeled)
    )


Sums = list[int]
SKIP = object()


def _fold(
    rows: Iterable[Sequence[Any]], key_of: Callable[[Sequence[Any]], Any], keys: int
) -> dict[Any, Sums]:
    """Each group's sums added up under `key_of(row)`; a row whose key_of is SKIP is left
    out (a group outside the table's range)."""
    folded: dict[Any, Sums] = {}
    for row in rows:
        key = key_of(row)
        if key is SKIP:
            continue
        sums = folded.setdefault(key, [0] * len(SUMS))
        for index, value in enumerate(row[keys:]):
            sums[index] += int(value or 0)
    return folded


def _seconds(conditions: list[ColumnElement[bool]], key: ColumnElement[Any]) -> Select[Any]:
    """The counted seconds of each ticket that reached a target, with its key (read from
    the covering index); the medians are taken in Python, the same on both backends."""
    return select(
        key.label("key"),
        Ticket.first_response_seconds,
        Ticket.resolution_seconds,
    ).where(
        *conditions,
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


def _rows_reader(query: Select[Any]) -> Callable[[Connection], list[Sequence[Any]]]:
    def read(connection: Connection) -> list[Sequence[Any]]:
        result = connection.execute(query)
        try:
            # The DBAPI's own rows (plain keys and integers, nothing to convert): Core's Row
            # objects cost more than the query itself at 100,000 tickets.
            return list(result.cursor.fetchall())
        finally:
            result.close()

    return read


def _medians_reader(query: Select[Any]) -> Callable[[Connection], dict[Any, Medians]]:
    read_rows = _rows_reader(query)
    return lambda connection: _medians(read_rows(connection))


def _report_rows(folded: dict[Any, Sums], medians: dict[Any, Medians]) -> list[ReportRow]:
    rows = []
    for key, sums in folded.items():
        named = dict(zip(SUMS, sums, strict=True))
        first_median, resolution_median = medians.get(key, (None, None))
        rows.append(
            ReportRow(
                key=key,
                tickets=named["tickets"],
                first_response=TargetCounts(
                    named["fr_met"], named["fr_breached"], named["fr_pending"]
                ),
                resolution=TargetCounts(
                    named["res_met"], named["res_breached"], named["res_pending"]
                ),
                median_first_response_seconds=first_median,
                median_resolution_seconds=resolution_median,
                paused_seconds=named["paused"],
                reopened=named["reopened"],
                csat_average=(
                    round(named["rating_sum"] / named["rated"], 2) if named["rated"] else None
                ),
            )
        )
    rows.sort(key=lambda r: sort_key(r.key))
    return rows


async def sla_report(
    session: AsyncSession, principal: Principal, query: ReportQuery, now: datetime | None = None
) -> SlaReport:
    access.check(principal, Action.READ_SLA_REPORT)
    check_query(query)
    now = now or datetime.now(UTC)
    conditions = _where(query)
    keys, key_of = _grouping(query.group_by)
    # Two connections at once: SQLite sums in C while Python takes the medians.
    totals, medians = await asyncio.gather(
        read_on_a_thread(session.bind, _rows_reader(_totals(conditions, keys, now))),
        read_on_a_thread(session.bind, _medians_reader(_seconds(conditions, _key(query.group_by)))),
    )
    folded = _fold(totals, key_of, len(keys))
    return SlaReport(query=query, rows=_report_rows(folded, medians))


@dataclass(frozen=True)
class DashboardReports:
    """The dashboard's three tables: the period by priority (with its medians), the twelve
    months up to the period's end by month, and the period by engineer. The month and the
    engineer rows carry no medians (the page shows none; their CSV is the full report)."""

    priority: SlaReport
    months: SlaReport
    engineer: SlaReport


async def dashboard_reports(
    session: AsyncSession,
    principal: Principal,
    period: ReportQuery,
    months: ReportQuery,
    now: datetime | None = None,
) -> DashboardReports:
    """The three tables in three reads at once: the tickets of both ranges grouped by
    opening day and priority (the covering index's own order: summed as it is read, with
    no sort), folded in Python into the period's priorities and the months (the same sums
    as sla_report's); the period by engineer; the period's medians by priority."""
    access.check(principal, Action.READ_SLA_REPORT)
    check_query(period)
    check_query(months)
    if months.last_day != period.last_day or (period.priority, period.nit) != (
        months.priority,
        months.nit,
    ):
        raise InvalidInput("to", "the months end with the period, with the same filters")
    now = now or datetime.now(UTC)
    priority, engineer = _key(GroupBy.PRIORITY), _key(GroupBy.ENGINEER)
    day_keys, priority_of = _grouping(GroupBy.PRIORITY)  # by opening day, then priority
    wider = _where(period, min(period.first_day, months.first_day))
    by_day, by_engineer, medians = await asyncio.gather(
        read_on_a_thread(session.bind, _rows_reader(_totals(wider, day_keys, now))),
        read_on_a_thread(session.bind, _rows_reader(_totals(_where(period), [engineer], now))),
        read_on_a_thread(session.bind, _medians_reader(_seconds(_where(period), priority))),
    )
    # The day as the DBAPI gives it (see month_of).
    period_from, months_from = period.first_day.isoformat(), months.first_day.isoformat()
    by_priority = _fold(
        by_day, lambda row: priority_of(row) if str(row[0]) >= period_from else SKIP, len(day_keys)
    )
    by_month = _fold(
        by_day, lambda row: month_of(row) if str(row[0]) >= months_from else SKIP, len(day_keys)
    )
    return DashboardReports(
        priority=SlaReport(period, _report_rows(by_priority, medians)),
        months=SlaReport(months, _report_rows(by_month, {})),
        engineer=SlaReport(
            replace(period, group_by=GroupBy.ENGINEER),
            _report_rows(_fold(by_engineer, lambda row: row[0], 1), {}),
        ),
    )
