"""Outbound mail: Spanish (es-CO) templates, and the headers that keep threads and loops sane.

`render(notification)` turns a `Notification` into subject, plain text and HTML, and never
raises: an unknown template or odd data still gives a valid, generic message.
`build_email` wraps the result in an RFC 5322 message. Pure: no I/O.

Data keys a template reads from `Notification.data` (all optional unless said):
- every template: `subject` (the ticket's), `recipient_name`, `ticket_url`
- acknowledgement: `priority` (P1|P2|P3|requirement|advisory), `kind`, `first_response_due`,
  `resolution_due`, `committee_at`, `booking_url`, `missing_info` (list of field codes
  such as `business_impact` or free sentences), `refused_attachments` (list of strings)
- engineer_reply: `body` (required), `engineer_name`
- request_info: `body` (required), `abandon_at`
- reminder: `attempt` (required), `body` (the pending request), `abandon_at`
- resolved: `resolution_kind`, `body`, `reopen_until`, `rating_url`
- resolved_no_reply: `reopen_until`
- reopened: `reason`, `resolution_due`
- closed: `reason`
- rating_invitation: `rating_url`
- sla_warning / sla_breach (staff): `target` (first_response|resolution), `due`, `priority`,
  `client_name`, `assignee`, `percent`
- priority_changed: `from`, `to` (priorities), `reason`, `first_response_due`, `resolution_due`
- assigned (staff): `client_name`, `priority`, `first_response_due`, `resolution_due`
- client_message (staff): `author`, `body`
- attachments_refused: `refused_attachments` (list of strings, required)
- refused_unknown_sender: `from_address`, `support_phone`
- refused_inactive_client: `client_name`, `support_phone`
- reopen_refused: `reopen_until`, `reason`
Instants are ISO 8601 strings (or aware datetimes) in UTC, shown in America/Bogota.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from soporte.policy import NO_CLIENT_REPLY_TEXT
from soporte.policy.tickets import Notification

BOGOTA = ZoneInfo("America/Bogota")
MESSAGE_ID_DOMAIN = "soporte.btw.com.co"
SIGNATURE = "Soporte Amazonas ERP · BTW"


# --- Message-IDs we can thread on -------------------------------------------------------

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_OUR_ID = re.compile(r"^<ticket-(\d{1,9})(?:\.[^@<>]*)?@([^<>@]+)>$")


def message_id_for(number: int, key: str, domain: str = MESSAGE_ID_DOMAIN) -> str:
    """`<ticket-1234.<key>@soporte.btw.com.co>`: stable for a stable key (the notification id),
    so a retried send carries the same id and a reply names its ticket."""
    safe_key = ".".join(part for part in _ID_UNSAFE.sub("-", key).split(".") if part) or "0"
    return f"<ticket-{int(number)}.{safe_key}@{domain}>"


def ticket_thread_id(number: int, domain: str = MESSAGE_ID_DOMAIN) -> str:
    """The virtual root every message of a ticket refers to, so mail clients group them."""
    return f"<ticket-{int(number)}@{domain}>"


def ticket_number_from_message_id(message_id: str, domain: str = MESSAGE_ID_DOMAIN) -> int | None:
    """The ticket number inside one of our Message-IDs; None for anyone else's."""
    match = _OUR_ID.match(message_id.strip())
    if not match or match.group(2).lower() != domain.lower() or int(match.group(1)) <= 0:
        return None
    return int(match.group(1))


def is_our_message_id(message_id: str, domain: str = MESSAGE_ID_DOMAIN) -> bool:
    match = _OUR_ID.match(message_id.strip())
    return bool(match and match.group(2).lower() == domain.lower())


# --- Spanish formatting ------------------------------------------------------------------

_DAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_MONTHS = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
    "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip
