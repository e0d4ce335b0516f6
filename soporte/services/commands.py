"""What each ticket command needs: who may send it, and the workflow message it becomes."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client as TemporalClient

from soporte.db.models import Staff
from soporte.policy import Visibility
from soporte.policy.names import TicketUpdate
from soporte.policy.tickets import (
    AbandonCommand,
    AssignCommand,
    ClientMessage,
    EngineerMessage,
    PriorityCommand,
    RatingCommand,
    ReopenCommand,
    RequestInfoCommand,
    ResolveCommand,
    TicketView,
)
from soporte.services import tickets
from soporte.services.access import WORKING_ROLES, Action, check
from soporte.services.auth import Principal
from soporte.services.errors import InvalidInput
from soporte.services.intake import check_idempotency_key
from soporte.services.schemas import (
    AssignRequest,
    MessageCreate,
    PriorityRequest,
    RatingRequest,
    ReasonRequest,
    RequestInfoRequest,
    ResolveRequest,
)


async def post_message(
    session: AsyncSession,
    temporal: TemporalClient,
    principal: Principal,
    number: int,
    data: MessageCreate,
    idempotency_key: str | None = None,
) -> TicketView:
    key = check_idempotency_key(idempotency_key)
    await tickets.check_visible(session, principal, number)
    if principal.is_contact:
        if data.visibility != Visibility.PUBLIC:
            raise InvalidInput("visibility", "contacts write public messages only")
        message = ClientMessage(
            message_id=tickets.message_id(principal, number, key),
            author_email=principal.email,
            body=data.body,
        )
        # The same key with another body is a 409 here too (the message id dedupes retries).
        await tickets.command_update_id(session, principal, number, "message", message, key)
        return await tickets.send_client_message(temporal, number, message)
    check(principal, Action.WRITE_ON_TICKET)
    reply = EngineerMessage(
        author_email=principal.email, body=data.body, visibility=data.visibility
    )
    return await tickets.run_keyed_update(
        session, temporal, principal, number, TicketUpdate.REPLY, reply, key
    )


async def _staff_command(
    session: AsyncSession, principal: Principal, number: int, action: Action
) -> None:
    await tickets.check_visible(session, principal, number)
    check(principal, action)


async def assign(
    session: AsyncSession,
    temporal: TemporalClient,
    principal: Principal,
    number: int,
    data: AssignRequest,
    idempotency_key: str | None = None,
) -> TicketView:
    key = check_idempotency_key(idempotency_key)
    await _staff_command(session, principal, number, Action.ASSIGN)
    staff = await session.scalar(select(Staff).where(Staff.email == data.engineer_email))
    await session.commit()
    if staff is None or not staff.active or not set(staff.roles) & {r.value for r in WORKING_ROLES}:
        raise InvalidInput(
            "engineer_email", f"{data.engineer_email} is not an active engineer or supervisor"
        )
    command = AssignCommand(actor_email=principal.email, engineer_email=data.engineer_email)
    return await tickets.run_keyed_update(
        session, temporal, principal, number, TicketUpdate.ASSIGN, command, key
    )


async def _staff_update(
    session: AsyncSession,
    temporal: TemporalClient,
    principal: Principal,
    number: int,
    action: Action,
    update: TicketUpdate,
    command: BaseModel,
    idempotency_key: str | None,
) -> TicketView:
    """A command only engineers and supervisors send, on a ticket they can see."""
    key = check_idempotency_key(idempotency_key)
    await _staff_command(session, principal, number, action)
    return await tickets.run_keyed_update(
        session, temporal, principal, number, update, command, key
    )


async def change_priority(
    session: AsyncSession,
    temporal: TemporalClient,
    principal: Principal,
    number: int,
    data: PriorityRequest,
    idempotency_key: str | None = None,
) -> TicketView:
    command = PriorityCommand(
        actor_email=principal.email, priority=data.priority, reason=data.reason
    )
    action = Action.CHANGE_PRIORITY
    return await _staff_update(
        session,
        temporal,
        principal,
        number,
        action,
        TicketUpdate.CHANGE_PRIORITY,
        command,
        idempotency_key,
    )


async def request_info(
    session: AsyncSession,
    temporal: TemporalClient,
    principal: Principal,
    number: int,
    data: RequestInfoRequest,
    idempotency_key: str | None = None,
) -> TicketView:
    command = RequestInfoCommand(actor_email=principal.email, body=data.body)
    action = Action.REQUEST_INFO
    return await _staff_update(
        session,
        temporal,
        principal,
        number,
        action,
        TicketUpdate.REQUEST_INFO,
        command,
        idempotency_key,
    )


async def resolve(
    session: AsyncSession,
    temporal: TemporalClient,
    principal: Principal,
    number: int,
    data: ResolveRequest,
    idempotency_key: str | None = None,
) -> TicketView:
    command = ResolveCommand(actor_email=principal.email, kind=data.kind, body=data.body)
    return await _staff_update(
        session,
        temporal,
        principal,
        number,
        Action.RESOLVE,
        TicketUpdate.RESOLVE,
        command,
        idempotency_key,
    )


async def abandon(
    session: AsyncSession,
    temporal: TemporalClient,
    principal: Principal,
    number: int,
    data: ReasonRequest,
    idempotency_key: str | None = None,
) -> TicketView:
    command = AbandonCommand(actor_email=principal.email, reason=data.reason)
    action = Action.ABANDON
    return await _staff_update(
        session, temporal, principal, number, action, TicketUpdate.ABANDON, command, idempotency_key
    )


async def reopen(
    session: AsyncSession,
    temporal: TemporalClient,
    principal: Principal,
    number: int,
    data: ReasonRequest,
    idempotency_key: str | None = None,
) -> TicketView:
    key = check_idempotency_key(idempotency_key)
    await tickets.check_visible(session, principal, number)
    check(principal, Action.REOPEN)
    command = ReopenCommand(actor_email=principal.email, reason=data.reason)
    return await tickets.run_keyed_update(
        session, temporal, principal, number, TicketUpdate.REOPEN, command, key
    )


async def rate(
    session: AsyncSession,
    temporal: TemporalClient,
    principal: Principal,
    number: int,
    data: RatingRequest,
    idempotency_key: str | None = None,
) -> TicketView:
    key = check_idempotency_key(idempotency_key)
    await tickets.check_visible(session, principal, number)
    check(principal, Action.RATE)
    command = RatingCommand(actor_email=principal.email, score=data.score, comment=data.comment)
    return await tickets.run_keyed_update(
        session, temporal, principal, number, TicketUpdate.RATE, command, key
    )
