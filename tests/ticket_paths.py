"""Tickets walked through the pure workflow rules (soporte.ticket_state), then projected with
the real projection code into a test read model: the list and report tests get tickets in
any state, with the events the workflow logs, without running a workflow per ticket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.projection import project
from soporte.policy import Channel, Kind, Priority, ResolutionKind, Visibility
from soporte.policy import ticket as ts
from soporte.policy.ticket import TicketState
from soporte.policy.tickets import (
    ClientMessage,
    EngineerMessage,
    ProjectionBatch,
    RatingCommand,
    ReopenCommand,
    RequestInfoCommand,
    ResolveCommand,
    TicketView,
)
from tests.workflow_support import ENGINEER, ticket_input


@dataclass
class Walk:
    """One ticket's state, moved by the same transitions its workflow applies."""

    state: TicketState

    @classmethod
    def open(
        cls,
        number: int,
        at: datetime,
        *,
        priority: Priority = Priority.P2,
        kind: Kind = Kind.SUPPORT,
        assignee: str | None = ENGINEER,
        **fields: Any,
    ) -> Walk:
        ticket = ticket_input(
            number=number, registered_at=at, kind=kind, priority=priority, **fields
        )
        state = TicketState.initial(ticket)
        ts.auto_assign(state, assignee, at)
        ts.acknowledge(state, at)
        return cls(state)

    def until(self, at: datetime) -> Walk:
        """The deadline loop up to `at`: warnings, breaches, reminders as they fall due."""
        while (deadline := ts.next_deadline(self.state, at)) is not None and deadline.at <= at:
            ts.apply_deadline(self.state, deadline)
        return self

    def reply(self, at: datetime, visibility: Visibility = Visibility.PUBLIC) -> Walk:
        self.until(at)
        author = self.state.assignee or ENGINEER
        ts.reply(
            self.state, EngineerMessage(author_email=author, body="r", visibility=visibility), at
        )
        return self

    def request_info(self, at: datetime) -> Walk:
        self.until(at)
        ts.request_info(self.state, RequestInfoCommand(actor_email=ENGINEER, body="¿?"), at)
        return self

    def client_reply(self, at: datetime) -> Walk:
        self.until(at)
        message = ClientMessage(
            message_id=f"m-{at.isoformat()}",
            author_email=self.state.input.reporter_email,
            body="aquí está",
            channel=Channel.WEB,
        )
        ts.client_message(self.state, message, at)
        return self

    def resolve(self, at: datetime) -> Walk:
        self.until(at)
        command = ResolveCommand(actor_email=ENGINEER, kind=ResolutionKind.SOLUTION, body="ok")
        ts.resolve(self.state, command, at)
        return self

    def reopen(self, at: datetime) -> Walk:
        self.until(at)
        reporter = self.state.input.reporter_email
        ts.reopen(self.state, ReopenCommand(actor_email=reporter, reason="sigue"), at)
        return self

    def rate(self, at: datetime, score: int) -> Walk:
        self.until(at)
        reporter = self.state.input.reporter_email
        ts.rate(self.state, RatingCommand(actor_email=reporter, score=score), at)
        return self

    @property
    def view(self) -> TicketView:
        return ts.view(self.state)

    def batch(self) -> ProjectionBatch:
        return ProjectionBatch(view=self.view, events=list(self.state.pending_events))


async def store(sessions: async_sessionmaker[AsyncSession], *walks: Walk) -> None:
    """Project each ticket as its workflow would: view and log in one batch."""
    for walk in walks:
        await project(sessions, walk.batch())
        ts.mark_projected(walk.state, walk.state.last_seq)
