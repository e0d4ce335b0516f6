"""The registry (admin only): clients (NIT with its check digit, active, consultant) and
their contacts, staff and their roles, API tokens (the secret shown once, revocable) and
the portal's sessions (list, revoke). Through soporte.services.registry, auth and
portal_auth, as the API's admin routes; every change is audited there."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.web import core, words
from api.web.console import staff_caller
from api.web.core import Caller, page, redirect
from api.web.ticket_pages import field_errors
from soporte import portal_paths
from soporte.policy import Role
from soporte.services import access, auth, portal_auth, registry
from soporte.services.access import Action
from soporte.services.errors import InvalidInput, NotFound, ServiceError
from soporte.services.schemas import (
    ClientCreate,
    ClientUpdate,
    ContactCreate,
    ContactUpdate,
    StaffCreate,
    StaffUpdate,
)

router = APIRouter(include_in_schema=False)

BASE = portal_paths.REGISTRY
NitPath = Annotated[str, Path(min_length=3, max_length=30, pattern=r"^[0-9.\- ]+$")]
EmailPath = Annotated[str, Path(min_length=3, max_length=254, pattern=r"^[^/\s]+@[^/\s]+$")]
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
# The roles a staff member may hold, in the order the form shows them.
STAFF_ROLES = tuple(sorted(access.STAFF_ROLES, key=list(Role).index))
TABS = {
    "clients": ("Clientes", BASE),
    "staff": ("Personal", f"{BASE}/personal"),
    "tokens": ("Tokens de la API", f"{BASE}/tokens"),
    "sessions": ("Sesiones del portal", f"{BASE}/sesiones"),
}


async def admin(request: Request) -> Caller:
    return await staff_caller(request, Action.MANAGE_REGISTRY)


def problems(error: ServiceError | ValidationError, form: str) -> tuple[dict[str, str], str]:
    """Field errors (keyed `form.field`) and the refusal in Spanish."""
    if isinstance(error, ValidationError):
        return {f"{form}.{k}": v for k, v in field_errors(error).items()}, ""
    message = words.staff_refusal("save", error)
    if isinstance(error, InvalidInput):
        return {f"{form}.{error.field}": message}, ""
    return {}, message


def show(
    request: Request,
    caller: Caller,
    template: str,
    tab: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    context.setdefault("values", {})
    context.setdefault("errors", {})
    context.setdefault("refusal", "")
    return page(
        request,
        template,
        caller,
        status_code,
        section="registry",
        tab=tab,
        tabs=TABS,
        roles_offered=STAFF_ROLES,
        **context,
    )


def checked(form: FormData, name: str) -> bool:
    return form.get(name) in ("1", "on", "true")


# --- Clients and their contacts ---------------------------------------------------------


async def clients_page(
    request: Request, caller: Caller, status_code: int = 200, **extra: Any
) -> Response:
    async with core.state_of(request).sessions() as session:
        clients = await registry.list_clients(session)
        await session.commit()
    return show(
        request, caller, "registry_clients.html", "clients", status_code, clients=clients, **extra
    )


@router.get(BASE)
async def clients(request: Request) -> Response:
    return await clients_page(request, await admin(request))


@router.post(BASE + "/clientes")
async def create_client(request: Request) -> Response:
    caller = await admin(request)
    form = await core.checked_form(request, caller)
    typed = {k: str(form.get(k) or "").strip() for k in ("nit", "name", "consultant_email")}
    try:
        data = ClientCreate.model_validate(
            {**typed, "consultant_email": typed["consultant_email"] or None, "active": True}
        )
        async with core.state_of(request).sessions() as session:
            created = await registry.create_client(session, data, actor=caller.principal.email)
    except (ServiceError, ValidationError) as error:
        errors, refusal = problems(error, "client")
        values = {f"client.{k}": v for k, v in typed.items()}
        return await clients_page(
            request, caller, _status(error), values=values, errors=errors, refusal=refusal
        )
    return redirect(f"{BASE}/clientes/{created.nit}", "guardado")


def _status(error: ServiceError | ValidationError) -> int:
    return 422 if isinstance(error, ValidationError) else min(error.status, 503)


async def client_page(
    request: Request, caller: Caller, nit: str, status_code: int = 200, **extra: Any
) -> Response:
    async with core.state_of(request).sessions() as session:
        try:
            client = registry.client_out(await registry.get_client(session, nit))
        except InvalidInput:
            raise NotFound(f"there is no client with NIT {nit}") from None
        contacts = await registry.list_contacts(session, client.nit)
        await session.commit()
    return show(
        request,
        caller,
        "registry_client.html",
        "clients",
        status_code,
        client=client,
        contacts=contacts,
        **extra,
    )


@router.get(BASE + "/clientes/{nit}")
async def client(request: Request, nit: NitPath) -> Response:
    return await client_page(request, await admin(request), nit)


@router.post(BASE + "/clientes/{nit}")
async def update_client(request: Request, nit: NitPath) -> Response:
    caller = await admin(request)
    form = await core.checked_form(request, caller)
    typed = {k: str(form.get(k) or "").strip() for k in ("name", "consultant_email")}
    try:
        data = ClientUpdate.model_validate(
            {
                "name": typed["name"],
                "consultant_email": typed["consultant_email"] or None,
                "active": checked(form, "active"),
            }
        )
        async with core.state_of(request).sessions() as session:
            await registry.update_client(session, nit, data, actor=caller.principal.email)
    except (ServiceError, ValidationError) as error:
        errors, refusal = problems(error, "client")
        values = {f"client.{k}": v for k, v in typed.items()}
        return await client_page(
            request, caller, nit, _status(error), values=values, errors=errors, refusal=refusal
        )
    return redirect(f"{BASE}/clientes/{nit}", "guardado")


@router.post(BASE + "/clientes/{nit}/contactos")
async def create_contact(request: Request, nit: NitPath) -> Response:
    caller = await admin(request)
    form = await core.checked_form(request, caller)
    typed = {k: str(form.get(k) or "").strip() for k in ("name", "email", "phone")}
    try:
        data = ContactCreate.model_validate(typed)
        async with core.state_of(request).sessions() as session:
            await registry.create_contact(session, nit, data, actor=caller.principal.email)
    except (ServiceError, ValidationError) as error:
        errors, refusal = problems(error, "contact")
        values = {f"contact.{k}": v for k, v in typed.items()}
        return await client_page(
            request, caller, nit, _status(error), values=values, errors=errors, refusal=refusal
        )
    return redirect(f"{BASE}/clientes/{nit}", "guardado")


@router.post(BASE + "/contactos/{email}")
async def update_contact(request: Request, email: EmailPath) -> Response:
    caller = await admin(request)
    form = await core.checked_form(request, caller)
    nit = str(form.get("nit") or "")
    try:
        data = ContactUpdate(active=checked(form, "active"))
        async with core.state_of(request).sessions() as session:
            await registry.update_contact(session, email, data, actor=caller.principal.email)
    except ServiceError as error:
        _, refusal = problems(error, "contact")
        return await client_page(request, caller, nit, min(error.status, 503), refusal=refusal)
    return redirect(f"{BASE}/clientes/{nit}", "guardado")


# --- Staff --------------------------------------------------------------------------------


async def staff_page(
    request: Request, caller: Caller, status_code: int = 200, **extra: Any
) -> Response:
    async with core.state_of(request).sessions() as session:
        people = await registry.list_staff(session)
        await session.commit()
    return show(
        request, caller, "registry_staff.html", "staff", status_code, people=people, **extra
    )


@router.get(BASE + "/personal")
async def staff(request: Request) -> Response:
    return await staff_page(request, await admin(request))


def roles_of(form: FormData) -> list[str]:
    return [str(r) for r in form.getlist("roles")]


@router.post(BASE + "/personal")
async def create_staff(request: Request) -> Response:
    caller = await admin(request)
    form = await core.checked_form(request, caller)
    typed = {k: str(form.get(k) or "").strip() for k in ("name", "email")}
    roles = roles_of(form)
    try:
        data = StaffCreate.model_validate({**typed, "roles": roles})
        async with core.state_of(request).sessions() as session:
            await registry.create_staff(session, data, actor=caller.principal.email)
    except (ServiceError, ValidationError) as error:
        errors, refusal = problems(error, "staff")
        values: dict[str, Any] = {f"staff.{k}": v for k, v in typed.items()}
        values["staff.roles"] = roles
        return await staff_page(
            request, caller, _status(error), values=values, errors=errors, refusal=refusal
        )
    return redirect(f"{BASE}/personal", "guardado")


@router.post(BASE + "/personal/{email}")
async def update_staff(request: Request, email: EmailPath) -> Response:
    caller = await admin(request)
    form = await core.checked_form(request, caller)
    try:
        data = StaffUpdate.model_validate(
            {"roles": roles_of(form), "active": checked(form, "active")}
        )
        async with core.state_of(request).sessions() as session:
            await registry.update_staff(session, email, data, actor=caller.principal.email)
    except (ServiceError, ValidationError) as error:
        errors, refusal = problems(error, f"staff-{email}")
        if isinstance(error, ValidationError):
            refusal = "Elija al menos un rol."
        return await staff_page(request, caller, _status(error), errors=errors, refusal=refusal)
    return redirect(f"{BASE}/personal", "guardado")


# --- API tokens --------------------------------------------------------------------------------


async def tokens_page(
    request: Request, caller: Caller, status_code: int = 200, **extra: Any
) -> Response:
    async with core.state_of(request).sessions() as session:
        tokens = await auth.list_tokens(session, None)
        await session.commit()
    return show(
        request, caller, "registry_tokens.html", "tokens", status_code, tokens=tokens, **extra
    )


@router.get(BASE + "/tokens")
async def tokens(request: Request) -> Response:
    return await tokens_page(request, await admin(request))


@router.post(BASE + "/tokens")
async def issue_token(request: Request) -> Response:
    caller = await admin(request)
    form = await core.checked_form(request, caller)
    email = str(form.get("email") or "").strip()
    try:
        async with core.state_of(request).sessions() as session:
            issued = await auth.issue_token(session, email, actor=caller.principal.email)
    except ServiceError as error:
        refusal = words.staff_refusal("save", error)
        return await tokens_page(
            request,
            caller,
            min(error.status, 503),
            values={"token.email": email},
            errors={"token.email": refusal},
        )
    # Shown once, in this answer only (never in an address, a cookie or a log).
    return await tokens_page(request, caller, 201, issued=issued)


@router.post(BASE + "/tokens/{token_id}/revocar")
async def revoke_token(request: Request, token_id: IdPath) -> Response:
    caller = await admin(request)
    await core.checked_form(request, caller)
    try:
        async with core.state_of(request).sessions() as session:
            await auth.revoke_token(session, token_id, actor=caller.principal.email)
    except ServiceError as error:
        return await tokens_page(
            request, caller, min(error.status, 503), refusal=words.staff_refusal("save", error)
        )
    return redirect(f"{BASE}/tokens", "revocado")


# --- Portal sessions ----------------------------------------------------------------------------


@router.get(BASE + "/sesiones")
async def sessions(request: Request) -> Response:
    caller = await admin(request)
    async with core.state_of(request).sessions() as session:
        found = await portal_auth.open_sessions(session)
        await session.commit()
    return show(
        request,
        caller,
        "registry_sessions.html",
        "sessions",
        web_sessions=found,
        mine=caller.web.session_id,
    )


@router.post(BASE + "/sesiones/{session_id}/revocar")
async def revoke_session(request: Request, session_id: IdPath) -> Response:
    caller = await admin(request)
    await core.checked_form(request, caller)
    async with core.state_of(request).sessions() as session:
        await portal_auth.revoke_session(session, session_id)
    return redirect(f"{BASE}/sesiones", "revocado")
