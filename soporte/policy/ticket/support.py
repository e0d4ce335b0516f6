"""Commands on a support ticket: the check_/apply pairs (updates with validators)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from soporte.policy import (
    NO_CLIENT_REPLY_TEXT,
    SUPPORT_PRIORITIES,
    Kind,
    Priority,
    ResolutionKind,
    Status,
    Visibility,
)
from soporte.policy.names import MailTemplate
from soporte.policy.ticket.intake import _assign, _resume_clock
from soporte.policy.ticket.journal import _log, _notify, _set_status
from soporte.policy.ticket.sla_clock import _record_first_response, _reevaluate_flags, sla_instants
from soporte.policy.ticket.state import (
    ENGINEER_RESOLUTION_KINDS,
    CommandRefused,
    PauseSpan,
    SlaFlags,
    TicketState,
    abandon_threshold,
    client_recipients,
    has_sla_clock,
    is_open,
    is_waiting,
    iso,
    utc,
    working_status,
)
from soporte.policy.tickets import (
    AbandonCommand,
    AssignCommand,
    AttachmentRef,
    ClientMessage,
    EngineerMessage,
    EventType,
    PriorityCommand,
    RatingCommand,
    RatingView,
    ReopenCommand,
    RequestInfoCommand,
    ResolutionView,
    ResolveCommand,
)


def _require_open(state: TicketState, doing: str) -> None:
    if not is_open(state):
        raise CommandRefused(
            f"ticket #{state.input.number} is {state.status.value}: cannot {doing}"
        )


def _require_text(text: str, field: str) -> None:
    if not text.strip():
        raise CommandRefused(f"{field} must not be empty", "InvalidInput")


def check_reply(state: TicketState, message: EngineerMessage, now: datetime) -> None:
    if state.status is Status.CLOSED:
        raise CommandRefused(f"ticket #{state.input.number} is closed: cannot add a message")
    _require_text(message.body, "body")


def reply(state: TicketState, message: EngineerMessage, now: datetime) -> int:
    """A public reply (to the client; the first one is the first response) or internal note."""
    check_reply(state, message, now)
    if message.visibility is Visibility.INTERNAL:
        _log(
            state,
            now,
            EventType.INTERNAL_NOTE,
            actor=message.author_email,
            visibility=Visibility.INTERNAL,
            body=message.body,
            data=_attachments(message.attachments),
        )
        return state.last_seq
    _log(
        state,
        now,
        EventType.ENGINEER_REPLY,
        actor=message.author_email,
        body=message.body,
        data=_attachments(message.attachments),
    )
    _record_first_response(state, now)
    if state.status is Status.OPEN:
        _set_status(state, now, Status.IN_PROGRESS, message.author_email)
    _notify(
        state,
        now,
        MailTemplate.ENGINEER_REPLY,
        client_recipients(state),
        {"author": message.author_email, "body": message.body},
        to_client=True,
    )
    return state.last_seq


def _attachments(attachments: list[AttachmentRef]) -> dict[str, object]:
    return {"attachments": [a.model_dump() for a in attachments]} if attachments else {}


def check_assign(state: TicketState, command: AssignCommand, now: datetime) -> None:
    _require_open(state, "change the assignment")
    _require_text(command.engineer_email, "engineer_email")
    if (state.assignee or "").lower() == command.engineer_email.lower():
        raise CommandRefused(
            f"ticket #{state.input.number} is already assigned to {command.engineer_email}"
        )


def assign(state: TicketState, command: AssignCommand, now: datetime) -> int:
    check_assign(state, command, now)
    _assign(state, command.engineer_email, command.actor_email, now)
    return state.last_seq


def check_change_priority(state: TicketState, command: PriorityCommand, now: datetime) -> None:
    _require_open(state, "change the priority")
    if state.input.kind is not Kind.SUPPORT:
        raise CommandRefused(
            f"ticket #{state.input.number} is a {state.input.kind.value}: "
            "only support tickets have a priority to change"
        )
    if command.priority not in SUPPORT_PRIORITIES:
        names = ", ".join(p.value for p in SUPPORT_PRIORITIES)
        raise CommandRefused(f"a support ticket's priority is one of {names}", "InvalidInput")
    _require_text(command.reason, "reason")
    if command.priority is state.priority:
        raise CommandRefused(f"ticket #{state.input.number} is already {state.priority.value}")


def change_priority(state: TicketState, command: PriorityCommand, now: datetime) -> int:
    """New priority: due instants recomputed from the SLA start, flags re-evaluated."""
    check_change_priority(state, command, now)
    data = _set_priority(state, now, command.priority, command.reason, command.actor_email, {})
    _notify(
        state, now, MailTemplate.PRIORITY_CHANGED, client_recipients(state), data, to_client=True
    )
    return state.last_seq


def _set_priority(
    state: TicketState,
    now: datetime,
    priority: Priority,
    reason: str,
    actor: str,
    extra: dict[str, object],
) -> dict[str, object]:
    """Change the priority and log it; returns the logged data for the notifications."""
    previous = state.priority
    state.priority = priority
    _reevaluate_flags(state, utc(now))
    instants = sla_instants(state)
    data: dict[str, object] = {
        "from": previous.value,
        "to": priority.value,
        "reason": reason,
        "first_response_due": iso(instants.first_response_due),
        "resolution_due": iso(instants.resolution_due),
        **extra,
    }
    _log(state, now, EventType.PRIORITY_CHANGED, actor=actor, body=reason, data=data)
    return data


def check_request_info(state: TicketState, command: RequestInfoCommand, now: datetime) -> None:
    if state.status is Status.WAITING_ON_CLIENT:
        raise CommandRefused(
            f"ticket #{state.input.number} already waits on the client since "
            f"{iso(state.waiting_since)}; reminders go out on their own"
        )
    _require_open(state, "request information")
    _require_text(command.body, "body")


def request_info(state: TicketState, command: RequestInfoCommand, now: datetime) -> int:
    """Attempt 1 of waiting on the client: the SLA clock pauses (POLICY §VIII.b)."""
    check_request_info(state, command, now)
    _record_first_response(state, now)
    state.waiting_since = utc(now)
    state.waiting_attempts = 1
    data: dict[str, object] = {"attempt": 1}
    _log(
        state,
        now,
        EventType.INFO_REQUESTED,
        actor=command.actor_email,
        body=command.body,
        data=data,
    )
    if state.sla_started_at is not None and has_sla_clock(state):
        state.pauses.append(PauseSpan(paused_at=utc(now)))
        _log(state, now, EventType.SLA_PAUSED, visibility=Visibility.INTERNAL)
    _set_status(state, now, Status.WAITING_ON_CLIENT, command.actor_email)
    _notify(
        state,
        now,
        MailTemplate.REQUEST_INFO,
        client_recipients(state),
        {"body": command.body, "author": command.actor_email},
        to_client=True,
    )
    return state.last_seq


def check_resolve(state: TicketState, command: ResolveCommand, now: datetime) -> None:
    if state.status is Status.RESOLVED and state.resolution is not None:
        raise CommandRefused(
            f"ticket #{state.input.number} was already resolved at {iso(state.resolution.at)}"
        )
    _require_open(state, "resolve it")
    if command.kind not in ENGINEER_RESOLUTION_KINDS:
        names = ", ".join(k.value for k in ENGINEER_RESOLUTION_KINDS)
        raise CommandRefused(f"a resolution's kind is one of {names}", "InvalidInput")
    _require_text(command.body, "body")


def resolve(state: TicketState, command: ResolveCommand, now: datetime) -> int:
    check_resolve(state, command, now)
    _record_first_response(state, now)
    _resolve(state, now, command.kind, command.body, command.actor_email, {})
    _notify(
        state,
        now,
        MailTemplate.RESOLVED,
        client_recipients(state),
        {"resolution_kind": command.kind.value, "body": command.body},
        to_client=True,
    )
    _notify(state, now, MailTemplate.RATING_INVITATION, client_recipients(state), to_client=True)
    return state.last_seq


def _resolve(
    state: TicketState,
    now: datetime,
    kind: ResolutionKind,
    body: str,
    actor: str,
    data: dict[str, object],
) -> None:
    at = max(utc(now), state.updated_at)
    _resume_clock(state, at, log=False)
    state.waiting_since = None
    state.waiting_attempts = 0
    state.slot_reminder_at = None
    state.resolution = ResolutionView(kind=kind, body=body, at=at, by=actor)
    state.reopen_until = at + state.input.policy.reopen_window
    _log(
        state,
        at,
        EventType.RESOLVED,
        actor=actor,
        body=body,
        data={"kind": kind.value, "reopen_until": iso(state.reopen_until), **data},
    )
    _set_status(state, at, Status.RESOLVED, actor)


def _resolve_without_reply(
    state: TicketState,
    now: datetime,
    kind: ResolutionKind,
    actor: str,
    data: dict[str, object],
) -> None:
    _resolve(state, now, kind, NO_CLIENT_REPLY_TEXT, actor, data)
    _notify(
        state,
        now,
        MailTemplate.RESOLVED_NO_REPLY,
        client_recipients(state),
        {"resolution_kind": kind.value, "body": NO_CLIENT_REPLY_TEXT},
        to_client=True,
    )


def check_abandon(state: TicketState, command: AbandonCommand, now: datetime) -> None:
    if not is_waiting(state):
        raise CommandRefused(
            f"ticket #{state.input.number} is {state.status.value}, not waiting on the "
            "client: only an unanswered ticket can be abandoned"
        )
    needed = abandon_threshold(state)
    if state.waiting_attempts < needed:
        raise CommandRefused(
            f"ticket #{state.input.number} has {state.waiting_attempts} unanswered "
            f"attempt(s); abandoning needs {needed}"
        )
    _require_text(command.reason, "reason")


def abandon(state: TicketState, command: AbandonCommand, now: datetime) -> int:
    check_abandon(state, command, now)
    _resolve_without_reply(
        state, now, ResolutionKind.ABANDONED, command.actor_email, {"reason": command.reason}
    )
    return state.last_seq


REOPEN_WINDOW_ENDED = "ReopenWindowEnded"


def reopen_window_ended_message(number: int, reopen_until: datetime, window: timedelta) -> str:
    """The refusal for a late reopen; the API says the same once the workflow is gone."""
    days = window.days if window.days and not window.seconds else None
    length = f"{days} days" if days else str(window)
    return (
        f"the reopen window of {length} ended on {iso(reopen_until)}; "
        f"open a new ticket that refers to #{number}"
    )


def reopen_request(status: Status, message: ClientMessage) -> ReopenCommand | None:
    """The reopen rule of every channel (POLICY.md, "Resolution, reopening, closing").

    A message of the client on a resolved ticket (portal, API or email) asks to reopen it,
    with the message as the reason; `check_reopen` then decides on the window. On a closed
    ticket (the window ended) it is the same request, which `check_reopen` refuses with the
    policy's message. Any other status: the message is only a message (None).
    """
    if status not in (Status.RESOLVED, Status.CLOSED):
        return None
    return ReopenCommand(actor_email=message.author_email, reason=message.body)


def check_reopen(state: TicketState, command: ReopenCommand, now: datetime) -> None:
    number = state.input.number
    if state.status is Status.CLOSED or (
        state.reopen_until is not None and utc(now) >= state.reopen_until
    ):
        until = state.reopen_until or state.updated_at
        raise CommandRefused(
            reopen_window_ended_message(number, until, state.input.policy.reopen_window),
            REOPEN_WINDOW_ENDED,
        )
    if state.status is not Status.RESOLVED:
        raise CommandRefused(
            f"ticket #{number} is {state.status.value}, not resolved: there is nothing to reopen"
        )
    _require_text(command.reason, "reason")


def reopen(state: TicketState, command: ReopenCommand, now: datetime) -> int:
    """Back to work with a new resolution target counted from now (POLICY §VIII.c)."""
    check_reopen(state, command, now)
    at = max(utc(now), state.updated_at)
    previous = state.resolution
    state.resolution = None
    state.reopen_until = None
    state.rating = None
    # A reopened advisory books a new session (the last one is in the log).
    state.booked_slot = None
    if has_sla_clock(state) and state.sla_started_at is not None:
        state.resolution_counted_from = at
        state.resolution_flags = SlaFlags()
    _log(
        state,
        at,
        EventType.REOPENED,
        actor=command.actor_email,
        body=command.reason,
        data={"previous_resolution": previous.model_dump(mode="json") if previous else None},
    )
    _set_status(state, at, working_status(state), command.actor_email)
    data: dict[str, object] = {"reason": command.reason}
    _notify(state, at, MailTemplate.REOPENED, client_recipients(state), data, to_client=True)
    _notify(state, at, MailTemplate.REOPENED, ["@assignee"], data, to_client=False)
    return state.last_seq


def check_rate(state: TicketState, command: RatingCommand, now: datetime) -> None:
    if state.status is not Status.RESOLVED:
        raise CommandRefused(
            f"ticket #{state.input.number} is {state.status.value}: "
            "a rating is given once the ticket is resolved"
        )
    if state.rating is not None:
        raise CommandRefused(f"ticket #{state.input.number} was already rated {state.rating.score}")
    if not 1 <= command.score <= 5:
        raise CommandRefused("score must be between 1 and 5", "InvalidInput")


def rate(state: TicketState, command: RatingCommand, now: datetime) -> int:
    check_rate(state, command, now)
    at = max(utc(now), state.updated_at)
    state.rating = RatingView(score=command.score, comment=command.comment, at=at)
    _log(
        state,
        at,
        EventType.RATED,
        actor=command.actor_email,
        body=command.comment,
        data={"score": command.score},
    )
    return state.last_seq


# "5", "5, excelente atención", "4/5 bien", "3 - regular": a score 1-5 first, then a comment.
_LEADING_SCORE = re.compile(
    r"^\s*([1-5])(?:\s*/\s*5)?(?![\d.,]\d)(?:\s*[,.;:–—-]\s*|\s+|$)(.*)$", re.S
)


def score_at_start(text: str) -> tuple[int, str] | None:
    """The score and comment of a reply to the rating invitation that starts with a score
    (POLICY §VIII: it records the rating and never reopens); None when it does not."""
    match = _LEADING_SCORE.match(text)
    if match is None:
        return None
    return int(match.group(1)), match.group(2).strip()
