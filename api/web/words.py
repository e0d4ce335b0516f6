"""The portal's Spanish (es-CO) words: states, priorities and their meaning, log lines,
field errors and refusals. Numbers come from the policy core (soporte.sla), never retyped."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from soporte.email.templates import PRIORITY_LABELS, RESOLUTION_LABELS, format_bogota
from soporte.policy import Kind, Priority, Status
from soporte.policy.sla import SLA_TARGETS

STATUS_WORDS = {
    Status.OPEN: "Abierta",
    Status.IN_PROGRESS: "En atención",
    Status.WAITING_ON_CLIENT: "Esperando su respuesta",
    Status.PENDING_COMMITTEE: "Pendiente del Comité Operativo",
    Status.PLANNED: "Aceptada, en desarrollo",
    Status.SCHEDULING: "Por agendar",
    Status.SCHEDULED: "Asesoría agendada",
    Status.RESOLVED: "Resuelta",
    Status.CLOSED: "Cerrada",
}
STATUS_TONE = {
    Status.OPEN: "info",
    Status.IN_PROGRESS: "info",
    Status.WAITING_ON_CLIENT: "warn",
    Status.PENDING_COMMITTEE: "muted",
    Status.PLANNED: "info",
    Status.SCHEDULING: "warn",
    Status.SCHEDULED: "info",
    Status.RESOLVED: "ok",
    Status.CLOSED: "muted",
}
KIND_WORDS = {
    Kind.SUPPORT: "Soporte (una falla)",
    Kind.REQUIREMENT: "Requerimiento (un cambio o mejora)",
    Kind.ADVISORY: "Asesoría personalizada (una capacitación)",
}
PRIORITY_MEANINGS = {
    Priority.P1: "Una falla que afecta de forma significativa a varios clientes.",
    Priority.P2: "Afecta de forma importante su negocio.",
    Priority.P3: "Impacto moderado: su negocio continúa.",
    Priority.REQUIREMENT: "Una solicitud de cambio: la revisa el Comité Operativo semanal.",
    Priority.ADVISORY: "Una sesión de capacitación o asesoría que usted agenda.",
}
# The policy's own examples ("Categorías prioridades"), as help on the form.
PRIORITY_EXAMPLES = {
    Priority.P1: "caída del sitio web; falla masiva en la emisión de documentos electrónicos",
    Priority.P2: (
        "no puede facturar; los datos de Amazonas difieren de los de la DIAN; errores de "
        "credenciales; generación del PDF de documentos electrónicos; guardar formularios "
        "críticos (documentos electrónicos, resoluciones de numeración)"
    ),
    Priority.P3: "errores en formularios que no afectan los documentos electrónicos",
}
CATEGORIES = (
    "Facturación electrónica",
    "Nómina electrónica",
    "Contabilidad",
    "Inventarios",
    "Compras",
    "Ventas",
    "Tesorería",
    "Usuarios y accesos",
    "Implementación",
    "Capacitación",
    "Otro",
)
BOGOTA_SUFFIX = ", hora de Bogotá"


def instant(value: object) -> str:
    """'jueves 3 de diciembre de 2026, 10:30 a. m., hora de Bogotá' (the mail's formatter)."""
    text = format_bogota(value)
    return f"{text}{BOGOTA_SUFFIX}" if text and isinstance(value, datetime | str) else text


def day(value: date | None) -> str:
    if value is None:
        return ""
    text = format_bogota(datetime(value.year, value.month, value.day, 17))
    return text.split(",")[0]


def status_word(value: str) -> str:
    try:
        return STATUS_WORDS[Status(value)]
    except ValueError:
        return value


def status_tone(value: str) -> str:
    try:
        return STATUS_TONE[Status(value)]
    except ValueError:
        return "muted"


def priority_label(value: str) -> str:
    return PRIORITY_LABELS.get(str(value), str(value))


def resolution_label(value: str) -> str:
    return RESOLUTION_LABELS.get(str(value), str(value))


def _hours(delta: timedelta, business: bool) -> str:
    hours = int(delta.total_seconds() // 3600)
    noun = "hora" if hours == 1 else "horas"
    if business:
        return f"{hours} {noun} {'hábil' if hours == 1 else 'hábiles'}"
    return f"{hours} {noun}"


def priority_meaning(value: str) -> str:
    """What a priority means, with its targets from the SLA table."""
    try:
        priority = Priority(value)
    except ValueError:
        return ""
    meaning = PRIORITY_MEANINGS[priority]
    target = SLA_TARGETS.get(priority)
    if target is None:
        return meaning
    first = _hours(target.first_response, target.business_hours)
    resolution = _hours(target.resolution, target.business_hours)
    clock = (
        "en horario hábil (lunes a jueves 7:30 a. m. a 6:00 p. m., viernes 7:00 a. m. a "
        "5:00 p. m., sin festivos)"
        if target.business_hours
        else "las 24 horas, todos los días"
    )
    return f"{meaning} Primera respuesta en {first} y solución en {resolution}, contadas {clock}."


def counts_business_hours(value: str) -> bool | None:
    try:
        target = SLA_TARGETS.get(Priority(value))
    except ValueError:
        return None
    return None if target is None else target.business_hours


# --- The log, as a client reads it ----------------------------------------------------------

EVENT_TITLES = {
    "registered": "Solicitud registrada",
    "acknowledged": "Le confirmamos el registro por correo",
    "assigned": "Solicitud asignada",
    "client_message": "Mensaje del cliente",
    "engineer_reply": "Respuesta de soporte",
    "internal_note": "Nota interna",
    "priority_changed": "Cambio de prioridad",
    "status_changed": "Cambio de estado",
    "info_requested": "Soporte le pidió información",
    "reminder_sent": "Recordatorio enviado",
    "sla_paused": "Tiempo de atención en pausa",
    "sla_resumed": "Tiempo de atención reanudado",
    "sla_warning": "Alerta de tiempo de atención",
    "sla_breach": "Tiempo de atención vencido",
    "resolved": "Solicitud resuelta",
    "reopened": "Solicitud reabierta",
    "reopen_refused": "Reapertura no posible",
    "closed": "Solicitud cerrada",
    "rated": "Calificación del servicio",
    "notification": "Correo enviado",
    "committee_decision": "Decisión del Comité Operativo",
    "booking_link_sent": "Enlace para agendar enviado",
    "slot_booked": "Asesoría agendada",
    "slot_reminder_sent": "Recordatorio de la asesoría",
    "incident_linked": "Vinculada a una falla general",
}
# Lines that carry someone's words (shown as messages); the others are one-line facts.
MESSAGE_EVENTS = frozenset(
    {
        "client_message",
        "engineer_reply",
        "internal_note",
        "info_requested",
        "resolved",
        "reopened",
        "committee_decision",
        "rated",
        "priority_changed",
    }
)
DECISION_WORDS = {"accept": "Aceptado", "reject": "No aprobado", "defer": "Aplazado"}


def event_title(entry: Any) -> str:
    kind = str(entry.type)
    if kind == "status_changed":
        to = entry.data.get("to")
        return f"Estado: {status_word(str(to))}" if to else EVENT_TITLES[kind]
    if kind == "committee_decision":
        decision = DECISION_WORDS.get(str(entry.data.get("decision")), "")
        return f"Comité Operativo: {decision}" if decision else EVENT_TITLES[kind]
    if kind == "rated":
        score = entry.data.get("score")
        return f"Calificación: {score} de 5" if score else EVENT_TITLES[kind]
    if kind == "priority_changed":
        to = entry.data.get("to") or entry.data.get("priority")
        return f"Prioridad: {priority_label(str(to))}" if to else EVENT_TITLES[kind]
    return EVENT_TITLES.get(kind, kind.replace("_", " ").capitalize())


# --- Field errors and refusals ---------------------------------------------------------------

FIELD_RULES = {
    "missing": "Este campo es obligatorio.",
    "string_too_short": "Este campo es obligatorio.",
    "string_too_long": "Es demasiado largo: máximo {max_length} caracteres.",
    "enum": "Elija una de las opciones.",
    "literal_error": "Elija una de las opciones.",
    "string_pattern_mismatch": "Escriba un correo válido, como nombre@empresa.com.",
    "value_error": "El valor no es válido.",
    "too_long": "Son demasiados: máximo {max_length}.",
    "int_parsing": "Escriba un número entero.",
    "greater_than_equal": "Debe ser al menos {ge}.",
    "less_than_equal": "Debe ser como máximo {le}.",
}


# A service's refusal of one field of a form (InvalidInput), as the form says it.
FIELD_REFUSALS = {
    "notify": "Solo puede informar a personas activas de su empresa.",
    "category": "Escriba la categoría o el módulo afectado.",
}


def field_message(error: dict[str, Any]) -> str:
    rule = str(error.get("type", "value_error"))
    context = error.get("ctx") or {}
    template = FIELD_RULES.get(rule, FIELD_RULES["value_error"])
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return FIELD_RULES["value_error"]


# Notices shown once after a form (the address carries only their code, never text).
NOTICES = {
    "salida": "Cerró su sesión. Hasta pronto.",
    "respuesta": "Enviamos su respuesta al equipo de soporte.",
    "reabierta": "Reabrimos su solicitud: el equipo de soporte la retoma.",
    "calificada": "Gracias por calificar nuestra atención.",
    "creada": "Registramos su solicitud. Le enviamos la confirmación por correo.",
    "agendada": "Su asesoría quedó agendada. Le enviamos la confirmación por correo.",
    "sesion": "Su sesión terminó. Ingrese de nuevo para continuar.",
}

UNAVAILABLE = (
    "El sistema de soporte no responde en este momento. Intente de nuevo en unos minutos; "
    "lo que escribió sigue en el formulario."
)
ACTION_WORDS = {
    "reply": "enviar su respuesta",
    "reopen": "reabrir la solicitud",
    "rate": "registrar su calificación",
    "book": "agendar ese espacio",
    "open": "registrar la solicitud",
}


def refusal(action: str, error: Any, view: Any) -> str:
    """A service's refusal, worded in Spanish from its kind and the ticket's state."""
    status = getattr(error, "status", 409)
    doing = ACTION_WORDS.get(action, "hacer eso")
    if status >= 500:
        return UNAVAILABLE
    if status == 403:
        return f"No tiene permiso para {doing}."
    if status == 404:
        return "No encontramos esa solicitud."
    if status == 413:
        return "El archivo es demasiado grande."
    state = getattr(view, "status", None)
    number = getattr(view, "number", "")
    if action == "reopen":
        until = getattr(view, "reopen_until", None)
        if state is Status.CLOSED or (state is Status.RESOLVED and until is not None):
            when = f" terminó el {instant(until)}" if until else " terminó"
            return (
                f"No fue posible reabrir la solicitud: el plazo para reabrirla{when}. "
                f"Abra una nueva solicitud que mencione la #{number}."
            )
        return "No fue posible reabrir la solicitud: no está resuelta, así que sigue en atención."
    if action == "rate":
        if getattr(view, "rating", None) is not None:
            return "Esta solicitud ya tiene su calificación. ¡Gracias!"
        return "Podrá calificar la atención cuando la solicitud esté resuelta."
    if action == "book":
        if status == 409 and "taken" in str(getattr(error, "message", "")):
            return "Ese espacio acaba de ser tomado por otra persona. Elija otro, por favor."
        if state not in (Status.SCHEDULING, Status.SCHEDULED):
            return "Esta asesoría ya no se puede agendar en su estado actual."
        return "Ese espacio ya no está disponible. Elija otro de la lista, por favor."
    if action == "reply" and state is Status.CLOSED:
        return (
            f"La solicitud #{number} está cerrada definitivamente. Abra una nueva solicitud "
            f"que mencione la #{number}."
        )
    if status == 422:
        return "Revise los datos del formulario."
    return (
        f"No fue posible {doing} en el estado actual de la solicitud ({status_word(str(state))})."
    )


def day_label(value: datetime) -> str:
    """'lunes 7 de diciembre de 2026' (the Bogota day of an instant)."""
    return format_bogota(value).split(",")[0]


def clock(value: datetime) -> str:
    """'9:00 a. m.' (Bogota wall time of an instant)."""
    return format_bogota(value).split(", ", 1)[-1]
