"""`soporte admin create-token`: a token for a staff member from the command line.

A cluster (`soporte api` alone) has no bootstrap admin token unless SOPORTE_ADMIN_TOKEN is
set, so the first admin comes from here: `--create-admin` registers the staff member as
admin if needed. Same rules as the API (registry and auth services), and audited as
`cli:<user>`.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from soporte.db.models import Contact, Staff
from soporte.db.session import create_engine, create_sessionmaker
from soporte.errors import UsageError
from soporte.policy import Role
from soporte.services import auth, registry
from soporte.services.errors import ServiceError
from soporte.services.schemas import StaffCreate, StaffUpdate


@dataclass(frozen=True)
class CreatedToken:
    issued: auth.IssuedToken
    roles: list[str]
    registered: str  # what was done to the staff member: "", "created", "made admin"


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


async def create_token(
    database_url: str, email: str, *, create_admin: bool, name: str | None
) -> CreatedToken:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return await _create_token(session, email.strip().lower(), create_admin, name)
    except (OperationalError, ProgrammingError) as error:
        raise UsageError(
            f"the database cannot be used ({error.orig}): run `soporte migrate` first"
        ) from None
    except ServiceError as error:
        raise UsageError(error.message) from None
    finally:
        await engine.dispose()


async def _create_token(
    session: AsyncSession, email: str, create_admin: bool, name: str | None
) -> CreatedToken:
    actor = cli_actor()
    staff = await session.scalar(select(Staff).where(Staff.email == email))
    registered = ""
    if staff is None and await session.scalar(select(Contact.id).where(Contact.email == email)):
        raise UsageError(
            f"{email} is a client's contact: an admin issues its token with POST /api/v1/tokens"
        )
    if create_admin:
        registered = await _ensure_admin(session, staff, email, name, actor)
    elif staff is None:
        raise UsageError(
            f"{email} is not a staff member; for the first admin run "
            f"`soporte admin create-token --create-admin {email} --name 'Full Name'`"
        )
    elif not staff.active:
        raise UsageError(f"the staff member {email} is inactive; reactivate it first")
    issued = await auth.issue_token(session, email, actor=actor)
    roles = list(await session.scalar(select(Staff.roles).where(Staff.email == email)) or [])
    return CreatedToken(issued=issued, roles=roles, registered=registered)


async def _ensure_admin(
    session: AsyncSession, staff: Staff | None, email: str, name: str | None, actor: str
) -> str:
    if staff is None:
        if not name:
            raise UsageError("--name is required to create the admin (e.g. --name 'Ana Gómez')")
        data = _validated(StaffCreate, name=name, email=email, roles=[Role.ADMIN])
        await registry.create_staff(session, data, actor=actor)
        return "created"
    if Role.ADMIN.value in staff.roles and staff.active:
        return ""
    roles = sorted({*staff.roles, Role.ADMIN.value})
    changes: dict[str, object] = {"roles": roles}
    if not staff.active:
        changes["active"] = True
    update = _validated(StaffUpdate, **changes)
    await registry.update_staff(session, email, update, actor=actor)
    return "made admin"


M = TypeVar("M", StaffCreate, StaffUpdate)


def _validated(model: type[M], **fields: object) -> M:
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "input"
        raise UsageError(f"--{where}: {first['msg']}") from None
