"""Plain Spanish (es-CO) text for each notification template.

One function, `render`, so a later issue can swap in real templates without touching
the delivery activity. The ticket number is always in the subject (`[Ticket #N]`),
which is how replies by email find their ticket. A notification about no ticket (number
0, such as the committee's agenda) names no ticket at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from soporte.calendar import BOGOTA
from soporte.committee import AGENDA_TEMPLATE, agenda_mail
from soporte.tickets import Notification

SIGNATURE = "\n\n--\nSoporte Técnico Amazonas ERP (BTW)\nsoporte@btw.com.co"

MISSING_LABELS = {
    "expected_result": "el resultado esperado",
    "business_impact": "el impacto en su negocio",
    "legal_number": "el número legal del documento afectado",
    "description": "la descripción del problema",
    "category": "la categoría",
    "evidence": "evidencia (imágenes o PDF)",
}


def when(value: object) -> str:
    if not isinstance(value, str) or not value:
        return "por definir"
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return value
    return instant.astimezone(BOGOTA).strftime("%Y-%m-%d %H:%M (hora de Bogotá)")


def _dues(data: Mapping[str, object]) -> str:
    return (
        f"Primera respuesta a más tardar: {when(data.get('first_response_due'))}\n"
        f"Solución a más tardar: {when(data.get('resolution_due'))}"
    )


def _acknowledgement(data: Mapping[str, object]) -> tuple[str, str]:
    text = (
        f'Hemos registrado su solicitud "{data.get("subject", "")}".\n'
        f"Prioridad: {data.get('priority', '')}\n{_dues(data)}"
    )
    missing = data.get("missing_info") or []
    if isinstance(missing, list) and missing:
        asked = "\n".join(f"- {MISSING_LABELS.get(str(m), str(m))}" for m in missing)
        text += f"\n\nPara atenderla mejor, por favor responda este correo con:\n{asked}"
    return "Solicitud registrada", text


def _body_of(title: str, intro: str) -> Callable[[Mapping[str, object]], tuple[str, str]]:
    def render_it(data: Mapping[str, object]) -> tuple[str, str]:
        body = str(data.get("body") or "")
        return title, f"{intro}\n\n{body}".rstrip()

    return render_it


def _simple(title: str, text: str) -> Callable[[Mapping[str, object]], tuple[str, str]]:
    def render_it(data: Mapping[str, object]) -> tuple[str, str]:
        return title, text.format_map(_Defaults(data))

    return render_it


class _Defaults(dict[str, object]):
    def __init__(self, data: Mapping[str, object]) -> None:
        super().__init__(data)

    def __missing__(self, key: str) -> str:
        return ""


TEMPLATES: dict[str, Callable[[Mapping[str, object]], tuple[str, str]]] = {
    "acknowledgement": _acknowledgement,
    "engineer_reply": _body_of("Respuesta de soporte", "Nuestro ingeniero respondió:"),
    "request_info": _body_of(
        "Necesitamos información",
        "Para continuar con su solicitud necesitamos la siguiente información "
        "(responda este correo):",
    ),
    "reminder": _simple(
        "Recordatorio: esperamos su respuesta",
        "Seguimos esperando la información solicitada (recordatorio {attempt}). "
        "Si no recibimos respuesta, la solicitud se cerrará por falta de respuesta.",
    ),
    "resolved": _body_of(
        "Solicitud resuelta",
        "Su solicitud fue resuelta. Si no quedó solucionada puede pedir que se reabra "
        "dentro de los próximos 15 días, indicando el motivo.",
    ),
    "resolved_no_reply": _simple(
        "Solicitud cerrada sin respuesta del cliente",
        "Cerramos su solicitud porque no recibimos la información solicitada "
        "(sin respuesta del cliente). Puede abrir una nueva solicitud cuando lo necesite.",
    ),
    "rating_invitation": _simple(
        "¿Cómo le atendimos?",
        "Califique nuestro servicio de 1 a 5 en el portal; sus comentarios nos ayudan.",
    ),
    "reopened": _simple("Solicitud reabierta", "La solicitud fue reabierta. Motivo: {reason}"),
    "closed": _simple("Solicitud cerrada", "La solicitud quedó cerrada definitivamente."),
    "priority_changed": _simple(
        "Cambio de prioridad",
        "La prioridad de su solicitud ahora es {priority}. Motivo: {reason}",
    ),
    "assigned": _simple(
        "Ticket asignado", 'Se le asignó el ticket "{subject}" del cliente {client_name}.'
    ),
    "client_message": _body_of("Nuevo mensaje del cliente", "El cliente escribió:"),
    "sla_warning": _simple(
        "Alerta de ANS", "El ticket se acerca a su vencimiento ({target}): vence {due}."
    ),
    "sla_breach": _simple("ANS incumplido", "El ticket venció su objetivo {target} ({due})."),
    AGENDA_TEMPLATE: agenda_mail,
}


def is_about_a_ticket(notification: Notification) -> bool:
    """Number 0 (the committee's agenda and the like) is about no ticket."""
    return notification.number > 0


def render(notification: Notification) -> tuple[str, str]:
    """The subject and plain text of a notification, in Spanish."""
    data = notification.data
    renderer = TEMPLATES.get(notification.template)
    if renderer is None:
        title, text = "Novedad en su solicitud", f"Novedad: {notification.template}."
    else:
        title, text = renderer(data)
    if not is_about_a_ticket(notification):
        return title, text + SIGNATURE
    subject = f"[Ticket #{notification.number}] {title}"
    header = f"Ticket #{notification.number}: {data.get('subject', '')}\n\n"
    return subject, header + text + SIGNATURE
