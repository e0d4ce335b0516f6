"""write_ticket: one step's projection and mail in one local activity (issue 15).

Each of the two was a local activity of its own: an activation, a marker event and a
transaction more per command. Here the mail's recipients are resolved and its rows claimed
in the projection's transaction (after the projection, so a recipient read from the ticket
row sees this step), then sent and recorded as `notifications.deliver_all` does.

A projection that fails raises (the local activity retries it; both writes are idempotent).
A send that fails does not: the ids answered leave it out and the workflow sends it again
through `deliver_notifications`, whose retries do not hold the command's answer. A send
here is short (INLINE_SMTP_TIMEOUT, INLINE_SEND_BUDGET): an SMTP server that accepts and
never answers must not hold the command past its bound, nor the activity past its timeout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from activities import notifications, projection
from activities.notifications import Claimed
from soporte import metrics
from soporte.db.session import bind_of, write_in_one_go
from soporte.policy.tickets import LogEvent, ProjectionBatch, TicketWrite
from soporte.settings import Settings

log = logging.getLogger("soporte.mail")

# Seconds an SMTP operation may take here (a reply, the data), and seconds of sending after
# which the rest is left to deliver_notifications (its own timeout is the usual 30 s): the
# command waiting on this step is answered within tickets.COMMAND_BOUND (10 s).
INLINE_SMTP_TIMEOUT = 3.0
INLINE_SEND_BUDGET = 4.0


def project_and_claim(
    session: Session, settings: Settings, write: TicketWrite
) -> tuple[list[LogEvent], list[Claimed]]:
    stored = []
    if write.events:
        stored = projection.write_projection(
            session, ProjectionBatch(view=write.view, events=write.events)
        )
    claimed = [notifications.claim_one_in(session, settings, n) for n in write.notifications]
    return stored, claimed


async def write_together(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, write: TicketWrite
) -> tuple[list[LogEvent], list[Claimed]]:
    """Both in one transaction; if a concurrent attempt claimed a notification meanwhile,
    the projection alone and then the claims as `claim_all` makes them."""
    bind = bind_of(sessions)
    try:
        return await write_in_one_go(
            bind, lambda session: project_and_claim(session, settings, write)
        )
    except IntegrityError:
        pass
    alone = write.model_copy(update={"notifications": []})
    stored, _ = await write_in_one_go(
        bind, lambda session: project_and_claim(session, settings, alone)
    )
    return stored, await notifications.claim_all(sessions, settings, write.notifications)


async def send_all(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, claimed: Sequence[Claimed]
) -> list[str]:
    """Send the owed ones in order until one fails or the budget is spent; answer the ids
    done (sent now or before)."""
    done: list[str] = []
    sent: list[str] = []
    until = time.monotonic() + INLINE_SEND_BUDGET
    try:
        for one in claimed:
            if one.owed and one.to:
                if time.monotonic() >= until:
                    log.warning("mail took too long; the ticket sends the rest on its own")
                    break
                await notifications.send_claimed(sessions, settings, one, INLINE_SMTP_TIMEOUT)
            (sent if one.owed else done).append(one.notification.id)
    except Exception:
        log.warning(
            "notification %s not sent; the ticket sends it again",
            one.notification.id,
            exc_info=True,
        )
    finally:
        await notifications.mark_sent(sessions, sent)
    return done + sent


async def write_ticket(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, write: TicketWrite
) -> list[str]:
    stored, claimed = await write_together(sessions, settings, write)
    if write.events:
        metrics.count_projected(write.view, stored)
    return await send_all(sessions, settings, claimed)
