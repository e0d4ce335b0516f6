"""Registry (admin): clients, contacts, staff, tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api.deps import AdminDep, SessionDep
from api.errors import COMMON_RESPONSES
from soporte.services import auth, registry
from soporte.services.schemas import (
    ClientCreate,
    ClientOut,
    ClientUpdate,
    ContactCreate,
    ContactOut,
    ContactUpdate,
    StaffCreate,
    StaffOut,
    StaffUpdate,
    TokenCreate,
    TokenInfo,
    TokenOut,
)

router = APIRouter(prefix="/api/v1", tags=["registry"], responses=COMMON_RESPONSES)

NitPath = Annotated[str, Path(max_length=30, description="e.g. 800197268-4")]
EmailPath = Annotated[str, Path(max_length=254)]


@router.post("/clients", status_code=status.HTTP_201_CREATED)
async def create_client(data: ClientCreate, session: SessionDep, admin: AdminDep) -> ClientOut:
    return await registry.create_client(session, data, actor=admin.email)


@router.get("/clients")
async def list_clients(session: SessionDep, _: AdminDep) -> list[ClientOut]:
    return await registry.list_clients(session)


@router.get("/clients/{nit}")
async def get_client(nit: NitPath, session: SessionDep, _: AdminDep) -> ClientOut:
    return registry.client_out(await registry.get_client(session, nit))


@router.patch("/clients/{nit}")
async def update_client(
    nit: NitPath, data: ClientUpdate, session: SessionDep, admin: AdminDep
) -> ClientOut:
    return await registry.update_client(session, nit, data, actor=admin.email)


@router.post("/clients/{nit}/contacts", status_code=status.HTTP_201_CREATED)
async def create_contact(
    nit: NitPath, data: ContactCreate, session: SessionDep, admin: AdminDep
) -> ContactOut:
    return await registry.create_contact(session, nit, data, actor=admin.email)


@router.get("/clients/{nit}/contacts")
async def list_contacts(nit: NitPath, session: SessionDep, _: AdminDep) -> list[ContactOut]:
    return await registry.list_contacts(session, nit)


@router.patch("/contacts/{email}")
async def update_contact(
    email: EmailPath, data: ContactUpdate, session: SessionDep, admin: AdminDep
) -> ContactOut:
    return await registry.update_contact(session, email, data, actor=admin.email)


@router.post("/staff", status_code=status.HTTP_201_CREATED)
async def create_staff(data: StaffCreate, session: SessionDep, admin: AdminDep) -> StaffOut:
    return await registry.create_staff(session, data, actor=admin.email)


@router.get("/staff")
async def list_staff(session: SessionDep, _: AdminDep) -> list[StaffOut]:
    return await registry.list_staff(session)


@router.patch("/staff/{email}")
async def update_staff(
    email: EmailPath, data: StaffUpdate, session: SessionDep, admin: AdminDep
) -> StaffOut:
    return await registry.update_staff(session, email, data, actor=admin.email)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
async def create_token(data: TokenCreate, session: SessionDep, admin: AdminDep) -> TokenOut:
    """A new token for a contact or staff member: shown once, kept only as a digest."""
    issued = await auth.issue_token(session, data.email, actor=admin.email)
    return TokenOut(id=issued.id, token=issued.token, email=issued.email, kind=issued.kind)


@router.get("/tokens")
async def list_tokens(
    session: SessionDep,
    _: AdminDep,
    email: Annotated[str | None, Query(max_length=254)] = None,
) -> list[TokenInfo]:
    """Issued tokens (never their secret), optionally of one email."""
    rows = await auth.list_tokens(session, email)
    return [
        TokenInfo(
            id=row.id,
            email=row.principal_email,
            kind=row.kind,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )
        for row in rows
    ]


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep, admin: AdminDep
) -> Response:
    """Revoke a token by its id (from POST or GET /api/v1/tokens); it stops working at once."""
    await auth.revoke_token(session, token_id, actor=admin.email)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
