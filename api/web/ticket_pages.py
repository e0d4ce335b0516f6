"""The pages of a ticket: the list, the ticket, its forms (reply, reopen, rate), downloads.

Every page asks the same services as the API routes (soporte.services.tickets, commands,
attachments): a contact reaches its own client's tickets only, a foreign one is a 404 page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, UploadFile

from api.web import core, words
from api.web.core import Caller, page, redirect, signed_in
from api.web.staff_tools import StaffTools, staff_tools
from soporte import portal_paths
from soporte.db.models import Contact, Staff, Ticket
from soporte.policy import Kind, Status, Visibility
from soporte.policy.evidence import sniff_content_type
from soporte.policy.tickets import TicketView
from soporte.schedules import next_committee_runs
from soporte.services import attachments, commands, tickets
from soporte.services.errors import InvalidInput, ServiceError
from soporte.services.intake import stored_input
from soporte.services.schemas import (
    AttachmentOut,
    LogEntry,
    MessageCreate,
    RatingRequest,
    ReasonRequest,
)
from soporte.services.views import render_log

router = APIRouter(include_in_schema=False)

Number = Annotated[int, Path(ge=1, le=2**31 - 1)]
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
PAGE_SIZE = 100
STAFF_SUFFIX = " · Soporte BTW"
MAX_FILES = 5
CHUNK = 64 * 1024


# --- Field errors, as each form shows them -------------------------------------------------


def field_errors(error: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in error.errors():
        loc = [str(part) for part in item.get("loc", ())]
        name = loc[0] if loc else "form"
        found.setdefault(name, words.field_message(dict(item)))
    return found


async def chunks_of(upload: UploadFile) -> AsyncIterator[bytes]:
    await upload.seek(0)
    while chunk := await upload.read(CHUNK):
        yield chunk


def uploads_in(form: FormData, name: str) -> list[UploadFile]:
    return [
        item
        for item in form.getlist(name)
        if isinstance(item, UploadFile) and item.filename and (item.size is None or item.size > 0)
    ]


async def evidence_problem(files: list[UploadFile]) -> str | None:
    """The form's word for files the attachment rules would refuse (checked before use)."""
    if len(files) > MAX_FILES:
        return f"Adjunte como máximo {MAX_FILES} archivos."
    for upload in files:
        head = await upload.read(attachments.SNIFF_BYTES)
        await upload.seek(0)
        name = attachments.safe_filename(upload.filename)
        if sniff_content_type(head) is None:
            return f"«{name}» no es una imagen (PNG, JPEG, GIF o WebP) ni un PDF."
        if upload.size is not None and upload.size > attachments.MAX_BYTES:
            megas = attachments.MAX_BYTES // (1024 * 1024)
            return f"«{name}» pesa más de {megas} MB."
    return None


# --- The list -----------------------------------------------------------------------------


@dataclass
class Row:
    view: TicketView
    own: bool

    @property
    def next_due(self) -> datetime | None:
        sla = self.view.sla
        if self.view.status in (Status.RESOLVED, Status.CLOSED) or sla.paused:
            return None
        if sla.first_responded_at is None and sla.first_response_due is not None:
            return sla.first_response_due
        return sla.resolution_due


async def views_of(session: AsyncSession, numbers: list[int]) -> dict[int, TicketView]:
    if not numbers:
        return {}
    rows = await session.execute(
        select(Ticket.number, Ticket.view).where(Ticket.number.in_(numbers))
    )
    return {number: TicketView.model_validate(view) for number, view in rows.all()}


def status_filter(raw: str) -> Status | None:
    try:
        return Status(raw) if raw else None
    except ValueError:
        return None


async def ticket_rows(
    session: AsyncSession, caller: Caller, status: Status | None, offset: int
) -> tuple[list[Row], int]:
    filters = tickets.TicketFilters(status=status)
    found = await tickets.list_tickets(session, caller.principal, filters, PAGE_SIZE, offset)
    views = await views_of(session, [item.number for item in found.items])
    await session.commit()
    me = caller.principal.email
    rows = [
        Row(view=views[item.number], own=views[item.number].reporter_email == me)
        for item in found.items
        if item.number in views
    ]
    rows.sort(key=lambda row: not row.own)  # the contact's own first, newest first in each
    return rows, found.total


@router.get(portal_paths.TICKETS)
async def ticket_list(request: Request, estado: str = "", desde: int = 0) -> Response:
    caller = await signed_in(request)
    status = status_filter(estado)
    offset = max(0, min(desde, 1_000_000))
    async with core.state_of(request).sessions() as session:
        rows, total = await ticket_rows(session, caller, status, offset)
    return page(
        request,
        "tickets.html",
        caller,
        rows=rows,
        total=total,
        status=status,
        statuses=list(Status),
        offset=offset,
        page_size=PAGE_SIZE,
    )


# --- The ticket page ------------------------------------------------------------------------


@dataclass
class Waiting:
    asked: str
    since: datetime | None
    deadline: datetime | None
    attempts: int
    booking: bool
    # From the ticket's own policy: the days until it is resolved without reply, and the
    # number of attempts (the request and its reminders).
    days: int = 0
    max_attempts: int = 0


