"""The weekly Comité Operativo (POLICY.md, "Requirements and the weekly committee").

Pure (pydantic + stdlib + the business calendar): imported by the committee workflow, its
activities and the API alike. A session gathers every requirement not yet decided into its
agenda, takes one decision per item, and ends at the close of its business day; whatever is
still undecided is simply still pending_committee, so the next session's agenda has it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from soporte.policy.calendar import BOGOTA, OPENING_HOURS, BusinessCalendar, require_aware
from soporte.policy.config import CommitteeSchedule
from soporte.policy.refusals import Refusal, RefusalCode

# Ids of the sessions started by the schedule (Temporal appends the scheduled instant).
SCHEDULED_SESSION_ID_PREFIX = "committee-session"
MANUAL_SESSION_ID_PREFIX = "committee-manual"
COMMITTEE_SESSION_ID_PREFIXES = (SCHEDULED_SESSION_ID_PREFIX, MANUAL_SESSION_ID_PREFIX)
COMMITTEE_RECIPIENT = "@committee"


class SessionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class DecisionKind(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    DEFER = "defer"


class AgendaItem(BaseModel):
    """A requirement waiting for the committee: pending_committee, in order of filing."""

    number: int
    subject: str
    nit: str
    client_name: str
    filed_at: datetime


class Decision(BaseModel):
    """Update `decide`: what the committee decided about one agenda item."""

    number: int
    decision: DecisionKind
    estimated_delivery: date | None = None
    reason: str | None = None
    decided_by: str = ""


class RecordedDecision(Decision):
    decided_at: datetime


class CommitteeDecisionSignal(BaseModel):
    """Signal `committee_decision` to the requirement's ticket workflow `ticket-<number>`.

    accept: the ticket becomes planned with estimated_delivery and the client is told;
    reject: the ticket is resolved (kind rejected) with reason and the client is told;
    defer: the ticket stays pending_committee (optionally logging the reason).
    """

    number: int
    decision: DecisionKind
    estimated_delivery: date | None = None
    reason: str | None = None
    session_id: str
    decided_by: str = ""
    decided_at: datetime


class SessionInput(BaseModel):
    """How a session starts. The schedule starts it with no input at all; every field left
    out is taken from the workflow: its id, workflow.now(), holidays from an activity, and
    session_end() of the start."""

    session_id: str | None = None
    started_at: datetime | None = None
    ends_at: datetime | None = None
    holidays: list[date] | None = None
    started_by: str = "schedule"


class SessionView(BaseModel):
    session_id: str
    started_at: datetime
    ends_at: datetime
    status: SessionStatus = SessionStatus.OPEN
    started_by: str = "schedule"
    agenda: list[AgendaItem] = Field(default_factory=list)
    decisions: list[RecordedDecision] = Field(default_factory=list)
    # Grows with every change: a projection never overwrites a newer one.
    version: int = 0

    def undecided(self) -> list[AgendaItem]:
        decided = {d.number for d in self.decisions}
        return [item for item in self.agenda if item.number not in decided]


def manual_session_id(at: datetime) -> str:
    """The workflow id of a session an admin starts now."""
    require_aware(at)
    return f"{MANUAL_SESSION_ID_PREFIX}-{at.astimezone(BOGOTA):%Y%m%dT%H%M%S}"


def in_filing_order(items: Iterable[AgendaItem]) -> list[AgendaItem]:
    return sorted(items, key=lambda item: (item.filed_at, item.number))


def _first_open_instant(started_at: datetime, calendar: BusinessCalendar) -> datetime:
    if calendar.is_open(started_at):
        return started_at
    one_second = timedelta(seconds=1)
    return calendar.add(started_at, one_second) - one_second


def session_end(started_at: datetime, calendar: BusinessCalendar) -> datetime:
    """The close of the session's business day; started outside business hours, the close
    of the next business day."""
    require_aware(started_at)
    open_at = _first_open_instant(started_at, calendar).astimezone(BOGOTA)
    hours = OPENING_HOURS[open_at.weekday()]
    assert hours is not None, "the calendar opened on a closed weekday"  # nosec B101  # invariant (never run -O)
    return datetime.combine(open_at.date(), hours[1], tzinfo=BOGOTA)


def bogota_today(now: datetime) -> date:
    require_aware(now)
    return now.astimezone(BOGOTA).date()


def decision_problem(
    decision: Decision, agenda: Iterable[AgendaItem], taken: Iterable[int], today: date
) -> Refusal | None:
    """Why a decision is refused (None when acceptable). `taken` holds the numbers already
    decided or being decided; `today` is the Bogota date of the decision."""
    number = decision.number
    if number not in {item.number for item in agenda}:
        message = f"requirement {number} is not on this session's agenda"
        return Refusal(RefusalCode.NOT_ON_AGENDA, message)
    if number in set(taken):
        message = f"requirement {number} has already been decided in this session"
        return Refusal(RefusalCode.ALREADY_DECIDED, message)
    if decision.decision is DecisionKind.ACCEPT:
        if decision.estimated_delivery is None:
            message = "required to accept a requirement"
            return Refusal(RefusalCode.REQUIRED, message, "estimated_delivery")
        if decision.estimated_delivery < today:
            message = f"{decision.estimated_delivery} is in the past (today is {today})"
            return Refusal(RefusalCode.IN_THE_PAST, message, "estimated_delivery")
    if decision.decision is DecisionKind.REJECT and not (decision.reason or "").strip():
        return Refusal(RefusalCode.REQUIRED, "required to reject a requirement", "reason")
    return None


def decision_signal(decision: RecordedDecision, session_id: str) -> CommitteeDecisionSignal:
    return CommitteeDecisionSignal(
        number=decision.number,
        decision=decision.decision,
        estimated_delivery=decision.estimated_delivery,
        reason=decision.reason,
        session_id=session_id,
        decided_by=decision.decided_by,
        decided_at=decision.decided_at,
    )


def next_session(schedule: CommitteeSchedule, after: datetime) -> datetime:
    """The first weekly session (POLICY §VI.d, Bogota wall time) strictly after `after`: the
    one a requirement filed then is reviewed in."""
    require_aware(after)
    local = after.astimezone(BOGOTA)
    days_ahead = (schedule.weekday - local.weekday()) % 7
    day = local.date() + timedelta(days=days_ahead)
    candidate = datetime.combine(day, schedule.at, BOGOTA)
    if candidate <= local:
        candidate += timedelta(days=7)
    return candidate.astimezone(UTC)
