"""A notification's name (its id: what makes its send idempotent) comes from the step's
cause when the workflow sends mail from inside its task (TicketState.cause; the patch
local-mail in workflows/ticket.py): a retried task may number the log otherwise, and must
name the mail it already sent the same."""

from __future__ import annotations

from datetime import timedelta

from soporte.policy import Priority, ResolutionKind
from soporte.policy.names import MailTemplate
from soporte.policy.ticket import (
    Deadline,
    DeadlineAction,
    TicketState,
    acknowledge,
    apply_deadline,
    auto_assign,
    change_priority,
    client_message,
    deadline_cause,
    next_deadline,
    reopen,
    reply,
    resolve,
)
from soporte.policy.ticket.journal import _notify
from soporte.policy.tickets import (
    ClientMessage,
    EngineerMessage,
    PriorityCommand,
    ReopenCommand,
    ResolveCommand,
)
from tests.workflow_support import ENGINEER, REPORTER, bogota, ticket_input

TUESDAY = bogota(2026, 11, 24, 9, 0)


def registered(cause: str | None = "registration") -> TicketState:
    state = TicketState.initial(ticket_input(number=4242, registered_at=TUESDAY))
    state.cause = cause
    auto_assign(state, ENGINEER, TUESDAY)
    acknowledge(state, TUESDAY)
    state.cause = None
    return state


def message(message_id: str) -> ClientMessage:
    return ClientMessage(message_id=message_id, author_email=REPORTER, body="Adjunto")


def warning_fired(state: TicketState, named: bool, message_first: bool) -> tuple[str, int]:
    """The first-response warning applied as one attempt of a workflow task would: with a
    client message taken first or not; (the warning mail's id, its log line's seq)."""
    deadline = next_deadline(state, TUESDAY)
    assert deadline is not None and deadline.action is DeadlineAction.FIRST_RESPONSE_WARNING
    if message_first:
        state.cause = "client message m1" if named else None
        client_message(state, message("m1"), deadline.at)
    state.cause = deadline_cause(state, deadline) if named else None
    apply_deadline(state, deadline)
    state.cause = None
    [warning] = [n for n in state.outbox if n.template is MailTemplate.SLA_WARNING]
    return warning.id, state.last_seq


def test_a_retried_task_that_numbers_the_log_otherwise_names_the_same_mail_the_same() -> None:
    # The first attempt fired the warning alone and sent its mail from inside the task; the
    # retry took a client message that had come in meanwhile first (signals go first).
    first = warning_fired(registered(), named=True, message_first=False)
    retried = warning_fired(registered(), named=True, message_first=True)
    assert first[1] != retried[1]  # the log was numbered otherwise
    assert first[0] == retried[0]  # the mail is the same one: not sent again
    # Named by seq (no cause), the retry would have sent the warning again.
    by_seq = warning_fired(registered(None), named=False, message_first=False)
    by_seq_retried = warning_fired(registered(None), named=False, message_first=True)
    assert by_seq[0] != by_seq_retried[0]


def test_the_same_template_to_other_recipients_or_from_another_cause_is_another_mail() -> None:
    state = registered()
    state.cause = "client message m1"
    client_message(state, message("m1"), TUESDAY + timedelta(minutes=1))
    state.cause = "client message m2"
    client_message(state, message("m2"), TUESDAY + timedelta(minutes=2))
    state.cause = "update resolve-1"
    command = ResolveCommand(actor_email=ENGINEER, kind=ResolutionKind.SOLUTION, body="Listo")
    resolve(state, command, TUESDAY + timedelta(minutes=3))
    state.cause = "update reopen-1"
    reopen(
        state,
        ReopenCommand(actor_email=REPORTER, reason="Sigue igual"),
        TUESDAY + timedelta(minutes=4),
    )
    state.cause = None
    ids = [n.id for n in state.outbox]
    assert len(ids) == len(set(ids))
    told = [n.id for n in state.outbox if n.template is MailTemplate.CLIENT_MESSAGE]
    assert len(told) == 2  # one per message
    # The reopening tells the client and the assignee: one template, two recipients.
    reopened = [n for n in state.outbox if n.template is MailTemplate.REOPENED]
    assert len(reopened) == 2 and reopened[0].to != reopened[1].to
    number = state.input.number
    assert all(
        i.startswith(f"{number}-c") and i.endswith(f"-{n.template}")
        for i, n in zip(ids, state.outbox, strict=True)
    )


def test_a_deadline_is_named_by_its_firing_not_by_the_instant_it_falls_at() -> None:
    state = registered()
    action = DeadlineAction.RESOLUTION_WARNING
    early, late = TUESDAY + timedelta(hours=1), TUESDAY + timedelta(hours=9)
    assert deadline_cause(state, Deadline(early, action)) == deadline_cause(
        state, Deadline(late, action)
    )
    # A client message (a signal, first in a retried task) does not rename it.
    before = deadline_cause(state, Deadline(late, action))
    client_message(state, message("m1"), TUESDAY + timedelta(minutes=1))
    assert deadline_cause(state, Deadline(late, action)) == before


def test_a_warning_that_fires_again_after_a_priority_change_is_another_mail() -> None:
    # Warned of its P2 resolution, the ticket is lowered to P3: the warning's instant moves
    # days ahead and its flag is cleared (_reevaluate_flags), so it fires again then. That
    # is a second mail, never taken for the first (which would leave it unsent).
    state = registered()
    reply(state, EngineerMessage(author_email=ENGINEER, body="Revisando"), TUESDAY)
    warned: list[str] = []
    lowered = False
    while len(warned) < 2:
        deadline = next_deadline(state, TUESDAY)
        assert deadline is not None
        state.cause = deadline_cause(state, deadline)
        apply_deadline(state, deadline)
        state.cause = None
        warned += [n.id for n in state.outbox if n.template is MailTemplate.SLA_WARNING]
        state.outbox.clear()  # delivered
        if warned and not lowered:
            command = PriorityCommand(actor_email=ENGINEER, priority=Priority.P3, reason="menor")
            change_priority(state, command, deadline.at)
            state.outbox.clear()
            lowered = True
    assert warned[0] != warned[1]


def test_the_same_mail_twice_in_one_step_is_two_mails() -> None:
    state = registered()
    state.cause = "update twice"
    for _ in range(2):
        _notify(state, TUESDAY, MailTemplate.ASSIGNED, [ENGINEER], to_client=False)
    state.cause = None
    [first, second] = [n.id for n in state.outbox if n.template is MailTemplate.ASSIGNED][-2:]
    assert first != second
