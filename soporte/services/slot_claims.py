"""Advisory slots claimed in SQL before the booking reaches the ticket's workflow.

Two bookings of one start can arrive at two API processes at the same moment; both read
the slot as free. The claim row's unique start lets only one of them through. A claim
holds while its ticket is scheduled at that start (the read model says so) or while its
booking may still be on its way (younger than CLAIM_IN_FLIGHT, and the read model has not
seen the ticket since). A ticket rebooked, held, resolved or abandoned no longer holds it,
and another may take it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from soporte.db.models import SlotClaim, Ticket, utcnow
from soporte.db.session import write_in_one_go
from soporte.policy import Status

CLAIM_IN_FLIGHT = timedelta(minutes=2)


class Claim(StrEnum):
    CLAIMED = "claimed"  # the start is now this ticket's
    ALREADY_OURS = "already_ours"  # this ticket held it before
    TAKEN = "taken"  # another ticket holds it


def _holds(session: Session, claim: SlotClaim, now: datetime) -> bool:
    seen = session.execute(
        select(Ticket.status, Ticket.booked_slot, Ticket.updated_at).where(
            Ticket.number == claim.number
        )
    ).first()
    if seen is not None:
        status, booked_slot, updated_at = seen
        if status == Status.SCHEDULED.value and booked_slot == claim.start:
            return True
        if updated_at >= claim.claimed_at:  # seen since the claim, and not there
            return False
    return now - claim.claimed_at < CLAIM_IN_FLIGHT


def _claim_in(session: Session, start: datetime, number: int) -> Claim:
    now = utcnow()
    current = session.get(SlotClaim, start)
    if current is None:
        session.execute(insert(SlotClaim).values(start=start, number=number, claimed_at=now))
        return Claim.CLAIMED
    if current.number == number:
        return Claim.ALREADY_OURS
    if _holds(session, current, now):
        return Claim.TAKEN
    taken_over = session.execute(  # only if nobody changed it since it was read
        update(SlotClaim)
        .where(SlotClaim.start == start, SlotClaim.claimed_at == current.claimed_at)
        .values(number=number, claimed_at=now)
    )
    return Claim.CLAIMED if getattr(taken_over, "rowcount", 0) == 1 else Claim.TAKEN


async def claim(bind: Any, start: datetime, number: int) -> Claim:
    """Claim `start` for ticket `number`."""
    try:
        return await write_in_one_go(bind, lambda session: _claim_in(session, start, number))
    except IntegrityError:  # another process inserted it first
        return Claim.TAKEN


async def release(bind: Any, start: datetime, number: int) -> None:
    """Give up the claim of a booking that did not happen."""
    await write_in_one_go(
        bind,
        lambda session: session.execute(
            delete(SlotClaim).where(SlotClaim.start == start, SlotClaim.number == number)
        ),
    )
