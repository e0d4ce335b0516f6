"""deliver_notification: resolve recipients, render in Spanish, send once.

The `outbound_mail` row (keyed by the notification id) is claimed before sending and
stamped after: a retry of a delivered notification finds `sent_at` and sends nothing.
Mail goes to the Maildir outbox, or through SMTP when `SOPORTE_SMTP_URL` is set.
"""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from activities.assignment import active_staff
from soporte.db.models import (
    AssignmentPick,
    Contact,
    OutboundMail,
    Staff,
    Ticket,
    TicketIntake,
    utcnow,
)
from soporte.db.session import bind_of, write_in_one_go
from soporte.email.secret import message_ids
from soporte.email.templates import MESSAGE_ID_DOMAIN, build_email, render
from soporte.email.transport import send_mail
from soporte.policy import Role
from soporte.policy.tickets import Notification
from soporte.settings import Settings

ROLE_WORDS = {"@supervisors": Role.SUPERVISOR, "@committee": Role.COMMITTEE}


async def assignee_of(session: AsyncSession, notification: Notification) -> str | None:
    named = notification.data.get("assignee")
    if isinstance(named, str) and named:
        return named
    if not is_about_a_ticket(notification):
        return None
    projected = await session.scalar(
        select(Ticket.assignee).where(Ticket.number == notification.number)
    )
    if projected:
        return projected
    return await session.scalar(
        select(AssignmentPick.engineer).where(AssignmentPick.number == notification.number)
    )


async def recipients(session: AsyncSession, notification: Notification) -> list[str]:
    found: list[str] = []
    for word in notification.to:
        if word == "@assignee":
            assignee = await assignee_of(session, notification)
            found += [assignee] if assignee else []
        elif word in ROLE_WORDS:
            found += [staff.email for staff in await active_staff(session, ROLE_WORDS[word])]
        elif "@" in word and not word.startswith("@"):
            found.append(word)
    addresses = sorted({email.strip().lower() for email in found})
    if not is_about_a_ticket(notification):
        return addresses
    return await still_entitled(session, notification.number, addresses)


async def still_entitled(session: AsyncSession, number: int, addresses: list[str]) -> list[str]:
    """The addresses that may get mail about ticket `number` now, from the registry at send
    time: our active staff, and active contacts of the ticket's client. A contact deactivated
    or moved to another client since the ticket was opened gets nothing more."""
    if not addresses:
        return []
    nit = await session.scalar(select(TicketIntake.nit).where(TicketIntake.number == number))
    staff = await session.scalars(
        select(Staff.email).where(Staff.email.in_(addresses), Staff.active.is_(True))
    )
    allowed = set(staff.all())
    if nit is not None:
        contacts = await session.scalars(
            select(Contact.email).where(
                Contact.email.in_(addresses),
                Contact.client_nit == nit,
                Contact.active.is_(True),
            )
        )
        allowed |= set(contacts.all())
    return [address for address in addresses if address in allowed]


def is_about_a_ticket(notification: Notification) -> bool:
    """Number 0 (the committee's agenda and the like) is about no ticket."""
    return notification.number > 0


def message_id(notification: Notification, settings: Settings) -> str:
    if not is_about_a_ticket(notification):
        # Never `<ticket-0...>`: a reply to it must not be taken for a ticket's thread.
        return f"<notice.{notification.id}@{MESSAGE_ID_DOMAIN}>"
    return message_ids(settings).for_mail(notification.number, notification.id)


def with_links(notification: Notification, settings: Settings) -> Notification:
    """The links a template shows, made absolute with the public URL of the API."""
    if not is_about_a_ticket(notification):
        return notification
    ticket = f"{settings.public_url.rstrip('/')}/api/v1/tickets/{notification.number}"
    links = {"ticket_url": ticket, "booking_url": f"{ticket}/slots"}
    data = {**links, **notification.data}
    return notification.model_copy(update={"data": data})


def compose(notification: Notification, to: list[str], settings: Settings) -> EmailMessage:
    about = is_about_a_ticket(notification)
    return build_email(
        render(with_links(notification, settings)),
        to=to,
        from_addr=settings.mail_from,
        message_id=message_id(notification, settings),
        in_reply_to=notification.in_reply_to,
        number=notification.number if about else None,
        thread_root=message_ids(settings).thread_root(notification.number) if about else None,
    )


def claim_in(
    session: Session, notification: Notification, to: list[str], subject: str, message_id: str
) -> bool:
    row = session.get(OutboundMail, notification.id)
    if row is not None:
        return row.sent_at is None
    session.add(
        OutboundMail(
            id=notification.id,
            number=notification.number,
            to=", ".join(to),
            subject=subject[:300],
            message_id=message_id,
        )
    )
    return True


async def claim(
    sessions: async_sessionmaker[AsyncSession],
    notification: Notification,
    to: list[str],
    message_id: str,
) -> bool:
    """Record the notification; False when an earlier attempt already sent it."""
    subject = render(notification).subject
    try:
        return await write_in_one_go(
            bind_of(sessions),
            lambda session: claim_in(session, notification, to, subject, message_id),
        )
    except IntegrityError:
        return False  # a concurrent attempt claimed it


def mark_sent_in(session: Session, notification_id: str) -> None:
    row = session.get(OutboundMail, notification_id)
    if row is not None:
        row.sent_at = utcnow()


async def mark_sent(sessions: async_sessionmaker[AsyncSession], notification_id: str) -> None:
    await write_in_one_go(bind_of(sessions), lambda session: mark_sent_in(session, notification_id))


async def deliver(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, notification: Notification
) -> list[str]:
    """Send the notification once; returns the addresses it went to."""
    async with sessions() as session:
        to = await recipients(session, notification)
    if not await claim(sessions, notification, to, message_id(notification, settings)):
        return []
    if to:
        message = compose(notification, to, settings)
        await send_mail(settings, message)
    await mark_sent(sessions, notification.id)
    return to
