"""`/confirmar/{token}`: the link mailed to a contact whose new email request is held
because its sender was not verified (README "Who sees what / sender trust").

GET only shows a button, so a mail scanner that follows links confirms nothing; the POST
(CSRF and Origin checked) calls the same service as staff's confirmation, and the ticket
opens, with its clock, then.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.deps import email_intake
from api.web import core
from api.web.core import optional_caller, page
from soporte import portal_paths
from soporte.services.errors import Conflict, NotFound

router = APIRouter(include_in_schema=False)

# `<row>.<mac>` (soporte.email.secret.confirmation_token); anything else is no link of ours.
Token = Annotated[str, Path(max_length=80, pattern=r"^[0-9]{1,11}\.[a-z2-7]{1,64}$")]


@router.get(portal_paths.CONFIRM_REQUEST + "/{token}")
async def confirmation_page(request: Request, token: Token) -> Response:
    caller = await optional_caller(request)
    return page(request, "confirm_request.html", caller, token=token)


@router.post(portal_paths.CONFIRM_REQUEST + "/{token}")
async def confirm_request(request: Request, token: Token) -> Response:
    caller = await optional_caller(request)
    await core.checked_form(request, caller)
    try:
        result = await email_intake(core.state_of(request), request).confirm(token)
    except NotFound:
        return page(request, "confirm_request.html", caller, 404, token=token, problem="link")
    except Conflict:
        return page(request, "confirm_request.html", caller, 409, token=token, problem="contact")
    return page(request, "confirm_request.html", caller, token=token, number=result.number)