@dataclass
class TicketPage:
    view: TicketView
    log: list[LogEntry]
    files: list[AttachmentOut]
    names: dict[str, str]
    waiting: Waiting | None
    can_reply: bool
    can_reopen: bool
    can_rate: bool
    can_book: bool
    next_committee: datetime | None
    decision: LogEntry | None
    released_slot: datetime | None
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    refusal: str = ""
    staff: StaffTools | None = None
    # The form that came back refused: shown again with what was typed, whatever the state.
    action: str = ""


async def people_names(session: AsyncSession, emails: set[str]) -> dict[str, str]:
    if not emails:
        return {}
    staff = await session.execute(select(Staff.email, Staff.name).where(Staff.email.in_(emails)))
    names = {email: f"{name}{STAFF_SUFFIX}" for email, name in staff.all()}
    contacts = await session.execute(
        select(Contact.email, Contact.name).where(Contact.email.in_(emails))
    )
    names.update({email: name for email, name in contacts.all()})
    return names


def waiting_of(view: TicketView, log: list[LogEntry], policy: Any) -> Waiting | None:
    """The banner while we wait on the client: what we asked, since when, until when."""
    booking = view.status is Status.SCHEDULING
    if view.status is not Status.WAITING_ON_CLIENT and not booking:
        return None
    start_types = ("booking_link_sent",) if booking else ("info_requested",)
    started = next((e for e in reversed(log) if e.type in start_types), None)
    since = started.at if started else None
    abandon_after = policy.abandon_after if policy is not None else None
    deadline = since + abandon_after if since is not None and abandon_after else None
    asked = started.body if started and not booking else ""
    return Waiting(
        asked=asked,
        since=since,
        deadline=deadline,
        attempts=max(view.waiting_attempts, 1),
        booking=booking,
        days=abandon_after.days if abandon_after else 0,
        max_attempts=1 + len(policy.reminder_offsets) if policy is not None else 0,
    )


async def next_session(request: Request) -> datetime | None:
    try:
        runs = await next_committee_runs(await core.state_of(request).temporal())
    except Exception:  # the page shows the rest; the date is a courtesy
        return None
    return min(runs) if runs else None


async def ticket_page_data(request: Request, caller: Caller, number: int) -> TicketPage:
    state = core.state_of(request)
    principal = caller.principal
    async with state.sessions() as session:
        view = await tickets.read_ticket(session, state.temporal, principal, number)
        intake = await tickets.find_ticket(session, principal, number)
        log = render_log(await tickets.read_log(session, principal, number), principal)
        files = await attachments.list_attachments(session, principal, number)
        names = await people_names(session, {entry.actor for entry in log} | {view.reporter_email})
        ticket_input = stored_input(intake)
        policy = ticket_input.policy if ticket_input else None
        tools = None
        if not caller.is_contact:
            tools = await staff_tools(session, principal, view, policy)
            names.update({email: f"{name}{STAFF_SUFFIX}" for email, name in tools.engineers})
        await session.commit()
    now = datetime.now(UTC)
    open_statuses = (Status.RESOLVED, Status.CLOSED)
    resolved = view.status is Status.RESOLVED
    decisions = [e for e in log if e.type == "committee_decision"]
    pending = view.kind is Kind.REQUIREMENT and view.status is Status.PENDING_COMMITTEE
    return TicketPage(
        view=view,
        log=log,
        files=files,
        names=names,
        waiting=waiting_of(view, log, policy),
        can_reply=view.status not in open_statuses,
        can_reopen=resolved and view.reopen_until is not None and now < view.reopen_until,
        can_rate=resolved and view.rating is None and caller.is_contact,
        can_book=view.kind is Kind.ADVISORY
        and view.status in (Status.SCHEDULING, Status.SCHEDULED),
        next_committee=await next_session(request) if pending else None,
        decision=decisions[-1] if decisions else None,
        released_slot=None,
        staff=tools,
    )


def show_ticket(
    request: Request, caller: Caller, data: TicketPage, status_code: int = 200
) -> Response:
    return page(request, "ticket.html", caller, status_code, t=data, view=data.view)


@router.get(portal_paths.TICKETS + "/{number}")
async def ticket_page(request: Request, number: Number) -> Response:
    caller = await signed_in(request)
    return show_ticket(request, caller, await ticket_page_data(request, caller, number))


async def refused(
    request: Request,
    caller: Caller,
    number: int,
    error: ServiceError | ValidationError,
    values: dict[str, str],
    action: str,
) -> Response:
    """The ticket page again, with the refusal in Spanish and what was typed kept."""
    data = await ticket_page_data(request, caller, number)
    data.values, data.action = values, action
    if isinstance(error, ValidationError):
        data.errors = {f"{action}.{k}": v for k, v in field_errors(error).items()}
        return show_ticket(request, caller, data, 422)
    if isinstance(error, InvalidInput) and not caller.is_contact:
        data.errors = {f"{action}.{error.field}": words.staff_refusal(action, error, data.view)}
    word = words.refusal if caller.is_contact else words.staff_refusal
    data.refusal = word(action, error, data.view)
    return show_ticket(request, caller, data, error.status if error.status < 500 else 503)


