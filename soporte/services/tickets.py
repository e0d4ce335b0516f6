"""Reading tickets (live workflow query, else the read model) and commanding them.

Access: a contact reaches only its own client's tickets (anything else is "not found");
staff roles read every ticket; engineers and supervisors act on them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import Select, Table, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from temporalio.client import (
    Client as TemporalClient,
)
from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from soporte.db.models import (
    CommandKey,
    OutboundMail,
    Ticket,
    TicketEvent,
    TicketIntake,
    utcnow,
)
from soporte.db.session import read_at_once, write_in_one_go
from soporte.policy import Kind, Priority, Status, Visibility
from soporte.policy import ticket as ts
from soporte.policy.names import Query, TicketSignal, TicketUpdate
from soporte.policy.sla_report import fold
from soporte.policy.tickets import ClientMessage, TicketInput, TicketView, workflow_id
from soporte.services import access
from soporte.services.access import Action
from soporte.services.auth import Principal
from soporte.services.errors import (
    Conflict,
    InFlight,
    NotFound,
    Unavailable,
    refusal_error,
)
from soporte.services.schemas import LogEntry, TicketPage, TicketSummary
from soporte.services.views import initial_view

log = logging.getLogger("soporte.tickets")

QUERY_TIMEOUT = timedelta(seconds=5)
# Every command is answered within this: by the workflow, else 202 and where to look.
COMMAND_BOUND = timedelta(seconds=10)
UPDATE_TIMEOUT = timedelta(seconds=30)  # committee and incident workflows
FINAL_STATUSES = (Status.CLOSED,)


def not_found(number: int) -> NotFound:
    return NotFound(f"there is no ticket {number}")


async def find_ticket(session: AsyncSession, principal: Principal, number: int) -> TicketIntake:
    """The ticket's intake row if `principal` may see the ticket; else 404."""
    row = await session.get(TicketIntake, number) if _is_number(number) else None
    _check_owner(principal, number, row.nit if row is not None else None)
    assert row is not None  # nosec B101  # _check_owner raised otherwise
    return row


async def check_visible(session: AsyncSession, principal: Principal, number: int) -> None:
    """find_ticket's 404 for a command that needs no row: one indexed read of the client's
    NIT on a plain connection (every command runs it: issue 15, the ORM's identity load and
    its transaction cost more than the read)."""
    nit = None
    if _is_number(number):
        nit = await read_at_once(session.bind, lambda db: db.scalar(NIT_OF, {"number": number}))
    _check_owner(principal, number, nit)


# The statements every command runs, built once (building and keying them anew for each
# command cost about as much as running them: issue 15).
NIT_OF = select(TicketIntake.nit).where(TicketIntake.number == bindparam("number"))
COMMAND_KEYS = cast(Table, CommandKey.__table__)
FIRST_COMMAND = select(
    COMMAND_KEYS.c.number, COMMAND_KEYS.c.command, COMMAND_KEYS.c.request_hash
).where(
    COMMAND_KEYS.c.principal == bindparam("principal"),
    COMMAND_KEYS.c.idempotency_key == bindparam("idempotency_key"),
)
KEEP_COMMAND = insert(COMMAND_KEYS)


def _is_number(number: int) -> bool:
    return 0 < number < 2**31


def _check_owner(principal: Principal, number: int, nit: str | None) -> None:
    if nit is None or not access.owns(principal, nit):
        raise not_found(number)


# --- Reads ------------------------------------------------------------------------------


TemporalGetter = Callable[[], Awaitable[TemporalClient]]


