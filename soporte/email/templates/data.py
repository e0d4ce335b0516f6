"""Reading notification data safely: a template never fails on a missing or odd value."""

from __future__ import annotations

import re

from soporte.email.subject_tag import subject_tag
from soporte.email.templates.document import Action, Block, Facts, Para
from soporte.email.templates.formatting import (
    MISSING_INFO_LABELS,
    PRIORITY_LABELS,
    ZONE_NAME,
    format_bogota,
)
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

    def flag(self, key: str) -> bool:
        return self._values.get(key) is True

    @property
    def kind(self) -> str:
        """support, requirement or advisory (older data: read from the priority word)."""
        kind = self.text("kind")
        if kind:
            return kind
        priority = self.text("priority")
        return priority if priority in ("requirement", "advisory") else "support"


def _channel_facts(data: _Data) -> Facts:
    """The vendor's channels (POLICY.md "Channels"), from the settings the sender passed."""
    emails = " o ".join(data.items("support_emails"))
    return data.facts(
        ("Línea única", data.text("support_phone")),
        ("Correo", emails),
        ("Página de contacto", data.text("contact_url")),
    )


def _p1_line(data: _Data) -> str:
    """The P1 line and its hours, or "" when the sender did not pass them."""
    phone, hours = data.text("p1_phone"), data.text("p1_phone_hours")
    if not phone:
        return ""
    return f"{phone} ({hours}, {ZONE_NAME})" if hours else phone


def _priority_label(data: _Data) -> str:
    value = data.text("priority")
    return PRIORITY_LABELS.get(value, value)


def _missing_info_items(data: _Data) -> list[str]:
    return [MISSING_INFO_LABELS.get(item, item) for item in data.items("missing_info")]


# What a client may ask for within the reopen window, by what was resolved (POLICY §VIII.c).
_REOPEN_ASKS = {
    "support": "Si el problema continúa, puede pedir que reabramos la solicitud",
    "advisory": "Si quedó un tema pendiente de la asesoría, puede pedir que reabramos la solicitud",
    "rejected": "Si quiere que el Comité Operativo reconsidere su requerimiento, puede pedirlo",
    "delivered": (
        "Si la mejora entregada no hace lo que se acordó, puede pedir que reabramos el "
        "requerimiento"
    ),
}


def _reopen_sentence(data: _Data, case: str = "support") -> list[Block]:
    """Until when and how the client may ask to reopen (nothing when the end is unknown)."""
    until = data.when("reopen_until")
    if not until:
        return []
    ask = _REOPEN_ASKS.get(case, _REOPEN_ASKS["support"])
    return [
        Para(
            f"{ask} respondiendo a este correo con el motivo, a más tardar el {until}. "
            "Después de esa fecha la solicitud queda cerrada y, si lo necesita, abrimos una nueva."
        )
    ]


def _abandon_sentence(data: _Data, *, paused: bool = True) -> Para:
    """What happens without an answer; `paused` says the SLA clock stopped (support only)."""
    when = data.when("abandon_at")
    deadline = f" antes del {when}" if when else " en los próximos días"
    pause = (
        "Mientras esperamos su respuesta, el tiempo de atención queda en pausa. " if paused else ""
    )
    return Para(
        f"{pause}Si no recibimos respuesta{deadline}, daremos la solicitud por resuelta "
        f"«{NO_CLIENT_REPLY_TEXT}»."
    )
