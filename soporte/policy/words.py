"""The words of the support policy (POLICY.md) as enums. Pure: no I/O."""

from enum import StrEnum


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    REQUIREMENT = "requirement"
    ADVISORY = "advisory"

    @property
    def has_sla_clock(self) -> bool:
        return self in (Priority.P1, Priority.P2, Priority.P3)


SUPPORT_PRIORITIES = (Priority.P1, Priority.P2, Priority.P3)


class Kind(StrEnum):
    SUPPORT = "support"
    REQUIREMENT = "requirement"
    ADVISORY = "advisory"


class Status(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CLIENT = "waiting_on_client"
    PENDING_COMMITTEE = "pending_committee"
    PLANNED = "planned"
    SCHEDULING = "scheduling"
    SCHEDULED = "scheduled"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Channel(StrEnum):
    WEB = "web"
    EMAIL = "email"
    PHONE = "phone"


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class ResolutionKind(StrEnum):
    SOLUTION = "solution"
    INSTRUCTIONS = "instructions"
    ADVICE = "advice"
    NO_CLIENT_REPLY = "no_client_reply"
    ABANDONED = "abandoned"
    REJECTED = "rejected"
    DELIVERED = "delivered"


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    ENGINEER = "engineer"
    COMMITTEE = "committee"
    CONTACT = "contact"


NO_CLIENT_REPLY_TEXT = "sin respuesta del cliente"