async def live_view(temporal: TemporalClient, number: int) -> TicketView | None:
    handle = temporal.get_workflow_handle(workflow_id(number))
    try:
        return await handle.query(Query.VIEW, result_type=TicketView, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
        return None


async def projected_view(session: AsyncSession, number: int) -> TicketView | None:
    row = await session.get(Ticket, number)
    return TicketView.model_validate(row.view) if row is not None else None


async def read_ticket(
    session: AsyncSession, temporal: TemporalGetter, principal: Principal, number: int
) -> TicketView:
    """The live view from the workflow; the read model when the workflow cannot answer."""
    intake = await find_ticket(session, principal, number)
    projected = await projected_view(session, number)
    await session.commit()
    if projected is not None and projected.status in FINAL_STATUSES:
        return projected
    try:
        live = await live_view(await temporal(), number)
    except Unavailable:
        live = None
    if live is not None:
        return live
    if projected is not None:
        return projected
    ticket = (
        TicketInput.model_validate({**intake.input, "number": number}) if intake.input else None
    )
    if ticket is not None:
        return initial_view(ticket)
    raise not_found(number)


class TicketSort(StrEnum):
    """The list's orders; ties broken by ticket number in the same direction."""

    NEXT_DUE = "next_due"
    NEXT_DUE_DESC = "-next_due"
    CREATED_AT = "created_at"
    CREATED_AT_DESC = "-created_at"


@dataclass(frozen=True)
class TicketFilters:
    statuses: tuple[Status, ...] = ()
    priority: Priority | None = None
    nit: str | None = None
    assignee: str | None = None
    breached: bool | None = None
    kind: Kind | None = None
    category: str | None = None
    q: str | None = None
    due_before: datetime | None = None
    # One state: the filter as it was before `statuses` (kept for its callers).
    status: Status | None = None
    # Only tickets nobody is assigned to (the console's "Sin asignar").
    unassigned: bool = False

    def all_statuses(self) -> tuple[Status, ...]:
        return (*self.statuses, self.status) if self.status is not None else self.statuses


def like_pattern(text: str) -> str:
    """A LIKE pattern for text anywhere, with the user's % and _ taken literally."""
    escaped = fold(text.strip()).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(query: Select[Any], principal: Principal, filters: TicketFilters) -> Select[Any]:
    if principal.is_contact:
        query = query.where(Ticket.nit == principal.nit)
    statuses = sorted({s.value for s in filters.all_statuses()})
    if len(statuses) == 1:
        query = query.where(Ticket.status == statuses[0])
    elif statuses:
        query = query.where(Ticket.status.in_(statuses))
    if filters.priority is not None:
        query = query.where(Ticket.priority == filters.priority.value)
    if filters.nit is not None:
        query = query.where(Ticket.nit == filters.nit.strip())
    if filters.assignee is not None:
        query = query.where(Ticket.assignee == filters.assignee.strip().lower())
    if filters.unassigned:
        query = query.where(Ticket.assignee.is_(None))
    if filters.breached is not None:
        query = query.where(Ticket.breached == filters.breached)
    if filters.kind is not None:
        query = query.where(Ticket.kind == filters.kind.value)
    if filters.category is not None:
        query = query.where(Ticket.category == filters.category.strip())
    if filters.q is not None and filters.q.strip():
        query = query.where(Ticket.search_text.like(like_pattern(filters.q), escape="\\"))
    if filters.due_before is not None:
        query = query.where(Ticket.next_due < filters.due_before)
    return query


def _ordered(query: Select[Any], sort: TicketSort) -> Select[Any]:
    """Tickets without a next due instant come last in both next_due orders."""
    if sort is TicketSort.NEXT_DUE:
        return query.order_by(Ticket.next_due.asc().nulls_last(), Ticket.number.asc())
    if sort is TicketSort.NEXT_DUE_DESC:
        return query.order_by(Ticket.next_due.desc().nulls_last(), Ticket.number.desc())
    if sort is TicketSort.CREATED_AT:
        return query.order_by(Ticket.created_at.asc(), Ticket.number.asc())
    return query.order_by(Ticket.created_at.desc(), Ticket.number.desc())


SUMMARY_COLUMNS = [c for c in Ticket.__table__.columns if c.name in TicketSummary.model_fields]


async def list_tickets(
    session: AsyncSession,
    principal: Principal,
    filters: TicketFilters,
    limit: int,
    offset: int,
    sort: TicketSort = TicketSort.CREATED_AT_DESC,
) -> TicketPage:
    """One page of the read model (indexed offset pagination: every order and the common
    filters follow an index, so a page costs the offset's index steps, not a sort)."""
    access.check(principal, Action.READ_TICKETS)
    total = await session.scalar(
        _filtered(select(func.count()).select_from(Ticket), principal, filters)
    )
    query = _ordered(_filtered(select(*SUMMARY_COLUMNS), principal, filters), sort)
    rows = (await session.execute(query.limit(limit).offset(offset))).mappings().all()
    items = [TicketSummary.model_validate(dict(row)) for row in rows]
    return TicketPage(items=items, total=total or 0, limit=limit, offset=offset)


async def read_log(session: AsyncSession, principal: Principal, number: int) -> list[LogEntry]:
    await find_ticket(session, principal, number)
    query = select(TicketEvent).where(TicketEvent.number == number).order_by(TicketEvent.seq)
    if principal.is_contact:
        query = query.where(TicketEvent.visibility == Visibility.PUBLIC.value)
    rows = list(await session.scalars(query))
    sent_to = {} if principal.is_contact else await _addresses_sent(session, rows)
    return [
        LogEntry.model_validate(
            {
                "seq": row.seq,
                "at": row.at,
                "type": row.type,
                "actor": row.actor,
                "channel": row.channel,
                "visibility": row.visibility,
                "body": row.body,
                "data": _with_addresses(row.data or {}, sent_to),
            }
        )
        for row in rows
    ]


async def _addresses_sent(session: AsyncSession, rows: list[TicketEvent]) -> dict[str, list[str]]:
    """The addresses each logged notification went to (`@assignee` and the like resolved)."""
    ids = [row.data["notification_id"] for row in rows if (row.data or {}).get("notification_id")]
    if not ids:
        return {}
    found = await session.execute(
        select(OutboundMail.id, OutboundMail.to).where(OutboundMail.id.in_(ids))
    )
    return {mail_id: [a for a in to.split(", ") if a] for mail_id, to in found.all()}


def _with_addresses(data: dict[str, Any], sent_to: dict[str, list[str]]) -> dict[str, Any]:
    """`to` as the addresses the mail went to, once it was sent; the words it was addressed
    to (`@assignee`, `@supervisors`) stay in `addressed_to`."""
    addresses = sent_to.get(str(data.get("notification_id")))
    if addresses is None:
        return data
    return {**data, "to": addresses, "addressed_to": data.get("to", [])}


# --- Commands ---------------------------------------------------------------------------


def _closed(number: int) -> Conflict:
    return Conflict(
        f"ticket {number} is closed for good; open a new ticket that refers to #{number} "
        f"(el caso #{number} está cerrado; abra un caso nuevo que haga referencia al #{number})"
    )


def _rpc_failure(number: int, error: RPCError) -> Exception:
    if error.status == RPCStatusCode.NOT_FOUND:
        return _closed(number)
    if error.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE):
        return Unavailable(f"ticket {number} did not answer in time; try again")
    return Unavailable(f"ticket {number} could not be reached: {error.message}")


