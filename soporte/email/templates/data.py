"""Reading notification data safely: a template never fails on a missing or odd value."""

from __future__ import annotations

import re

from soporte.email.subject_tag import subject_tag
from soporte.email.templates.document import Action, Block, Facts, Para
from soporte.email.templates.formatting import MISSING_INFO_LABELS, PRIORITY_LABELS, format_bogota
from soporte.policy import NO_CLIENT_REPLY_TEXT
from soporte.policy.tickets import Notification

# --- Reading notification data safely ---------------------------------------------------


class _Data:
    def __init__(self, notification: Notification) -> None:
        self.number = notification.number if isinstance(notification.number, int) else 0
        self._values = notification.data if isinstance(notification.data, dict) else {}

    def text(self, key: str, default: str = "") -> str:
        value = self._values.get(key)
        if value is None:
            return default
        return str(value).strip() or default

    def when(self, key: str) -> str:
        value = self._values.get(key)
        return format_bogota(value) if value not in (None, "") else ""

    def records(self, key: str) -> list[dict[str, object]]:
        value = self._values.get(key)
        if not isinstance(value, list):
            return []
        return [item for item in value if isinstance(item, dict)]

    def items(self, key: str) -> list[str]:
        value = self._values.get(key)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            return []
        return [str(item).strip() for item in value if str(item).strip()]

    @property
    def ticket(self) -> str:
        return f"#{self.number}" if self.number else ""

    def subject(self, tail: str) -> str:
        subject = re.sub(r"\s+", " ", tail).strip()[:200]
        return f"{subject_tag(self.number)} {subject}" if self.number else subject

    def with_subject(self, prefix: str) -> str:
        """'prefix: <ticket subject>' or just the prefix when the ticket has no subject."""
        subject = self.text("subject")
        return self.subject(f"{prefix}: {subject}" if subject else prefix)

    def greeting(self) -> Para:
        name = self.text("recipient_name")
        return Para(f"Cordial saludo, {name}." if name else "Cordial saludo.")

    def portal_link(self) -> list[Block]:
        url = self.text("ticket_url")
        return [Action("Consulte su solicitud en el portal", url)] if url else []

    def facts(self, *rows: tuple[str, str]) -> Facts:
        return Facts([(label, value) for label, value in rows if value])


def _priority_label(data: _Data) -> str:
    value = data.text("priority")
    return PRIORITY_LABELS.get(value, value)


def _missing_info_items(data: _Data) -> list[str]:
    return [MISSING_INFO_LABELS.get(item, item) for item in data.items("missing_info")]


def _reopen_sentence(data: _Data) -> list[Block]:
    until = data.when("reopen_until")
    if not until:
        return []
    return [
        Para(
            "Si el problema continúa, puede pedir que la reabramos respondiendo a este correo "
            f"con el motivo, a más tardar el {until}."
        )
    ]


def _abandon_sentence(data: _Data) -> Para:
    when = data.when("abandon_at")
    deadline = f" antes del {when}" if when else " en los próximos días"
    return Para(
        "Mientras esperamos su respuesta, el tiempo de atención queda en pausa. Si no recibimos "
        f"respuesta{deadline}, daremos la solicitud por resuelta «{NO_CLIENT_REPLY_TEXT}»."
    )
