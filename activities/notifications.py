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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, union, update
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
    utcnow,
)
from soporte.db.session import bind_of, write_in_one_go
from soporte.email.secret import message_ids
from soporte.email.templates import RenderedMail, render
from soporte.email.templates.compose import WireMail, wire_email
from soporte.email.transport import SMTP_TIMEOUT, send_mail
from soporte.policy import Kind, Role
from soporte.policy.committee import next_session
from soporte.policy.names import MailTemplate
from soporte.policy.tickets import Notification
from soporte.services.people_to_inform import INFORMABLE_ABOUT, normalized
from soporte.settings import Settings

log = logging.getLogger("soporte.mail")

ROLE_WORDS = {"@supervisors": Role.SUPERVISOR, "@committee": Role.COMMITTEE}

# The statements every mail runs, built once (building and keying them anew for each mail
# cost more than running them: issue 15), run on the session's connection: Core, without
# the ORM's compile step, identity map or unit of work.
PROJECTED_ASSIGNEE = select(Ticket.assignee).where(Ticket.number == bindparam("number"))
PICKED_ASSIGNEE = select(AssignmentPick.engineer).where(
    AssignmentPick.number == bindparam("number")
)
ENTITLED = union(
    select(Staff.email).where(
        Staff.email.in_(bindparam("addresses", expanding=True)), Staff.active.is_(True)
    ),
    INFORMABLE_ABOUT,
)
CLAIMED = select(OutboundMail.sent_at).where(OutboundMail.id == bindparam("id"))
OUTBOUND_MAIL = cast(Table, OutboundMail.__table__)
CLAIM = insert(OUTBOUND_MAIL)
MARK_SENT = (
    update(OUTBOUND_MAIL)
    .where(OUTBOUND_MAIL.c.id.in_(bindparam("ids", expanding=True)))
    .values(sent_at=bindparam("sent_at"))
)


def assignee_of(session: Session, notification: Notification) -> str | None:
    named = notification.data.get("assignee")
    if isinstance(named, str) and named:
        return named
    if not is_about_a_ticket(notification):
        return None
    db, number = session.connection(), {"number": notification.number}
    return db.scalar(PROJECTED_ASSIGNEE, number) or db.scalar(PICKED_ASSIGNEE, number)


def recipients(session: Session, notification: Notification) -> list[str]:
    found: list[str] = []
    for word in notification.to:
        if word == "@assignee":
            assignee = assignee_of(session, notification)
            found += [assignee] if assignee else []
        elif word in ROLE_WORDS:
            found += [staff.email for staff in active_staff(session, ROLE_WORDS[word])]
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
    return still_entitled(session, notification.number, addresses)


def still_entitled(session: Session, number: int, addresses: list[str]) -> list[str]:
    """The addresses that may get mail about ticket `number` now, from the registry at send
    time: our active staff, and active contacts of the ticket's client. A contact deactivated
    or moved to another client since the ticket was opened gets nothing more."""
    if not addresses:
        return []
    wanted = sorted(normalized(addresses))
    entitled = session.connection().scalars(ENTITLED, {"number": number, "addresses": wanted})
    allowed = set(entitled.all())
    return [address for address in addresses if address in allowed]


def unrouted_agenda(
    session: Session, notification: Notification
) -> tuple[Notification, list[str]] | None:
    """An agenda no committee member receives goes to the admins instead, saying so."""
    if notification.template != MailTemplate.COMMITTEE_AGENDA:
        return None
    admins = sorted({staff.email.lower() for staff in active_staff(session, Role.ADMIN)})
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


