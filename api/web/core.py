"""What every portal page shares: templates, security headers, the signed-in person, CSRF.

Pages are server-rendered (Jinja2, autoescaped); a page's script is a static file
(the Content-Security-Policy allows no inline script). A state-changing form carries the
session's CSRF token (before sign-in: a random cookie's) and its Origin, when sent, must
be this site's. The session cookie is HttpOnly, SameSite=Lax, and Secure when
SOPORTE_PUBLIC_URL is https; it never carries an API token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData

from api.state import AppState
from api.web import words
from soporte import portal_paths
from soporte.services import access, portal_auth
from soporte.services.access import Action
from soporte.services.auth import Principal
from soporte.services.portal_auth import WebPrincipal
from soporte.settings import Settings

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
SESSION_COOKIE = "soporte_sesion"
PRE_SESSION_COOKIE = "soporte_pre"
CSRF_FIELD = "csrf"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; connect-src 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # no-referrer would make Chromium send `Origin: null`
    "Cache-Control": "no-store",
}
# Paths that are not the portal's (the API and the machine endpoints answer JSON or text).
NOT_PORTAL = ("/api/", "/docs", "/redoc", "/openapi.json", "/healthz", "/metrics")


def is_portal(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith(NOT_PORTAL) or path == "/api")


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(
    instant=words.instant,
    day=words.day,
    status_word=words.status_word,
    status_tone=words.status_tone,
    priority_label=words.priority_label,
    priority_meaning=words.priority_meaning,
    resolution_label=words.resolution_label,
    event_title=words.event_title,
    day_label=words.day_label,
    clock=words.clock,
)
environment.globals.update(paths=portal_paths, words=words)


class SignInRequired(Exception):
    """A page needs a signed-in person: go to sign-in, then back to `next_path`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class FormRefused(Exception):
    """A form failed its CSRF or Origin check (403 page)."""


@dataclass(frozen=True)
class Caller:
    web: WebPrincipal

    @property
    def principal(self) -> Principal:
        return self.web.principal

    @property
    def is_contact(self) -> bool:
        return self.web.principal.is_contact


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.soporte
    return state


def settings_of(request: Request) -> Settings:
    return state_of(request).settings


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def optional_caller(request: Request) -> Caller | None:
    if hasattr(request.state, "caller"):
        cached: Caller | None = request.state.caller
        return cached
    cookie = request.cookies.get(SESSION_COOKIE, "")
    caller = None
    if cookie:
        state = state_of(request)
        async with state.sessions() as session:
            web = await portal_auth.current(session, state.settings, cookie)
        caller = Caller(web) if web is not None else None
    request.state.caller = caller
    return caller


def here(request: Request) -> str:
    path = request.url.path
    return f"{path}?{request.url.query}" if request.url.query else path


def back_after_post(request: Request) -> str:
    """Where a form posted while signed out came from (this site's pages only)."""
    referer = request.headers.get("referer", "")
    if referer and _origin(referer) in allowed_origins(request):
        parts = urlsplit(referer)
        return f"{parts.path}?{parts.query}" if parts.query else parts.path
    return portal_paths.HOME


async def signed_in(request: Request) -> Caller:
    """The signed-in person, or off to sign-in (and back here afterwards)."""
    caller = await optional_caller(request)
    if caller is None:
        raise SignInRequired(here(request) if request.method == "GET" else back_after_post(request))
    return caller


def sign_in_redirect(next_path: str) -> RedirectResponse:
    target = portal_paths.SIGN_IN
    safe = portal_auth.safe_next(next_path)
    if safe != "/":
        target += "?siguiente=" + quote(safe, safe="")
    return RedirectResponse(target, status_code=303)


# --- Forms: Origin and CSRF ----------------------------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(request: Request) -> set[str]:
    """The public URL's origin and this request's own (a same-origin post is never CSRF)."""
    return {_origin(settings_of(request).public_url), _origin(str(request.base_url))}


def check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        origin = _origin(referer) if referer else None
    if origin is not None and origin.lower() not in allowed_origins(request):
        raise FormRefused("cross-site form")


def pre_session_token(request: Request) -> str:
    """The CSRF token of a signed-out visitor (a random cookie, set with the page)."""
    token = request.cookies.get(PRE_SESSION_COOKIE, "")
    if len(token) < 20:
        token = getattr(request.state, "new_pre_session", "") or secrets.token_urlsafe(24)
        request.state.new_pre_session = token
    return token


async def checked_form(request: Request, caller: Caller | None) -> FormData:
    """The posted form, once its Origin and CSRF token are this site's and this person's."""
    check_origin(request)
    form = await request.form(max_files=10, max_fields=100)
    given = form.get(CSRF_FIELD)
    expected = caller.web.csrf if caller is not None else request.cookies.get(PRE_SESSION_COOKIE)
    if not expected or not portal_auth.csrf_matches(expected, str(given or "")):
        raise FormRefused("missing or wrong CSRF token")
    return form


# --- Responses --------------------------------------------------------------------------------


def set_cookie(response: Response, settings: Settings, name: str, value: str, **extra: Any) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
        **extra,
    )


def secure(response: Response, request: Request | None = None) -> Response:
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    new_pre = getattr(request.state, "new_pre_session", "") if request is not None else ""
    if new_pre and request is not None:
        set_cookie(response, settings_of(request), PRE_SESSION_COOKIE, new_pre)
    return response


def page(
    request: Request,
    template: str,
    caller: Caller | None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    csrf = caller.web.csrf if caller is not None else pre_session_token(request)
    body = environment.get_template(template).render(
        request=request,
        caller=caller,
        principal=caller.principal if caller else None,
        roles={role.value for role in caller.principal.roles} if caller else set(),
        can=lambda name: caller is not None and access.may(caller.principal, Action[name]),
        csrf=csrf,
        flash=words.NOTICES.get(request.query_params.get("aviso", ""), ""),
        **context,
    )
    return secure(HTMLResponse(body, status_code=status_code), request)


def redirect(path: str, notice: str = "", fragment: str = "") -> Response:
    """303 to a local page; `notice` names one of words.NOTICES (never free text)."""
    target = path if not notice else f"{path}{'&' if '?' in path else '?'}aviso={quote(notice)}"
    target += f"#{fragment}" if fragment else ""
    return secure(RedirectResponse(target, status_code=303))
