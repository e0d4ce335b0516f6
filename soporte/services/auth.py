"""Bearer tokens: random, stored as SHA-256 digests, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from soporte.audit import AuditAction
from soporte.db.models import ApiToken, Client, Contact, Staff, TokenKind, utcnow
from soporte.db.session import read_at_once
from soporte.policy import Role
from soporte.services import audit
from soporte.services.errors import Conflict, NotFound, Unauthorized

ADMIN_EMAIL = "admin"
WORKING_ROLES = frozenset({Role.ENGINEER, Role.SUPERVISOR})


@dataclass(frozen=True)
class Principal:
    """Who is calling: an email, its roles, and for a contact its client's NIT."""

    email: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    nit: str | None = None
    name: str = ""
    client_active: bool = True
    # A contact's client, as authentication read it (so opening a ticket needs no query).
    client_name: str = ""
    consultant_email: str | None = None

    @property
    def is_contact(self) -> bool:
        return Role.CONTACT in self.roles

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def works_tickets(self) -> bool:
        """Engineers and supervisors act on tickets."""
        return self.has(*WORKING_ROLES)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def is_admin_token(token: str, admin_token: str | None) -> bool:
    if not admin_token:
        return False
    return hmac.compare_digest(digest(token), digest(admin_token))


async def authenticate(bind: AsyncEngine, token: str, admin_token: str | None) -> Principal:
    """The caller of `token`, in one query (it runs on every request)."""
    if is_admin_token(token, admin_token):
        return Principal(email=ADMIN_EMAIL, roles=frozenset({Role.ADMIN}), name="admin")
    return await read_at_once(bind, lambda connection: _principal_of(connection, digest(token)))


def _principal_statement() -> Select[Any]:
    """Token, contact, client and staff member in one query, built once: the same plain
    SQL statement every request (building an ORM select and its cache key each time was
    about a quarter of the API's CPU per ticket opened under load; a tenth now,
    bench/open_tickets.py)."""
    tables = (ApiToken.__table__, Contact.__table__, Client.__table__, Staff.__table__)
    token, contact, client, staff = (table.c for table in tables)
    is_contact_token = token.kind == TokenKind.CONTACT
    return (
        select(
            token.kind,
            token.principal_email,
            contact.active,
            contact.name,
            client.nit,
            client.name,
            client.active,
            client.consultant_email,
            staff.active,
            staff.name,
            staff.roles,
        )
        .select_from(tables[0])
        .outerjoin(tables[1], and_(is_contact_token, contact.email == token.principal_email))
        .outerjoin(tables[2], client.nit == contact.client_nit)
        .outerjoin(tables[3], and_(~is_contact_token, staff.email == token.principal_email))
        .where(token.digest == bindparam("digest"), token.revoked_at.is_(None))
    )


PRINCIPAL_OF_TOKEN = _principal_statement()


def _principal_of(connection: Connection, token_digest: str) -> Principal:
    found = connection.execute(PRINCIPAL_OF_TOKEN, {"digest": token_digest}).first()
    if found is None:
        raise Unauthorized("the bearer token is unknown or revoked")
    kind, email, contact_active, contact_name, nit, client_name, client_active = found[:7]
    consultant, staff_active, staff_name, staff_roles = found[7:]
    if kind == TokenKind.CONTACT:
        if not contact_active:
            raise Unauthorized("this token's contact is no longer active")
        return Principal(
            email=email,
            roles=frozenset({Role.CONTACT}),
            nit=nit,
            name=contact_name,
            client_active=client_active,
            client_name=client_name,
            consultant_email=consultant,
        )
    if not staff_active:
        raise Unauthorized("this token's staff member is no longer active")
    return Principal(email=email, roles=frozenset(Role(r) for r in staff_roles), name=staff_name)


@dataclass(frozen=True)
class IssuedToken:
    id: int
    token: str
    email: str
    kind: TokenKind


async def issue_token(session: AsyncSession, email: str, *, actor: str) -> IssuedToken:
    """A new token for a contact or a staff member, shown once."""
    email = email.strip().lower()
    kind = await _kind_of(session, email)
    token = secrets.token_urlsafe(32)
    row = ApiToken(digest=digest(token), principal_email=email, kind=kind.value)
    session.add(row)
    await session.flush()
    details = {"token_id": row.id, "email": email, "kind": kind.value}
    audit.record(session, actor, AuditAction.TOKEN_ISSUED, f"token {row.id} ({email})", details)
    await session.commit()
    return IssuedToken(id=row.id, token=token, email=email, kind=kind)


async def _kind_of(session: AsyncSession, email: str) -> TokenKind:
    if await session.scalar(select(Contact.id).where(Contact.email == email)) is not None:
        return TokenKind.CONTACT
    if await session.scalar(select(Staff.id).where(Staff.email == email)) is not None:
        return TokenKind.STAFF
    raise NotFound(f"no contact or staff member has the email {email}")


async def revoke_token(session: AsyncSession, token_id: int, *, actor: str) -> None:
    row = await session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"there is no token {token_id}")
    if row.revoked_at is not None:
        raise Conflict(f"token {token_id} is already revoked")
    row.revoked_at = utcnow()
    subject = f"token {token_id} ({row.principal_email})"
    details = {"token_id": token_id, "email": row.principal_email, "kind": row.kind}
    audit.record(session, actor, AuditAction.TOKEN_REVOKED, subject, details)
    await session.commit()


async def list_tokens(session: AsyncSession, email: str | None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if email:
        query = query.where(ApiToken.principal_email == email.strip().lower())
    return list((await session.scalars(query)).all())