def refusal_message(error: WorkflowUpdateFailedError) -> str:
    cause = error.cause
    message = getattr(cause, "message", None) or str(cause or error)
    return str(message)


def ticket_location(number: int) -> str:
    return f"/api/v1/tickets/{number}"


def in_flight(number: int, what: str) -> InFlight:
    return InFlight(
        f"ticket {number} {what} but did not answer within {COMMAND_BOUND.seconds}s; "
        f"see {ticket_location(number)} (a retry with the same Idempotency-Key is safe)",
        ticket_location(number),
    )


async def run_update(
    temporal: TemporalClient,
    number: int,
    update: TicketUpdate,
    command: BaseModel,
    update_id: str | None = None,
) -> TicketView:
    """Send an update to the ticket; the validator's refusal becomes a 409. Not answered
    within COMMAND_BOUND (a stalled or busy worker, a slow server): 202 and where to look.
    With `update_id` (from an Idempotency-Key) Temporal runs it once and a retry gets the
    first answer."""
    handle = temporal.get_workflow_handle(workflow_id(number))
    try:
        async with asyncio.timeout(COMMAND_BOUND.total_seconds()):
            return await handle.execute_update(
                update, command, id=update_id, result_type=TicketView, rpc_timeout=COMMAND_BOUND
            )
    except WorkflowUpdateFailedError as error:
        raise refusal_error(error) from None
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        log.warning("ticket %s: %s not answered within %s", number, update, COMMAND_BOUND)
        raise in_flight(number, f"was sent {update.value}") from None
    except RPCError as error:
        raise _rpc_failure(number, error) from None


async def run_keyed_update(
    session: AsyncSession,
    temporal: TemporalClient,
    principal: Principal,
    number: int,
    update: TicketUpdate,
    command: BaseModel,
    key: str | None,
) -> TicketView:
    """The update, run once per Idempotency-Key (Temporal dedupes on the derived id)."""
    update_id = await command_update_id(session, principal, number, update, command, key)
    return await run_update(temporal, number, update, command, update_id)


async def send_client_message(
    temporal: TemporalClient, number: int, message: ClientMessage
) -> TicketView:
    """The client's message (portal, API): logged, and on a resolved ticket a reopen request.

    A reopening the window no longer allows is a 409 with the policy's message (the message
    itself stays in the log: nothing typed is lost)."""
    loop = asyncio.get_running_loop()
    bound = loop.time() + COMMAND_BOUND.total_seconds()
    view = await _post_message(temporal, number, message)
    try:
        # The message is taken: a reopen the workflow does not answer within what is left of
        # the bound (a second at least) is a 202 and where to look, never an error.
        async with asyncio.timeout(max(1.0, bound - loop.time())):
            answer = await reopen_on_client_message(temporal, number, message, view.status)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            # The ticket closed for good and its workflow completed after taking the message.
            raise _closed(number) from None
        log.warning("ticket %s: the reopen check of a client message was not answered", number)
        raise in_flight(number, "took the message") from None
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        log.warning("ticket %s: the reopen check of a client message was not answered", number)
        raise in_flight(number, "took the message") from None
    if answer.outcome is ReopenOutcome.REFUSED and answer.window_ended:
        raise Conflict(answer.refusal)
    return answer.view or view


