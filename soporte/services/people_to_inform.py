"""People to inform (POLICY.md "Who sees what"): active contacts of the ticket's own client.

One rule for every door: the API and the portal refuse any other address naming it
(`soporte.services.intake.check_people_to_inform`), the email intake keeps only these among
To and Cc, and the notification activity checks them again at send time (a contact
deactivated or moved to another client since gets nothing more).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BindParameter, ColumnElement, ScalarSelect, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from soporte.db.models import Contact, TicketIntake


def normalized(addresses: Iterable[str]) -> set[str]:
    return {address.strip().lower() for address in addresses if "@" in address}


def _informable(
    nit: str | ColumnElement[str], wanted: list[str] | BindParameter[list[str]]
) -> Select[str]:
    return select(Contact.email).where(
        Contact.email.in_(wanted), Contact.client_nit == nit, Contact.active.is_(True)
    )


def informable_about(number: int, addresses: Iterable[str]) -> Select[str]:
    """`informable` for the client of ticket `number`, its NIT read in the same statement."""
    return _informable(_nit_of(number), sorted(normalized(addresses)))


def _nit_of(number: int | BindParameter[int]) -> ScalarSelect[str]:
    return select(TicketIntake.nit).where(TicketIntake.number == number).scalar_subquery()


# informable_about as one statement built once, for the hot path (every mail about a ticket
# checks its addresses): parameters `number` and `addresses` (normalized, as a list).
INFORMABLE_ABOUT = _informable(
    _nit_of(bindparam("number")), bindparam("addresses", expanding=True)
)


async def informable(session: AsyncSession, nit: str, addresses: Iterable[str]) -> set[str]:
    """The addresses among `addresses` that are active contacts of the client `nit`."""
    wanted = sorted(normalized(addresses))
    if not wanted:
        return set()
    return set((await session.scalars(_informable(nit, wanted))).all())
