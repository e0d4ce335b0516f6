"""Clients, contacts and staff: plain SQL owned by the API (admin only)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from soporte.audit import AuditAction, update_action
from soporte.db.models import Client, Contact, Staff
from soporte.policy.nit import InvalidNit, validate_nit
from soporte.services import audit, portal_auth
from soporte.services.errors import Conflict, InvalidInput, NotFound
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
)


def checked_nit(raw: str, field: str = "nit") -> str:
    try:
        return validate_nit(raw)
    except InvalidNit as error:
        raise InvalidInput(field, str(error)) from None


def client_out(client: Client) -> ClientOut:
    return ClientOut(
        nit=client.nit,
        name=client.name,
        active=client.active,
        consultant_email=client.consultant_email,
    )


def contact_out(contact: Contact) -> ContactOut:
    return ContactOut(
        email=contact.email,
        name=contact.name,
        phone=contact.phone,
        nit=contact.client_nit,
        active=contact.active,
    )


def staff_out(staff: Staff) -> StaffOut:
    return StaffOut.model_validate(
        {"email": staff.email, "name": staff.name, "roles": staff.roles, "active": staff.active}
    )


async def _commit(session: AsyncSession, conflict: str) -> None:
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(conflict) from None


# --- Clients ----------------------------------------------------------------------------


async def get_client(session: AsyncSession, nit: str) -> Client:
    client = await session.get(Client, checked_nit(nit))
    if client is None:
        raise NotFound(f"there is no client with NIT {nit}")
    return client


async def check_consultant(session: AsyncSession, email: str | None) -> None:
    """A client's implementation consultant (§I) is an active staff member: requests are
    routed to them, and routing to nobody would be silent."""
    if email is None:
        return
    active = await session.scalar(
        select(Staff.id).where(Staff.email == email.strip().lower(), Staff.active.is_(True))
    )
    if active is None:
        raise InvalidInput(
            "consultant_email", f"{email} is not an active staff member (register it first)"
        )


async def create_client(session: AsyncSession, data: ClientCreate, *, actor: str) -> ClientOut:
    nit = checked_nit(data.nit)
    await check_consultant(session, data.consultant_email)
    if await session.get(Client, nit) is not None:
        raise Conflict(f"a client with NIT {nit} is already registered")
    client = Client(
        nit=nit, name=data.name, active=data.active, consultant_email=data.consultant_email
    )
    session.add(client)
    audit.record(
        session, actor, AuditAction.CLIENT_CREATED, nit, data.model_dump(mode="json") | {"nit": nit}
    )
    await _commit(session, f"a client with NIT {nit} is already registered")
    return client_out(client)


async def update_client(
    session: AsyncSession, nit: str, data: ClientUpdate, *, actor: str
) -> ClientOut:
    client = await get_client(session, nit)
    changes = data.model_dump(mode="json", exclude_unset=True)
    await check_consultant(session, changes.get("consultant_email"))
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is None and name != "consultant_email":
            raise InvalidInput(name, "may not be null")
        setattr(client, name, value)
    audit.record(session, actor, update_action("client", changes), client.nit, changes)
    if data.active is False:  # its people may no longer use the portal
        await portal_auth.end_sessions_of(
            session, await portal_auth.contact_emails_of(session, client.nit)
        )
    await session.commit()
    return client_out(client)


async def list_clients(session: AsyncSession) -> list[ClientOut]:
    rows = await session.scalars(select(Client).order_by(Client.nit))
    return [client_out(row) for row in rows]


# --- Contacts ---------------------------------------------------------------------------


async def _email_taken(session: AsyncSession, email: str) -> bool:
    contact = await session.scalar(select(Contact.id).where(Contact.email == email))
    staff = await session.scalar(select(Staff.id).where(Staff.email == email))
    return contact is not None or staff is not None


async def create_contact(
    session: AsyncSession, nit: str, data: ContactCreate, *, actor: str
) -> ContactOut:
    client = await get_client(session, nit)
    if await _email_taken(session, data.email):
        raise Conflict(f"the email {data.email} is already registered")
    contact = Contact(email=data.email, client_nit=client.nit, name=data.name, phone=data.phone)
    session.add(contact)
    details = data.model_dump(mode="json") | {"nit": client.nit}
    audit.record(session, actor, AuditAction.CONTACT_CREATED, data.email, details)
    await _commit(session, f"the email {data.email} is already registered")
    return contact_out(contact)


async def list_contacts(session: AsyncSession, nit: str) -> list[ContactOut]:
    client = await get_client(session, nit)
    rows = await session.scalars(
        select(Contact).where(Contact.client_nit == client.nit).order_by(Contact.email)
    )
    return [contact_out(row) for row in rows]


async def update_contact(
    session: AsyncSession, email: str, data: ContactUpdate, *, actor: str
) -> ContactOut:
    contact = await session.scalar(select(Contact).where(Contact.email == email.strip().lower()))
    if contact is None:
        raise NotFound(f"there is no contact with the email {email}")
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            raise InvalidInput(name, "may not be null")
        setattr(contact, name, value)
    changes = data.model_dump(mode="json", exclude_unset=True)
    audit.record(session, actor, update_action("contact", changes), contact.email, changes)
    if data.active is False:
        await portal_auth.end_sessions_of(session, [contact.email])
    await session.commit()
    return contact_out(contact)


# --- Staff ------------------------------------------------------------------------------


async def create_staff(session: AsyncSession, data: StaffCreate, *, actor: str) -> StaffOut:
    if await _email_taken(session, data.email):
        raise Conflict(f"the email {data.email} is already registered")
    roles = sorted({role.value for role in data.roles})
    staff = Staff(email=data.email, name=data.name, roles=roles, active=data.active)
    session.add(staff)
    details = data.model_dump(mode="json") | {"roles": roles}
    audit.record(session, actor, AuditAction.STAFF_CREATED, data.email, details)
    await _commit(session, f"the email {data.email} is already registered")
    return staff_out(staff)


async def update_staff(
    session: AsyncSession, email: str, data: StaffUpdate, *, actor: str
) -> StaffOut:
    staff = await session.scalar(select(Staff).where(Staff.email == email.strip().lower()))
    if staff is None:
        raise NotFound(f"there is no staff member with the email {email}")
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise InvalidInput(name, "may not be null")
        if name == "roles":
            value = sorted({str(role) for role in value})
        setattr(staff, name, value)
    logged = data.model_dump(mode="json", exclude_unset=True)
    audit.record(session, actor, update_action("staff", logged), staff.email, logged)
    if data.active is False:
        await portal_auth.end_sessions_of(session, [staff.email])
    await session.commit()
    return staff_out(staff)


async def list_staff(session: AsyncSession) -> list[StaffOut]:
    rows = await session.scalars(select(Staff).order_by(Staff.email))
    return [staff_out(row) for row in rows]