@router.post(portal_paths.TICKETS + "/{number}/responder")
async def reply(request: Request, number: Number) -> Response:
    caller = await signed_in(request)
    form = await core.checked_form(request, caller)
    body = str(form.get("body") or "")
    internal = not caller.is_contact and form.get("visibility") == Visibility.INTERNAL.value
    visibility = Visibility.INTERNAL if internal else Visibility.PUBLIC
    files = uploads_in(form, "files")
    values = {"reply.body": body, "reply.visibility": visibility.value}
    state = core.state_of(request)
    if form.get("insertar") is not None and not caller.is_contact:
        return await with_saved_reply(request, caller, number, values, str(form.get("plantilla")))
    try:
        problem = await evidence_problem(files)
        if problem:
            data = await ticket_page_data(request, caller, number)
            data.values, data.errors = values, {"reply.files": problem}
            return show_ticket(request, caller, data, 422)
        async with state.sessions() as session:
            if files:
                for index, upload in enumerate(files):
                    await attachments.upload(
                        session,
                        await state.temporal(),
                        state.settings,
                        caller.principal,
                        number,
                        upload.filename,
                        chunks_of(upload),
                        body=body if index == 0 else None,
                        visibility=visibility,
                    )
            else:
                data_in = MessageCreate(body=body.strip(), visibility=visibility)
                await commands.post_message(
                    session, await state.temporal(), caller.principal, number, data_in
                )
    except (ServiceError, ValidationError) as error:
        return await refused(request, caller, number, error, values, "reply")
    notice = "respuesta" if visibility is Visibility.PUBLIC else "nota"
    return redirect(portal_paths.ticket(number), notice, "historial")


async def with_saved_reply(
    request: Request, caller: Caller, number: int, values: dict[str, str], chosen: str
) -> Response:
    """The page again (no script): the saved reply added to what was typed, nothing sent."""
    data = await ticket_page_data(request, caller, number)
    replies = {str(r.id): r.body for r in (data.staff.replies if data.staff else [])}
    typed = values["reply.body"].rstrip()
    if chosen in replies:
        values["reply.body"] = f"{typed}\n\n{replies[chosen]}" if typed else replies[chosen]
        values["reply.plantilla"] = chosen
    else:
        data.errors = {"reply.plantilla": "Elija una plantilla de la lista."}
    data.values = values
    return show_ticket(request, caller, data, 200 if chosen in replies else 422)


@router.post(portal_paths.TICKETS + "/{number}/reabrir")
async def reopen(request: Request, number: Number) -> Response:
    caller = await signed_in(request)
    form = await core.checked_form(request, caller)
    reason = str(form.get("reason") or "").strip()
    state = core.state_of(request)
    try:
        data_in = ReasonRequest(reason=reason)
        async with state.sessions() as session:
            await commands.reopen(
                session, await state.temporal(), caller.principal, number, data_in
            )
    except (ServiceError, ValidationError) as error:
        return await refused(request, caller, number, error, {"reopen.reason": reason}, "reopen")
    return redirect(portal_paths.ticket(number), "reabierta")


@router.get(portal_paths.TICKETS + "/{number}/calificar")
async def rating_page(request: Request, number: Number) -> Response:
    caller = await signed_in(request)
    data = await ticket_page_data(request, caller, number)
    return page(request, "rating.html", caller, t=data, view=data.view)


@router.post(portal_paths.TICKETS + "/{number}/calificar")
async def rate(request: Request, number: Number) -> Response:
    caller = await signed_in(request)
    form = await core.checked_form(request, caller)
    score = str(form.get("score") or "")
    comment = str(form.get("comment") or "")
    values = {"rate.score": score, "rate.comment": comment}
    state = core.state_of(request)
    try:
        data_in = RatingRequest.model_validate({"score": score or None, "comment": comment})
        async with state.sessions() as session:
            await commands.rate(session, await state.temporal(), caller.principal, number, data_in)
    except (ServiceError, ValidationError) as error:
        if isinstance(error, ValidationError):
            data = await ticket_page_data(request, caller, number)
            data.values = values
            data.errors = {f"rate.{k}": v for k, v in field_errors(error).items()}
            if "rate.score" in data.errors:
                data.errors["rate.score"] = "Elija una calificación de 1 a 5."
            return page(request, "rating.html", caller, 422, t=data, view=data.view)
        return await refused(request, caller, number, error, values, "rate")
    return redirect(portal_paths.ticket(number), "calificada")


@router.get(portal_paths.TICKETS + "/{number}/adjuntos/{sha256}")
async def download(request: Request, number: Number, sha256: Sha256) -> Response:
    caller = await signed_in(request)
    state = core.state_of(request)
    async with state.sessions() as session:
        found = await attachments.download(
            session, state.settings, caller.principal, number, sha256
        )
        await session.commit()
    return FileResponse(
        found.path,
        media_type=found.content_type,
        filename=found.filename,
        content_disposition_type="attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