PRIORITY_LABELS = {
    "P1": "P1 – Crítico",
    "P2": "P2 – Alto",
    "P3": "P3 – Medio",
    "requirement": "Requerimiento",
    "advisory": "Asesoría personalizada",
}
RESOLUTION_LABELS = {
    "solution": "Solución",
    "instructions": "Instrucciones",
    "advice": "Asesoría",
    "no_client_reply": f"Resuelta {NO_CLIENT_REPLY_TEXT}",
    "abandoned": "Cerrada por abandono",
    "rejected": "Rechazada por el Comité Operativo",
    "delivered": "Entregada",
}
MISSING_INFO_LABELS = {
    "business_impact": "El impacto en su negocio (una línea «Impacto: …»).",
    "suggested_priority": "La prioridad que sugiere (una línea «Prioridad sugerida: P1, P2 o P3»).",
    "description": "Una descripción del problema.",
    "expected_result": "El resultado que esperaba obtener.",
    "legal_number": "El número legal del documento afectado (prefijo y número), si aplica.",
    "evidence": "Evidencia: capturas de pantalla (PNG, JPEG, GIF o WebP) o PDF.",
    "category": "La categoría o módulo de Amazonas ERP afectado.",
    "nit": "El NIT de su empresa.",
    "phone": "Un teléfono de contacto.",
}
_TARGET_LABELS = {"first_response": "primera respuesta", "resolution": "solución"}