async def _post_message(
    temporal: TemporalClient, number: int, message: ClientMessage
) -> TicketView:
    """The message as the update `post_message`, answered with the view once projected (one
    workflow task). Not answered in time, the update may not be accepted yet, and an update
    the server only admitted is not durable: the message goes again as the signal, which
    is, before the 202. The workflow takes a message id once, either way."""
    update_id = f"message-{message.message_id}"
    try:
        return await run_update(temporal, number, TicketUpdate.POST_MESSAGE, message, update_id)
    except InFlight:
        handle = temporal.get_workflow_handle(workflow_id(number))
        try:
            await handle.signal(TicketSignal.CLIENT_MESSAGE, message, rpc_timeout=QUERY_TIMEOUT)
        except RPCError as error:
            raise _rpc_failure(number, error) from None
        raise in_flight(number, "took the message") from None


class ReopenOutcome(StrEnum):
    NOT_ASKED = "not_asked"
    REOPENED = "reopened"
    REFUSED = "refused"


@dataclass(frozen=True)
class ReopenAnswer:
    outcome: ReopenOutcome
    view: TicketView | None = None  # None when not read (or refused)
    refusal: str = ""
    window_ended: bool = False


async def reopen_on_client_message(
    temporal: TemporalClient, number: int, message: ClientMessage, before: Status | None = None
) -> ReopenAnswer:
    """Every door's reopen: `ts.reopen_request` decides whether the message asks to reopen,
    the workflow's validator (`ts.check_reopen`) whether the window allows it. Idempotent:
    one reopen update per message id. `before`: the ticket's status read before the message
    was sent (a door that needs no view after it), else the view is read now."""
    handle = temporal.get_workflow_handle(workflow_id(number))
    view: TicketView | None = None
    status = before
    if status is None:
        view = await handle.query(Query.VIEW, result_type=TicketView, rpc_timeout=QUERY_TIMEOUT)
        status = view.status
    command = ts.reopen_request(status, message)
    if command is None:
        return ReopenAnswer(ReopenOutcome.NOT_ASKED, view)
    if status is Status.CLOSED:
        # Closed for good: its workflow is completing or done, so there is nothing to ask.
        return ReopenAnswer(ReopenOutcome.REFUSED, None, str(_closed(number)), True)
    try:
        reopened = await handle.execute_update(
            TicketUpdate.REOPEN,
            command,
            id=f"reopen-{message.message_id}",
            result_type=TicketView,
            rpc_timeout=UPDATE_TIMEOUT,
        )
    except WorkflowUpdateFailedError as error:
        ended = getattr(error.cause, "type", None) == ts.REOPEN_WINDOW_ENDED
        return ReopenAnswer(ReopenOutcome.REFUSED, None, refusal_message(error), ended)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        # The window ended and the workflow completed between the query and the update.
        return ReopenAnswer(ReopenOutcome.REFUSED, None, str(_closed(number)), True)
    return ReopenAnswer(ReopenOutcome.REOPENED, reopened)


def command_hash(principal: Principal, number: int, update: str, command: BaseModel) -> str:
    canonical = json.dumps(
        {
            "principal": principal.email,
            "number": number,
            "command": update,
            "body": command.model_dump(mode="json"),
        },
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def command_update_id(
    session: AsyncSession,
    principal: Principal,
    number: int,
    update: str,
    command: BaseModel,
    key: str | None,
) -> str | None:
    """The workflow update id of a command sent with an Idempotency-Key (None without):
    derived from the key, so Temporal runs it once; the key's first body is kept, and the
    same key with another body is a 409, as for opening tickets."""
    if key is None:
        return None
    row = {
        "principal": principal.email,
        "idempotency_key": key,
        "number": number,
        "command": update,
        "request_hash": command_hash(principal, number, update, command),
    }
    try:
        first = await write_in_one_go(session.bind, lambda db: _keep_command_key(db, row))
    except IntegrityError:  # a concurrent retry with this key was first
        first = await write_in_one_go(session.bind, lambda db: _keep_command_key(db, row))
    if first["request_hash"] != row["request_hash"]:
        raise Conflict(
            f"Idempotency-Key {key!r} was already used for a different request "
            f"({first['command']} on ticket {first['number']}); use a new key for a new command"
        )
    name = f"command:{principal.email}:{key}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _keep_command_key(db: Session, row: dict[str, Any]) -> dict[str, Any]:
    """The key's first command (this one, stored now, when the key is new): one transaction
    of Core statements."""
    connection = db.connection()
    stored = connection.execute(FIRST_COMMAND, row).first()
    if stored is not None:
        return dict(stored._mapping)
    connection.execute(KEEP_COMMAND, {**row, "created_at": utcnow()})
    return row


def message_id(principal: Principal, number: int, idempotency_key: str | None) -> str:
    """A client message's id: stable for a retried request with the same key."""
    if idempotency_key:
        name = f"{principal.email}:{number}:{idempotency_key}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    return str(uuid.uuid4())
