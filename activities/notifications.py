"""deliver_notification: resolve recipients, render in Spanish, send once.

The `outbound_mail` row (keyed by the notification id) is claimed before sending and
stamped after: a retry of a delivered notification finds `sent_at` and sends nothing.
Mail goes to the Maildir outbox, or through SMTP when `SOPORTE_SMTP_URL` is set.

At most once where the transport allows it: a Maildir file is named from the notification
id, so a retry after a crash between the write and `sent_at` finds the file and writes
nothing. SMTP cannot take a message back: `sending_at` is stamped before the send, and a
retry that finds it without `sent_at` (the worker died between the server's answer and
our record) sends again with the same Message-ID, and says so in the log (README).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from activities.assignment import active_staff
from soporte import metrics, portal_paths
from soporte.db.models import (
    AssignmentPick,
    OutboundMail,
    Staff,
    Ticket,
    TicketIntake,
    utcnow,
)
from soporte.db.session import bind_of, write_in_one_go
from soporte.email.secret import message_ids
from soporte.email.templates import build_email, render
from soporte.email.transport import send_mail
from soporte.policy import Kind, Role
from soporte.policy.committee import next_session
from soporte.policy.names import MailTemplate
from soporte.policy.tickets import Notification
from soporte.services.people_to_inform import informable
from soporte.settings import Settings

log = logging.getLogger("soporte.mail")

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
    if not found and notification.to:
        log.warning(
            "notification %s (%s) has no recipient: nobody answers to %s",
            notification.id,
            notification.template,
            ", ".join(notification.to),
        )
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
        allowed |= await informable(session, nit, addresses)
    return [address for address in addresses if address in allowed]


async def unrouted_agenda(
    session: AsyncSession, notification: Notification
) -> tuple[Notification, list[str]] | None:
    """An agenda no committee member receives goes to the admins instead, saying so."""
    if notification.template != MailTemplate.COMMITTEE_AGENDA:
        return None
    admins = sorted({staff.email.lower() for staff in await active_staff(session, Role.ADMIN)})
    log.warning(
        "committee agenda %s: no active committee member is registered; told %d admin(s)",
        notification.id,
        len(admins),
    )
    if not admins:
        return None
    return notification.model_copy(
        update={"template": MailTemplate.COMMITTEE_AGENDA_UNROUTED}
    ), admins


def is_about_a_ticket(notification: Notification) -> bool:
    """Number 0 (the committee's agenda and the like) is about no ticket."""
    return notification.number > 0


def message_id(notification: Notification, settings: Settings) -> str:
    if not is_about_a_ticket(notification):
        # Never `<ticket-0...>`: a reply to it must not be taken for a ticket's thread.
        return f"<notice.{notification.id}@{settings.mail_domain.strip().lower()}>"
    return message_ids(settings).for_mail(notification.number, notification.id)


# The mail that invites the client to rate the service (sent with each resolution, of a
# ticket or of its incident) carries the rating page's link.
RATING_TEMPLATES = frozenset({MailTemplate.RATING_INVITATION})


def with_context(
    notification: Notification, settings: Settings, now: datetime | None = None
) -> Notification:
    """What a template shows that the settings decide: the portal pages a mail links to
    (absolute, from the public URL: every mail about a ticket its page, advisories' mail the
    booking page, a rating invitation the rating page), the vendor's channels, and a
    requirement's next committee session."""
    if not is_about_a_ticket(notification):
        return notification
    number = notification.number
    context: dict[str, object] = {
        **settings.channels(),
        "ticket_url": portal_paths.absolute(settings.public_url, portal_paths.ticket(number)),
    }
    kind = notification.data.get("kind")
    if kind == Kind.ADVISORY.value:
        booking = portal_paths.absolute(settings.public_url, portal_paths.booking(number))
        context["booking_url"] = booking
    if notification.template in RATING_TEMPLATES:
        rating = portal_paths.absolute(settings.public_url, portal_paths.rating(number))
        context["rating_url"] = rating
    if kind == Kind.REQUIREMENT.value and notification.template == MailTemplate.ACKNOWLEDGEMENT:
        session = next_session(settings.committee_schedule, now or datetime.now(UTC))
        context["committee_at"] = session.isoformat()
    data = {**context, **notification.data}
    return notification.model_copy(update={"data": data})


def compose(notification: Notification, to: list[str], settings: Settings) -> EmailMessage:
    about = is_about_a_ticket(notification)
    return build_email(
        render(with_context(notification, settings)),
        to=to,
        from_addr=settings.from_header(notification.data.get("support_address")),
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
            # What a reply's In-Reply-To names: threads.py finds the mail it answers by it.
            message_id=message_id[:300],
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


def mark_sending_in(session: Session, notification_id: str) -> bool:
    """Stamp `sending_at`; True when an earlier attempt had stamped it (outcome unknown)."""
    row = session.get(OutboundMail, notification_id)
    if row is None:
        return False
    earlier = row.sending_at is not None
    row.sending_at = utcnow()
    return earlier


async def mark_sending(sessions: async_sessionmaker[AsyncSession], notification_id: str) -> bool:
    return await write_in_one_go(
        bind_of(sessions), lambda session: mark_sending_in(session, notification_id)
    )


async def send_once(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    notification: Notification,
    message: EmailMessage,
) -> None:
    if settings.smtp_url and await mark_sending(sessions, notification.id):
        log.warning(
            "notification %s was being sent when a worker stopped; sending it again with "
            "the same Message-ID %s (the receiver may have it already)",
            notification.id,
            message["Message-ID"],
        )
    await send_mail(settings, message, key=notification.id)


async def mark_sent(sessions: async_sessionmaker[AsyncSession], notification_id: str) -> None:
    await write_in_one_go(bind_of(sessions), lambda session: mark_sent_in(session, notification_id))


async def deliver(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, notification: Notification
) -> list[str]:
    """Send the notification once; returns the addresses it went to."""
    async with sessions() as session:
        to = await recipients(session, notification)
        if not to and (instead := await unrouted_agenda(session, notification)) is not None:
            notification, to = instead
    if not await claim(sessions, notification, to, message_id(notification, settings)):
        return []
    if to:
        message = compose(notification, to, settings)
        try:
            await send_once(sessions, settings, notification, message)
        except Exception:
            metrics.MAILS_FAILED.labels(template=notification.template).inc()
            raise
        metrics.MAILS_SENT.labels(template=notification.template).inc()
    await mark_sent(sessions, notification.id)
    return to