def as_utc(value: object) -> datetime | None:
    """An aware UTC datetime from a datetime or an ISO 8601 string; None if unreadable."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_bogota(value: object) -> str:
    """Bogota wall time in Spanish: 'lunes 30 de noviembre de 2026, 8:00 a. m.'.

    An unreadable value is shown as given."""
    instant = as_utc(value)
    if instant is None:
        return "" if value is None else str(value)
    local = instant.astimezone(BOGOTA)
    hour = local.hour % 12 or 12
    period = "a. m." if local.hour < 12 else "p. m."
    day = f"{_DAYS[local.weekday()]} {local.day} de {_MONTHS[local.month - 1]} de {local.year}"
    return f"{day}, {hour}:{local.minute:02d} {period}"


# --- A tiny document model: one source for the text and the HTML --------------------------


@dataclass
class Para:
    text: str


@dataclass
class Facts:
    rows: list[tuple[str, str]]


@dataclass
class Quote:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Action:
    label: str
    url: str


Block = Para | Facts | Quote | Bullets | Action


@dataclass
class _Mail:
    subject: str
    blocks: list[Block] = field(default_factory=list)
    staff: bool = False


class RenderedMail(NamedTuple):
    subject: str
    text: str
    html: str


def _text_block(block: Block) -> str:
    if isinstance(block, Para):
        return block.text
    if isinstance(block, Facts):
        return "\n".join(f"  {label}: {value}" for label, value in block.rows)
    if isinstance(block, Quote):
        return "\n".join(f"    {line}" if line else "" for line in block.text.split("\n"))
    if isinstance(block, Bullets):
        return "\n".join(f"  - {item}" for item in block.items)
    return f"{block.label}: {block.url}"


def _escape_lines(text: str) -> str:
    return html.escape(text).replace("\n", "<br>\n")


def _html_block(block: Block) -> str:
    if isinstance(block, Para):
        return f"<p>{_escape_lines(block.text)}</p>"
    if isinstance(block, Facts):
        rows = "".join(
            f'<tr><th align="left" style="padding:2px 12px 2px 0">{html.escape(label)}</th>'
            f"<td>{html.escape(value)}</td></tr>"
            for label, value in block.rows
        )
        return f'<table role="presentation" style="border-collapse:collapse">{rows}</table>'
    if isinstance(block, Quote):
        style = "margin:8px 0;padding:8px 12px;border-left:3px solid #c7d2fe;background:#f8fafc"
        return f'<blockquote style="{style}">{_escape_lines(block.text)}</blockquote>'
    if isinstance(block, Bullets):
        items = "".join(f"<li>{html.escape(item)}</li>" for item in block.items)
        return f"<ul>{items}</ul>"
    if re.match(r"^https?://", block.url, re.I):
        href = html.escape(block.url, quote=True)
        return f'<p><a href="{href}">{html.escape(block.label)}</a></p>'
    return f"<p>{html.escape(block.label)}: {html.escape(block.url)}</p>"


def _footer(number: int, staff: bool) -> str:
    if staff:
        return "Aviso automático del sistema de Soporte Amazonas."
    if number:
        return (
            f"Este es un mensaje automático. Si responde, conserve «[#{number}]» en el asunto "
            "para que su respuesta llegue a la solicitud."
        )
    return "Este es un mensaje automático."


def _assemble(mail: _Mail, number: int) -> RenderedMail:
    footer = _footer(number, mail.staff)
    text = "\n\n".join(_text_block(block) for block in mail.blocks)
    text += f"\n\n-- \n{SIGNATURE}\n{footer}\n"
    body = "\n".join(_html_block(block) for block in mail.blocks)
    page = (
        '<!DOCTYPE html>\n<html lang="es-CO">\n<head><meta charset="utf-8">'
        f"<title>{html.escape(mail.subject)}</title></head>\n"
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;'
        'line-height:1.5;color:#1f2933">\n'
        f"{body}\n"
        '<hr style="border:none;border-top:1px solid #e5e7eb">\n'
        f'<p style="font-size:12px;color:#6b7280">{html.escape(SIGNATURE)}<br>\n'
        f"{html.escape(footer)}</p>\n</body>\n</html>\n"
    )
    return RenderedMail(mail.subject, text, page)


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
        return f"[#{self.number}] {subject}" if self.number else subject

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


# --- The templates -------------------------------------------------------------------


def _acknowledgement(data: _Data) -> _Mail:
    blocks: list[Block] = [
        data.greeting(),
        Para(
            f"Registramos su solicitud con el número {data.ticket}. Al responder este correo, "
            f"conserve «[#{data.number}]» en el asunto."
        ),
        data.facts(
            ("Número", data.ticket),
            ("Asunto", data.text("subject")),
            ("Prioridad", _priority_label(data)),
            ("Primera respuesta a más tardar", data.when("first_response_due")),
            ("Solución a más tardar", data.when("resolution_due")),
        ),
    ]
    if data.text("kind") == "requirement" or data.text("priority") == "requirement":
        when = data.when("committee_at")
        session = f" del {when}" if when else ""
        blocks.append(Para(f"El Comité Operativo revisará su requerimiento en la sesión{session}."))
    if data.text("booking_url"):
        blocks.append(Action("Agende su sesión de asesoría", data.text("booking_url")))
    if missing := _missing_info_items(data):
        blocks += [Para("Para avanzar, por favor envíenos también:"), Bullets(missing)]
    if refused := data.items("refused_attachments"):
        blocks += [Para("No pudimos conservar estos adjuntos:"), Bullets(refused)]
    return _Mail(data.with_subject("Recibimos su solicitud"), blocks + data.portal_link())


def _engineer_reply(data: _Data) -> _Mail:
    author = data.text("engineer_name", "Nuestro equipo de soporte")
    blocks: list[Block] = [
        data.greeting(),
        Para(f"{author} respondió su solicitud {data.ticket}:"),
        Quote(data.text("body")),
        Para("Puede responder a este correo para continuar la conversación."),
    ]
    return _Mail(data.with_subject("Respuesta a su solicitud"), blocks + data.portal_link())


def _request_info(data: _Data) -> _Mail:
    blocks: list[Block] = [
        data.greeting(),
        Para(
            f"Para continuar con su solicitud {data.ticket} necesitamos la siguiente información:"
        ),
        Quote(data.text("body")),
        Para("Responda a este correo con la información y los adjuntos que correspondan."),
        _abandon_sentence(data),
    ]
    return _Mail(data.with_subject("Necesitamos información"), blocks + data.portal_link())


def _reminder(data: _Data) -> _Mail:
    attempt = data.text("attempt", "?")
    blocks: list[Block] = [
        data.greeting(),
        Para(
            f"Le recordamos que su solicitud {data.ticket} espera información de su parte. "
            f"Este es el intento de contacto número {attempt}."
        ),
    ]
    if data.text("body"):
        blocks += [Para("Lo que necesitamos:"), Quote(data.text("body"))]
    blocks.append(_abandon_sentence(data))
    subject = data.with_subject(f"Recordatorio {attempt}: necesitamos su respuesta")
    return _Mail(subject, blocks + data.portal_link())


def _resolved(data: _Data) -> _Mail:
    kind = data.text("resolution_kind")
    blocks: list[Block] = [
        data.greeting(),
        Para(f"Su solicitud {data.ticket} fue resuelta."),
        data.facts(("Tipo de resolución", RESOLUTION_LABELS.get(kind, kind))),
    ]
    if data.text("body"):
        blocks.append(Quote(data.text("body")))
    blocks += _reopen_sentence(data)
    if data.text("rating_url"):
        blocks.append(Action("Califique nuestra atención", data.text("rating_url")))
    return _Mail(data.with_subject("Solicitud resuelta"), blocks + data.portal_link())


def _resolved_no_reply(data: _Data) -> _Mail:
    blocks: list[Block] = [
        data.greeting(),
        Para(
            f"Como no recibimos respuesta a nuestras solicitudes de información, dimos por "
            f"resuelta su solicitud {data.ticket} «{NO_CLIENT_REPLY_TEXT}»."
        ),
        *_reopen_sentence(data),
    ]
    subject = data.with_subject("Solicitud resuelta sin respuesta del cliente")
    return _Mail(subject, blocks + data.portal_link())


def _reopened(data: _Data) -> _Mail:
    blocks: list[Block] = [
        data.greeting(),
        Para(f"Reabrimos su solicitud {data.ticket}; nuestro equipo la retomará."),
        data.facts(
            ("Motivo", data.text("reason")),
            ("Solución a más tardar", data.when("resolution_due")),
        ),
    ]
    return _Mail(data.with_subject("Solicitud reabierta"), blocks + data.portal_link())


def _closed(data: _Data) -> _Mail:
    blocks: list[Block] = [
        data.greeting(),
        Para(f"Su solicitud {data.ticket} quedó cerrada definitivamente."),
        data.facts(("Motivo", data.text("reason"))),
        Para(
            "Si necesita ayuda de nuevo, escríbanos para abrir una nueva solicitud y mencione "
            f"el número {data.ticket} para que la relacionemos."
        ),
    ]
    return _Mail(data.with_subject("Solicitud cerrada"), blocks)


def _rating_invitation(data: _Data) -> _Mail:
    blocks: list[Block] = [
        data.greeting(),
        Para(
            f"Nos gustaría saber cómo fue la atención de su solicitud {data.ticket}. "
            "Califíquela de 1 a 5 y, si quiere, déjenos un comentario."
        ),
    ]
    if data.text("rating_url"):
        blocks.append(Action("Calificar la atención", data.text("rating_url")))
    return _Mail(data.with_subject("¿Cómo fue nuestra atención?"), blocks + data.portal_link())


def _sla_alert(data: _Data, breach: bool) -> _Mail:
    target = _TARGET_LABELS.get(data.text("target"), data.text("target", "atención"))
    due = data.when("due")
    if breach:
        summary = f"La solicitud {data.ticket} superó el tiempo de {target}."
        closing = "La solicitud sigue abierta y debe atenderse como de costumbre."
        subject = data.with_subject(f"SLA incumplido ({target})")
    else:
        percent = data.text("percent")
        used = f"consumió el {percent} % del" if percent else "está por agotar el"
        summary = f"La solicitud {data.ticket} {used} tiempo de {target}."
        closing = "Atiéndala antes del vencimiento."
        subject = data.with_subject(f"Alerta de SLA ({target})")
    blocks: list[Block] = [
        Para(summary),
        data.facts(
            ("Cliente", data.text("client_name")),
            ("Prioridad", _priority_label(data)),
            ("Asignada a", data.text("assignee", "sin asignar")),
            ("Vence" if not breach else "Venció", due),
        ),
        Para(closing),
    ]
    return _Mail(subject, blocks + data.portal_link(), staff=True)


def _priority_changed(data: _Data) -> _Mail:
    before = PRIORITY_LABELS.get(data.text("from"), data.text("from"))
    after = PRIORITY_LABELS.get(data.text("to"), data.text("to"))
    blocks: list[Block] = [
        data.greeting(),
        Para(f"Cambiamos la prioridad de su solicitud {data.ticket}."),
        data.facts(
            ("Prioridad anterior", before),
            ("Nueva prioridad", after),
            ("Motivo", data.text("reason")),
            ("Primera respuesta a más tardar", data.when("first_response_due")),
            ("Solución a más tardar", data.when("resolution_due")),
        ),
    ]
    return _Mail(data.with_subject("Cambio de prioridad"), blocks + data.portal_link())


def _assigned(data: _Data) -> _Mail:
    blocks: list[Block] = [
        Para(f"Se le asignó la solicitud {data.ticket}."),
        data.facts(
            ("Cliente", data.text("client_name")),
            ("Asunto", data.text("subject")),
            ("Prioridad", _priority_label(data)),
            ("Primera respuesta a más tardar", data.when("first_response_due")),
            ("Solución a más tardar", data.when("resolution_due")),
        ),
    ]
    return _Mail(data.with_subject("Solicitud asignada"), blocks + data.portal_link(), staff=True)


def _client_message(data: _Data) -> _Mail:
    author = data.text("author", "El cliente")
    blocks: list[Block] = [
        Para(f"{author} escribió en la solicitud {data.ticket}:"),
        Quote(data.text("body")),
    ]
    subject = data.with_subject("Nuevo mensaje del cliente")
    return _Mail(subject, blocks + data.portal_link(), staff=True)


def _attachments_refused(data: _Data) -> _Mail:
    blocks: list[Block] = [
        data.greeting(),
        Para(
            f"Recibimos su mensaje en la solicitud {data.ticket} y lo agregamos a su historial, "
            "pero no pudimos conservar estos adjuntos:"
        ),
        Bullets(data.items("refused_attachments")),
        Para(
            "Si los necesitamos para atender su solicitud, envíelos de nuevo en un formato "
            "admitido respondiendo a este correo."
        ),
    ]
    return _Mail(data.with_subject("Adjuntos no recibidos"), blocks + data.portal_link())


def _contact_hint(data: _Data) -> str:
    phone = data.text("support_phone")
    line = f" o a la línea de soporte {phone}" if phone else " o a la línea de soporte"
    return f"Si necesita ayuda, comuníquese con su consultor de BTW{line}."


def _refused_unknown_sender(data: _Data) -> _Mail:
    sender = data.text("from_address", "su dirección")
    subject = data.text("subject")
    about = f" «{subject}»" if subject else ""
    blocks: list[Block] = [
        Para("Cordial saludo."),
        Para(
            f"Recibimos su correo{about}, pero la dirección {sender} no está registrada como "
            "contacto de un cliente de Amazonas ERP, así que no abrimos una solicitud."
        ),
        Para(
            "Si su empresa es cliente, pida a su administrador que registre esta dirección, "
            "o escríbanos desde una dirección ya registrada."
        ),
        Para(_contact_hint(data)),
    ]
    return _Mail(data.subject("No pudimos registrar su solicitud"), blocks)


def _refused_inactive_client(data: _Data) -> _Mail:
    client = data.text("client_name", "su empresa")
    subject = data.text("subject")
    about = f" «{subject}»" if subject else ""
    blocks: list[Block] = [
        data.greeting(),
        Para(
            f"Recibimos su correo{about}, pero {client} no tiene hoy un servicio de soporte "
            "activo con BTW, así que no abrimos una solicitud."
        ),
        Para(_contact_hint(data)),
    ]
    return _Mail(data.subject("No pudimos registrar su solicitud"), blocks)


def _reopen_refused(data: _Data) -> _Mail:
    until = data.when("reopen_until")
    window = f" terminó el {until}" if until else " ya terminó"
    blocks: list[Block] = [
        data.greeting(),
        Para(
            f"No es posible reabrir la solicitud {data.ticket}: el plazo para reabrirla{window} "
            "y la solicitud quedó cerrada."
        ),
        data.facts(("Motivo", data.text("reason"))),
        Para(
            "Si el problema continúa, escríbanos para abrir una nueva solicitud y mencione el "
            f"número {data.ticket} para que la relacionemos."
        ),
    ]
    return _Mail(data.with_subject("No es posible reabrir la solicitud"), blocks)


# --- Requirements, advisories and incidents (POLICY.md §VI.d, §VI.e, incidents) ---------


def _slot_facts(data: _Data) -> Facts:
    return data.facts(("Inicio", data.when("booked_slot")), ("Fin", data.when("slot_end")))


def _booking_link(data: _Data) -> _Mail:
    attempt = data.text("attempt", "1")
    blocks: list[Block] = [
        data.greeting(),
        Para(
            f"Para su asesoría personalizada {data.ticket}, elija uno de los espacios "
            "disponibles dentro de nuestro horario de atención."
        ),
    ]
    url = data.text("booking_url")
    if url:
        blocks.append(Action("Agende su espacio", url))
    if attempt != "1":
        blocks.append(Para(f"Este es el intento de contacto número {attempt}."))
    blocks.append(_abandon_sentence(data))
    return _Mail(data.with_subject("Agende su asesoría personalizada"), blocks)


def _booking_confirmed(data: _Data) -> _Mail:
    blocks: list[Block] = [
        data.greeting(),
        Para(f"Confirmamos el espacio de su asesoría personalizada {data.ticket}."),
        _slot_facts(data),
        Para("Le enviaremos un recordatorio un día hábil antes."),
    ]
    return _Mail(data.with_subject("Asesoría agendada"), blocks + data.portal_link())


def _advisory_reminder(data: _Data) -> _Mail:
    blocks: list[Block] = [
        data.greeting(),
        Para(f"Le recordamos su asesoría personalizada {data.ticket}."),
        _slot_facts(data),
    ]
    return _Mail(data.with_subject("Recordatorio de su asesoría"), blocks + data.portal_link())


def _advisory_done(data: _Data) -> _Mail:
    blocks: list[Block] = [
        data.greeting(),
        Para(f"Registramos como realizada su asesoría personalizada {data.ticket}."),
    ]
    if data.text("body"):
        blocks.append(Quote(data.text("body")))
    blocks += _reopen_sentence(data)
    return _Mail(data.with_subject("Asesoría realizada"), blocks + data.portal_link())


def _committee_accepted(data: _Data) -> _Mail:
    blocks: list[Block] = [
        data.greeting(),
        Para(f"El Comité Operativo aceptó su requerimiento {data.ticket}."),
        data.facts(("Fecha estimada de entrega", _spanish_date(data.text("estimated_delivery")))),
        Para("Le avisaremos cuando la mejora esté entregada."),
    ]
    return _Mail(data.with_subject("Requerimiento aceptado"), blocks + data.portal_link())


def _committee_rejected(data: _Data) -> _Mail:
    blocks: list[Block] = [
        data.greeting(),
        Para(f"El Comité Operativo no aprobó su requerimiento {data.ticket}."),
        data.facts(("Motivo", data.text("reason") or data.text("body"))),
        *_reopen_sentence(data),
    ]
    return _Mail(data.with_subject("Requerimiento no aprobado"), blocks + data.portal_link())


def _requirement_delivered(data: _Data) -> _Mail:
    blocks: list[Block] = [
        data.greeting(),
        Para(f"La mejora de su requerimiento {data.ticket} fue entregada."),
    ]
    if data.text("body"):
        blocks.append(Quote(data.text("body")))
    blocks += _reopen_sentence(data)
    return _Mail(data.with_subject("Requerimiento entregado"), blocks + data.portal_link())


def _incident_priority(data: _Data) -> _Mail:
    blocks: list[Block] = [
        data.greeting(),
        Para(
            f"Su solicitud {data.ticket} hace parte de una falla que afecta a varios clientes; "
            "la atendemos con prioridad crítica (P1), las 24 horas."
        ),
        data.facts(
            ("Motivo", data.text("reason")),
            ("Primera respuesta a más tardar", data.when("first_response_due")),
            ("Solución a más tardar", data.when("resolution_due")),
        ),
    ]
    return _Mail(data.with_subject("Prioridad crítica"), blocks + data.portal_link())


def _incident_resolved(data: _Data) -> _Mail:
    mail = _resolved(data)
    mail.blocks.insert(1, Para("La falla general que afectaba su solicitud fue resuelta."))
    return mail


def _committee_agenda(data: _Data) -> _Mail:
    lines = []
    for item in data.records("items"):
        lines.append(
            f"#{item.get('number')} · {item.get('client_name', '')} · {item.get('subject', '')}"
        )
    blocks: list[Block] = [
        Para("Agenda de la sesión del Comité Operativo."),
        data.facts(("Sesión", data.text("session_id")), ("Cierra", data.when("ends_at"))),
        Bullets(lines) if lines else Para("No hay requerimientos pendientes."),
    ]
    return _Mail("Comité Operativo: agenda de la sesión", blocks, staff=True)


def _spanish_date(value: str) -> str:
    try:
        day = datetime.strptime(value[:10], "%Y-%m-%d")
    except ValueError:
        return value
    return f"{day.day} de {_MONTHS[day.month - 1]} de {day.year}"


def _generic(data: _Data) -> _Mail:
    about = f" {data.ticket}" if data.ticket else ""
    blocks: list[Block] = [data.greeting(), Para(f"Hay una novedad en su solicitud{about}.")]
    if data.text("body"):
        blocks.append(Quote(data.text("body")))
    return _Mail(data.with_subject("Novedad en su solicitud"), blocks + data.portal_link())


TEMPLATES: dict[str, Callable[[_Data], _Mail]] = {
    "acknowledgement": _acknowledgement,
    "engineer_reply": _engineer_reply,
    "request_info": _request_info,
    "reminder": _reminder,
    "resolved": _resolved,
    "resolved_no_reply": _resolved_no_reply,
    "reopened": _reopened,
    "closed": _closed,
    "rating_invitation": _rating_invitation,
    "sla_warning": lambda data: _sla_alert(data, breach=False),
    "sla_breach": lambda data: _sla_alert(data, breach=True),
    "refused_unknown_sender": _refused_unknown_sender,
    "refused_inactive_client": _refused_inactive_client,
    "reopen_refused": _reopen_refused,
    "priority_changed": _priority_changed,
    "assigned": _assigned,
    "client_message": _client_message,
    "attachments_refused": _attachments_refused,
    "booking_link": _booking_link,
    "booking_confirmed": _booking_confirmed,
    "advisory_reminder": _advisory_reminder,
    "advisory_done": _advisory_done,
    "committee_accepted": _committee_accepted,
    "committee_rejected": _committee_rejected,
    "requirement_delivered": _requirement_delivered,
    "incident_priority": _incident_priority,
    "incident_resolved": _incident_resolved,
    "committee_agenda": _committee_agenda,
}


def render(notification: Notification) -> RenderedMail:
    """Subject, text and HTML for a notification. Never raises."""
    data = _Data(notification)
    template = TEMPLATES.get(notification.template, _generic)
    try:
        mail = template(data)
    except Exception:  # a template bug must not stop the mail: send the generic one
        mail = _generic(data)
    return _assemble(mail, data.number)


# --- The message on the wire ------------------------------------------------------------


def _one_line(value: str) -> str:
    return re.sub(r"[\r\n]+\s*", " ", value).strip()


def build_email(
    rendered: RenderedMail,
    *,
    to: Iterable[str],
    from_addr: str,
    message_id: str,
    in_reply_to: str | None = None,
    references: Iterable[str] = (),
    number: int | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """multipart/alternative (text + HTML, UTF-8) with the headers that keep threads and
    prevent loops: Auto-Submitted, our Message-ID, In-Reply-To and References."""
    subject = _one_line(rendered.subject)
    if number and f"[#{number}]" not in subject:
        subject = f"[#{number}] {subject}"
    message = EmailMessage()
    message["From"] = _one_line(from_addr)
    message["To"] = ", ".join(_one_line(address) for address in to)
    message["Subject"] = subject
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = _one_line(message_id)
    thread = _references(number, in_reply_to, references)
    if in_reply_to:
        message["In-Reply-To"] = _one_line(in_reply_to)
    if thread:
        message["References"] = " ".join(thread)
    message["Auto-Submitted"] = "auto-generated"
    # Asks Exchange not to answer with out-of-office notices (they would loop back to us).
    message["X-Auto-Response-Suppress"] = "All"
    if number:
        message["X-Soporte-Ticket"] = str(number)
    message.set_content(rendered.text, charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    message["Content-Language"] = "es-CO"  # after the body: set_content drops Content-* headers
    return message


def _references(
    number: int | None, in_reply_to: str | None, references: Iterable[str]
) -> list[str]:
    ids = [ticket_thread_id(number)] if number else []
    ids += [_one_line(ref) for ref in references if ref and ref.strip()]
    if in_reply_to:
        ids.append(_one_line(in_reply_to))
    return list(dict.fromkeys(ids))
