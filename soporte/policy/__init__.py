"""The pure policy core (POLICY.md): the rules, the numbers and the words of the desk.

What a workflow may import, and nothing else. No module here does I/O, reads the clock,
or imports the database, the web framework, the holiday library or the rest of the
project; import-linter enforces it (pyproject.toml, `make lint`).

The policy's words (the enums every layer uses) are re-exported here, so
`from soporte.policy import Priority, Status` keeps working.
"""

from soporte.policy.words import (
    NO_CLIENT_REPLY_TEXT,
    SUPPORT_PRIORITIES,
    Channel,
    Kind,
    Priority,
    ResolutionKind,
    Role,
    Status,
    Visibility,
)

__all__ = [
    "NO_CLIENT_REPLY_TEXT",
    "SUPPORT_PRIORITIES",
    "Channel",
    "Kind",
    "Priority",
    "ResolutionKind",
    "Role",
    "Status",
    "Visibility",
]
