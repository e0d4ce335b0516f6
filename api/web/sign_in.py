"""Sign-in by an emailed one-time link, and sign-out.

GET of the mailed link only shows a button: mail scanners that follow links must not
spend a one-time link; the POST spends it and opens the session.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Request
from fastapi.responses import Response

from api.web import core
from api.web.core import Caller, optional_caller, page, redirect, signed_in
from soporte import portal_paths
from soporte.services import portal_auth
from soporte.services.errors import TooManyRequests

router = APIRouter(include_in_schema=False)

Token = Annotated[str, Path(min_length=10, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


def home_of(caller: Caller) -> str:
    return portal_paths.TICKETS if caller.is_contact else portal_paths.STAFF_HOME


@router.get(portal_paths.HOME)
async def home(request: Request) -> Response:
    caller = await signed_in(request)
    return redirect(home_of(caller))


@router.get(portal_paths.SIGN_IN)
async def sign_in_form(request: Request, siguiente: str = "") -> Response:
    caller = await optional_caller(request)
    if caller is not None:
        return redirect(portal_auth.safe_next(siguiente) if siguiente else home_of(caller))
    return page(request, "sign_in.html", None, next_path=portal_auth.safe_next(siguiente), email="")


@router.post(portal_paths.SIGN_IN)
async def ask_for_link(request: Request, background: BackgroundTasks) -> Response:
    form = await core.checked_form(request, None)
    email = str(form.get("email") or "").strip()
    next_path = portal_auth.safe_next(str(form.get("siguiente") or ""))
    if not email or "@" not in email or len(email) > 254:
        error = "Escriba su correo electrónico, como nombre@empresa.com."
        return page(
            request, "sign_in.html", None, 422, next_path=next_path, email=email, error=error
        )
    state = core.state_of(request)
    try:
        async with state.sessions() as session:
            link = await portal_auth.request_link(
                session, state.settings, email, core.client_ip(request), next_path
            )
    except TooManyRequests:
        return page(
            request, "sign_in.html", None, 429, next_path=next_path, email=email, limited=True
        )
    if link is not None:  # mailed after the answer: known and unknown look the same
        background.add_task(portal_auth.send_link, state.settings, link)
    return page(request, "sign_in_sent.html", None, email=email)


@router.get(portal_paths.SIGN_IN_LINK + "/{token}")
async def link_page(request: Request, token: Token) -> Response:
    state = core.state_of(request)
    async with state.sessions() as session:
        usable = await portal_auth.link_is_usable(session, token)
    if not usable:
        return page(request, "sign_in_refused.html", None, 410)
    return page(request, "sign_in_confirm.html", None, token=token)


@router.post(portal_paths.SIGN_IN_LINK + "/{token}")
async def use_link(request: Request, token: Token) -> Response:
    await core.checked_form(request, None)
    state = core.state_of(request)
    previous = await optional_caller(request)
    async with state.sessions() as session:
        opened = await portal_auth.use_link(
            session,
            state.settings,
            token,
            core.client_ip(request),
            request.headers.get("user-agent", ""),
        )
        if opened is not None and previous is not None:
            await portal_auth.end_session(session, previous.web.session_id)
    if opened is None:
        return page(request, "sign_in_refused.html", None, 410)
    response = redirect(opened.next_path)
    core.set_cookie(response, state.settings, core.SESSION_COOKIE, opened.cookie)
    response.delete_cookie(core.PRE_SESSION_COOKIE, path="/")
    return response


@router.post(portal_paths.SIGN_OUT)
async def sign_out(request: Request) -> Response:
    caller = await optional_caller(request)
    if caller is None:
        return redirect(portal_paths.SIGN_IN)
    await core.checked_form(request, caller)
    state = core.state_of(request)
    async with state.sessions() as session:
        await portal_auth.end_session(session, caller.web.session_id)
    response = redirect(portal_paths.SIGN_IN, "salida")
    response.delete_cookie(core.SESSION_COOKIE, path="/")
    return response
