"""Saved replies (plantillas de respuesta): a table, and the form to create or edit one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.web import core, words
from api.web.console import staff_caller
from api.web.core import Caller, page, redirect
from api.web.ticket_pages import field_errors
from soporte import portal_paths
from soporte.services import saved_replies
from soporte.services.access import Action
from soporte.services.errors import ServiceError
from soporte.services.saved_replies import SavedReplyIn

router = APIRouter(include_in_schema=False)

ReplyId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def replies_page(
    request: Request,
    caller: Caller,
    editing: int | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    refusal: str = "",
    status_code: int = 200,
) -> Response:
    async with core.state_of(request).sessions() as session:
        replies = await saved_replies.list_replies(session, caller.principal)
        await session.commit()
    if values is None and editing is not None:
        current = next((r for r in replies if r.id == editing), None)
        if current is None:
            return await replies_page(request, caller, None, None, None, "", 404)
        values = {"title": current.title, "body": current.body}
    return page(
        request,
        "saved_replies.html",
        caller,
        status_code,
        section="saved_replies",
        replies=replies,
        editing=editing,
        values=values or {},
        errors=errors or {},
        refusal=refusal,
    )


@router.get(portal_paths.SAVED_REPLIES)
async def list_page(request: Request) -> Response:
    caller = await staff_caller(request, Action.USE_SAVED_REPLIES)
    return await replies_page(request, caller)


@router.get(portal_paths.SAVED_REPLIES + "/{reply_id}")
async def edit_page(request: Request, reply_id: ReplyId) -> Response:
    caller = await staff_caller(request, Action.USE_SAVED_REPLIES)
    return await replies_page(request, caller, reply_id)


async def save(request: Request, reply_id: int | None) -> Response:
    caller = await staff_caller(request, Action.USE_SAVED_REPLIES)
    form = await core.checked_form(request, caller)
    values = {"title": str(form.get("title") or ""), "body": str(form.get("body") or "")}
    try:
        data = SavedReplyIn.model_validate(values)
        async with core.state_of(request).sessions() as session:
            if reply_id is None:
                await saved_replies.create_reply(session, caller.principal, data)
            else:
                await saved_replies.update_reply(session, caller.principal, reply_id, data)
    except ValidationError as error:
        return await replies_page(request, caller, reply_id, values, field_errors(error), "", 422)
    except ServiceError as error:
        refusal = words.staff_refusal("save", error)
        errors = {"title": refusal} if error.status == 409 else {}
        return await replies_page(
            request, caller, reply_id, values, errors, refusal, min(error.status, 503)
        )
    return redirect(portal_paths.SAVED_REPLIES, "plantilla")


@router.post(portal_paths.SAVED_REPLIES)
async def create(request: Request) -> Response:
    return await save(request, None)


@router.post(portal_paths.SAVED_REPLIES + "/{reply_id}")
async def update(request: Request, reply_id: ReplyId) -> Response:
    return await save(request, reply_id)
