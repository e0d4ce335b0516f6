"""Orphan repair: a ticket whose intake row was written but whose workflow never started
(the API was killed between the two) is started at worker start from its stored input.

The request was stored, so we keep our word rather than hide it: the ticket keeps its
number and its registration instant (its SLA counts from then), and a client who retries
with the same Idempotency-Key finds the same ticket. A row is an orphan candidate while
the read model has no ticket for it; a workflow that exists already (not yet projected:
its worker was down) is found by the start and left alone.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client as TemporalClient
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from soporte.db.models import Ticket, TicketIntake
from soporte.db.session import create_engine, create_sessionmaker
from soporte.policy.tickets import workflow_id
from soporte.services.intake import TICKET_WORKFLOW, stored_input
from soporte.settings import Settings

log = logging.getLogger("soporte.orphans")


async def unprojected(engine: AsyncEngine) -> list[TicketIntake]:
    """Intake rows with a stored input and no ticket in the read model, oldest first."""
    query = (
        select(TicketIntake)
        .outerjoin(Ticket, Ticket.number == TicketIntake.number)
        .where(Ticket.number.is_(None), TicketIntake.input.is_not(None))
        .order_by(TicketIntake.number)
    )
    async with create_sessionmaker(engine)() as session:
        return list(await session.scalars(query))


async def repair_orphans(
    temporal: TemporalClient, settings: Settings, engine: AsyncEngine | None = None
) -> list[int]:
    """Start the workflow of every orphan ticket; the numbers started."""
    own = engine is None
    engine = engine or create_engine(settings.effective_database_url)
    try:
        rows = await unprojected(engine)
    finally:
        if own:
            await engine.dispose()
    started: list[int] = []
    for row in rows:
        ticket = stored_input(row)
        if ticket is None:
            continue
        try:
            await temporal.start_workflow(
                TICKET_WORKFLOW,
                ticket,
                id=workflow_id(ticket.number),
                task_queue=settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            continue
        started.append(ticket.number)
    if started:
        log.warning("started %d orphan tickets from their stored input: %s", len(started), started)
    return started
