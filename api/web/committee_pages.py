"""The committee's pages: the open session's agenda (each requirement's client,
description and evidence) with the decision form, past sessions as minutes, and the
button that starts an extraordinary session. Reads and commands go through
soporte.services.committee, as the API's routes do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.web import core, words
from api.web.console import staff_caller
from api.web.core import Caller, page, redirect
from api.web.ticket_pages import field_errors, people_names
from soporte import portal_paths
from soporte.policy.committee import DecisionKind, SessionStatus, SessionView
from soporte.policy.tickets import TicketView
from soporte.services import access, attachments, committee, tickets
from soporte.services.access import Action
from soporte.services.committee import DecisionRequest
from soporte.services.errors import InvalidInput, NotFound, ServiceError
from soporte.services.schemas import AttachmentOut

router = APIRouter(include_in_schema=False)

SessionId = Annotated[str, Path(pattern=r"^committee-[A-Za-z0-9_:.+-]{1,180}$")]
PAST_SESSIONS = 20


@dataclass
class AgendaEntry:
    number: int
    subject: str
    client_name: str
    filed_at: Any
    view: TicketView | None
    files: list[AttachmentOut]
    decided: Any = None


@dataclass
class CommitteePage:
    current: SessionView | None
    agenda: list[AgendaEntry]
    past: list[SessionView]
    names: dict[str, str]
    can_decide: bool
    can_start: bool
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    refusal: str = ""
    today: date = field(default_factory=date.today)


async def agenda_of(request: Request, caller: Caller, current: SessionView) -> list[AgendaEntry]:
    state = core.state_of(request)
    decided = {d.number: d for d in current.decisions}
    entries = []
    async with state.sessions() as session:
        for item in current.agenda:
            try:
                view = await tickets.projected_view(session, item.number)
                files = await attachments.list_attachments(session, caller.principal, item.number)
            except NotFound:
                view, files = None, []
            entries.append(
                AgendaEntry(
                    number=item.number,
                    subject=item.subject,
                    client_name=item.client_name,
                    filed_at=item.filed_at,
                    view=view,
                    files=files,
                    decided=decided.get(item.number),
                )
            )
        await session.commit()
    return entries


async def committee_data(request: Request, caller: Caller) -> CommitteePage:
    state = core.state_of(request)
    principal = caller.principal
    async with state.sessions() as session:
        try:
            current: SessionView | None = await committee.current_session(
                session, await state.temporal(), principal
            )
        except NotFound:
            current = None
        listed = await committee.list_sessions(session, principal, PAST_SESSIONS + 1)
        past = [s for s in listed if current is None or s.session_id != current.session_id]
        people = {
            d.decided_by for s in [*past, *([current] if current else [])] for d in s.decisions
        }
        people |= {s.started_by for s in [*past, *([current] if current else [])]}
        names = await people_names(session, people)
        await session.commit()
    agenda = await agenda_of(request, caller, current) if current else []
    return CommitteePage(
        current=current,
        agenda=agenda,
        past=[s for s in past if s.status is SessionStatus.CLOSED][:PAST_SESSIONS],
        names=names,
        can_decide=access.may(principal, Action.DECIDE),
        can_start=access.may(principal, Action.START_SESSION),
    )


def show(request: Request, caller: Caller, data: CommitteePage, status_code: int = 200) -> Response:
    return page(
        request,
        "committee.html",
        caller,
        status_code,
        section="committee",
        c=data,
        decisions=list(DecisionKind),
    )


@router.get(portal_paths.COMMITTEE)
async def committee_page(request: Request) -> Response:
    caller = await staff_caller(request)
    return show(request, caller, await committee_data(request, caller))


@router.post(portal_paths.COMMITTEE + "/sesiones")
async def start_session(request: Request) -> Response:
    caller = await staff_caller(request, Action.START_SESSION)
    await core.checked_form(request, caller)
    state = core.state_of(request)
    try:
        async with state.sessions() as session:
            await committee.start_session(
                session, await state.temporal(), state.settings, caller.principal
            )
    except ServiceError as error:
        data = await committee_data(request, caller)
        data.refusal = words.staff_refusal("start_session", error)
        return show(request, caller, data, min(error.status, 503))
    return redirect(portal_paths.COMMITTEE, "sesion_comite")


@router.post(portal_paths.COMMITTEE + "/{session_id}/decisiones")
async def decide(request: Request, session_id: SessionId) -> Response:
    caller = await staff_caller(request, Action.DECIDE)
    form = await core.checked_form(request, caller)
    typed = {
        name: str(form.get(name) or "")
        for name in ("number", "decision", "estimated_delivery", "reason")
    }
    number = typed["number"]
    state = core.state_of(request)
    try:
        data = DecisionRequest.model_validate(
            {
                "number": number or None,
                "decision": typed["decision"] or None,
                "estimated_delivery": typed["estimated_delivery"] or None,
                "reason": typed["reason"].strip() or None,
            }
        )
        async with state.sessions() as session:
            await committee.decide(
                session, await state.temporal(), caller.principal, session_id, data
            )
    except (ServiceError, ValidationError) as error:
        page_data = await committee_data(request, caller)
        page_data.values = {f"{number}.{k}": v for k, v in typed.items()}
        if isinstance(error, ValidationError):
            page_data.errors = {f"{number}.{k}": v for k, v in field_errors(error).items()}
            return show(request, caller, page_data, 422)
        message = words.staff_refusal("decide", error)
        if isinstance(error, InvalidInput):
            page_data.errors = {f"{number}.{error.field}": message}
        else:
            page_data.errors = {f"{number}.form": message}
        return show(request, caller, page_data, min(error.status, 503))
    return redirect(portal_paths.COMMITTEE, "decision", f"req-{number}")