def compose(
    notification: Notification,
    to: list[str],
    settings: Settings,
    rendered: RenderedMail | None = None,
) -> WireMail:
    about = is_about_a_ticket(notification)
    return wire_email(
        rendered or render(with_context(notification, settings)),
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
    """Record the notification; False when an earlier attempt already sent it. Core
    statements: the ORM's identity load and unit of work cost more than the two."""
    db = session.connection()
    stored = db.execute(CLAIMED, {"id": notification.id}).first()
    if stored is not None:
        return stored.sent_at is None
    row = {
        "id": notification.id,
        "number": notification.number,
        "to": ", ".join(to),
        "subject": subject[:300],
        # What a reply's In-Reply-To names: threads.py finds the mail it answers by it.
        "message_id": message_id[:300],
        "created_at": utcnow(),
    }
    db.execute(CLAIM, row)
    return True


@dataclass
class Claimed:
    """A notification whose recipients are resolved, its mail rendered, and its row
    claimed (`owed`: not sent by an earlier attempt)."""

    notification: Notification
    to: list[str]
    rendered: RenderedMail
    owed: bool


def claim_one_in(session: Session, settings: Settings, notification: Notification) -> Claimed:
    """Recipients from the registry now, the mail rendered once, its row claimed."""
    to = recipients(session, notification)
    if not to and (instead := unrouted_agenda(session, notification)) is not None:
        notification, to = instead
    rendered = render(with_context(notification, settings))
    owed = claim_in(session, notification, to, rendered.subject, message_id(notification, settings))
    return Claimed(notification, to, rendered, owed)


async def claim_all(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    batch: Sequence[Notification],
) -> list[Claimed]:
    """Resolve and claim the whole batch in one transaction. If a concurrent attempt claimed
    one of them meanwhile, each again in its own, and the one it claimed is not owed."""
    bind = bind_of(sessions)
    try:
        return await write_in_one_go(
            bind, lambda session: [claim_one_in(session, settings, n) for n in batch]
        )
    except IntegrityError:
        pass
    claimed = []
    for notification in batch:
        try:
            claimed.append(
                await write_in_one_go(
                    bind,
                    lambda session: claim_one_in(session, settings, notification),  # noqa: B023
                )
            )
        except IntegrityError:  # a concurrent attempt claimed it
            claimed.append(Claimed(notification, [], render(notification), owed=False))
    return claimed


def mark_sent_in(session: Session, notification_ids: Sequence[str]) -> None:
    session.connection().execute(MARK_SENT, {"ids": list(notification_ids), "sent_at": utcnow()})


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
    message: WireMail,
    smtp_timeout: float = SMTP_TIMEOUT,
) -> None:
    if settings.smtp_url and await mark_sending(sessions, notification.id):
        log.warning(
            "notification %s was being sent when a worker stopped; sending it again with "
            "the same Message-ID %s (the receiver may have it already)",
            notification.id,
            message.message_id,
        )
    await send_mail(settings, message, key=notification.id, smtp_timeout=smtp_timeout)


async def mark_sent(
    sessions: async_sessionmaker[AsyncSession], notification_ids: Sequence[str]
) -> None:
    if notification_ids:
        await write_in_one_go(
            bind_of(sessions), lambda session: mark_sent_in(session, notification_ids)
        )


async def send_claimed(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    claimed: Claimed,
    smtp_timeout: float = SMTP_TIMEOUT,
) -> None:
    notification = claimed.notification
    message = compose(notification, claimed.to, settings, claimed.rendered)
    try:
        await send_once(sessions, settings, notification, message, smtp_timeout)
    except Exception:
        metrics.MAILS_FAILED.labels(template=notification.template).inc()
        raise
    metrics.MAILS_SENT.labels(template=notification.template).inc()


async def deliver_all(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    batch: Sequence[Notification],
    smtp_timeout: float = SMTP_TIMEOUT,
) -> list[list[str]]:
    """Send each notification of the batch once; returns the addresses each went to.

    One transaction claims them all, one records them sent; a send that fails still
    records the ones sent before it (a retry of the batch sends only the rest)."""
    claimed = await claim_all(sessions, settings, batch)
    done: list[str] = []
    try:
        for one in claimed:
            if one.owed and one.to:
                await send_claimed(sessions, settings, one, smtp_timeout)
            if one.owed:
                done.append(one.notification.id)
    finally:
        await mark_sent(sessions, done)
    return [one.to if one.owed else [] for one in claimed]


async def deliver(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    notification: Notification,
    smtp_timeout: float = SMTP_TIMEOUT,
) -> list[str]:
    """Send the notification once; returns the addresses it went to."""
    [to] = await deliver_all(sessions, settings, [notification], smtp_timeout)
    return to
