"""The Comité Operativo's Temporal Schedule, and starting a session now.

Not a workflow module (it uses temporalio.client). The worker calls
ensure_committee_schedule at start: it creates the schedule `committee-weekly`, or brings an
existing one up to date with SOPORTE_COMMITTEE_SCHEDULE (keeping its paused state), so any
number of starts leaves exactly one schedule.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowHandle,
)

from soporte.policy.committee import (
    SCHEDULED_SESSION_ID_PREFIX,
    SessionInput,
    manual_session_id,
)
from soporte.policy.config import CommitteeSchedule
from soporte.policy.names import WorkflowType
from soporte.settings import Settings

COMMITTEE_SCHEDULE_ID = "committee-weekly"
SCHEDULE_TIME_ZONE = "America/Bogota"


def temporal_day_of_week(python_weekday: int) -> int:
    """Python's weekday (0=Monday) as Temporal's day_of_week (0=Sunday)."""
    return (python_weekday + 1) % 7


def schedule_spec(committee: CommitteeSchedule) -> ScheduleSpec:
    """Weekly on the committee's weekday and Bogota wall-clock time."""
    calendar = ScheduleCalendarSpec(
        second=[ScheduleRange(0)],
        minute=[ScheduleRange(committee.at.minute)],
        hour=[ScheduleRange(committee.at.hour)],
        day_of_week=[ScheduleRange(temporal_day_of_week(committee.weekday))],
        comment="Comité Operativo",
    )
    return ScheduleSpec(calendars=[calendar], time_zone_name=SCHEDULE_TIME_ZONE)


def committee_schedule(settings: Settings, task_queue: str | None = None) -> Schedule:
    action = ScheduleActionStartWorkflow(
        WorkflowType.COMMITTEE_SESSION.value,
        id=SCHEDULED_SESSION_ID_PREFIX,
        task_queue=task_queue or settings.task_queue,
    )
    return Schedule(
        action=action,
        spec=schedule_spec(settings.committee_schedule),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_committee_schedule(
    client: Client, settings: Settings, *, task_queue: str | None = None
) -> None:
    """Create the weekly schedule, or update the existing one; idempotent."""
    wanted = committee_schedule(settings, task_queue)
    try:
        await client.create_schedule(COMMITTEE_SCHEDULE_ID, wanted)
        return
    except ScheduleAlreadyRunningError:
        pass

    def keep_state(current: ScheduleUpdateInput) -> ScheduleUpdate:
        wanted.state = current.description.schedule.state
        return ScheduleUpdate(schedule=wanted)

    await client.get_schedule_handle(COMMITTEE_SCHEDULE_ID).update(keep_state)


async def next_committee_runs(client: Client) -> list[datetime]:
    """When the next sessions start (UTC), as the server computes them."""
    description = await client.get_schedule_handle(COMMITTEE_SCHEDULE_ID).describe()
    return [instant.astimezone(UTC) for instant in description.info.next_action_times]


async def start_session_now(
    client: Client,
    settings: Settings,
    *,
    started_by: str,
    now: datetime | None = None,
    task_queue: str | None = None,
) -> WorkflowHandle[object, object]:
    """An admin starts a session at once (POST /api/v1/committee/sessions)."""
    started_at = now or datetime.now(UTC)
    session_id = manual_session_id(started_at)
    return await client.start_workflow(
        WorkflowType.COMMITTEE_SESSION.value,
        SessionInput(session_id=session_id, started_by=started_by),
        id=session_id,
        task_queue=task_queue or settings.task_queue,
    )
