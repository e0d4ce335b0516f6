"""The portal's Spanish (es-CO) words: states, priorities and their meaning, log lines,
field errors and refusals. Numbers come from the policy core (soporte.sla), never retyped."""

from __future__ import annotations

import re
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
KIND_SHORT = {
    Kind.SUPPORT: "Soporte",
    Kind.REQUIREMENT: "Requerimiento",
    Kind.ADVISORY: "Asesoría",
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
    "asignada": "Asignamos la solicitud.",
    "prioridad": "Cambiamos la prioridad; los vencimientos se recalcularon.",
    "pedida": "Pedimos la información al cliente; el tiempo de atención queda en pausa.",
    "resuelta": "Resolvimos la solicitud y se lo informamos al cliente.",
    "abandonada": "Cerramos la solicitud por abandono.",
    "entregada": "Registramos la entrega del requerimiento.",
    "realizada": "Registramos la asesoría como realizada.",
    "vinculada": "Vinculamos la solicitud a la falla general.",
    "nota": "Guardamos la nota interna.",
    "plantilla": "Guardamos la plantilla.",
    "decision": "Registramos la decisión del Comité.",
    "sesion_comite": "Iniciamos una sesión extraordinaria del Comité.",
    "incidente": "Registramos la falla general.",
    "incidente_resuelto": "Resolvimos la falla general y todas sus solicitudes.",
    "guardado": "Guardamos los cambios.",
    "revocado": "Revocamos el acceso.",
    "convertido": "Registramos la solicitud a partir del correo.",
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
    "assign": "asignar la solicitud",
    "priority": "cambiar la prioridad",
    "request_info": "pedir información al cliente",
    "resolve": "resolver la solicitud",
    "abandon": "cerrar la solicitud por abandono",
    "deliver": "registrar la entrega del requerimiento",
    "done": "marcar la asesoría como realizada",
    "link": "vincular la solicitud a la falla general",
    "decide": "registrar la decisión",
    "start_session": "iniciar una sesión extraordinaria",
    "incident_resolve": "resolver la falla general",
    "save": "guardar los cambios",
}
# The workflow's and the services' refusals (English, for the API), said in Spanish on the
# staff pages: (a pattern of the refusal, its Spanish words with the pattern's groups).
STAFF_REFUSALS = (
    (
        r"the DIAN check digit for (\d+) is (\d)",
        "El dígito de verificación no corresponde: para {0} es {1}.",
    ),
    (r"^(nit: )?NIT ", "Escriba el NIT con su dígito de verificación, como 900123456-8."),
    (r"there is no client with NIT", "No hay un cliente con ese NIT."),
    (
        r"no contact or staff member has the email",
        "Ningún contacto ni miembro del personal tiene ese correo.",
    ),
    (r"already assigned to (\S+)", "La solicitud ya está asignada a {0}."),
    (
        r"is not an active engineer or supervisor",
        "Esa persona no es un ingeniero ni un supervisor activo.",
    ),
    (r"is already (P\d)", "La solicitud ya tiene la prioridad {0}."),
    (
        r"only support tickets have a priority",
        "Solo las solicitudes de soporte tienen una prioridad que se pueda cambiar.",
    ),
    (
        r"already waits on the client",
        "Ya estamos esperando la respuesta del cliente; los recordatorios salen solos.",
    ),
    (r"was already resolved", "La solicitud ya está resuelta."),
    (
        r"has (\d+) unanswered attempt\(s\); abandoning needs (\d+)",
        "Aún no se puede cerrar por abandono: lleva {0} intento(s) de contacto sin respuesta y "
        "la política pide {1}.",
    ),
    (
        r"not waiting on the client: only an unanswered",
        "Solo se cierra por abandono una solicitud que espera la respuesta del cliente.",
    ),
    (
        r"only a requirement the committee accepted",
        "Solo se entrega un requerimiento que el Comité Operativo aceptó (en desarrollo).",
    ),
    (r"only a requirement is delivered", "Esta solicitud no es un requerimiento."),
    (r"only a scheduled advisory", "Solo se marca como realizada una asesoría agendada."),
    (r"only an advisory is marked done", "Esta solicitud no es una asesoría."),
    (r"is closed for good|is closed: cannot", "La solicitud está cerrada definitivamente."),
    (r"already linked", "La solicitud ya está vinculada a esa falla general."),
    (r"incident \S+ is resolved|already resolved", "La falla general ya está resuelta."),
    (r"still open \(until", "Ya hay una sesión del Comité abierta: decida su agenda allí."),
    (r"started this very second", "Se acaba de iniciar una sesión; intente de nuevo."),
    (r"already decided in this session: (\w+)", "Ese requerimiento ya se decidió en esta sesión."),
    (
        r"committee session \S+ is closed|session \S+ is closed",
        "La sesión del Comité ya está cerrada.",
    ),
    (r"still preparing its agenda", "La sesión aún prepara su agenda; intente en unos segundos."),
    (
        r"is not on (this|the) agenda|not on the agenda",
        "Ese requerimiento no está en la agenda de esta sesión.",
    ),
    (r"in the past", "La fecha estimada de entrega no puede ser anterior a hoy."),
    (r"required to accept", "Para aceptar, escriba la fecha estimada de entrega."),
    (r"required to reject", "Para rechazar, escriba el motivo."),
    (r"already registered", "Ya existe un registro con ese dato."),
    (r"already revoked", "Ese token ya estaba revocado."),
    (r"a saved reply is already called", "Ya hay una plantilla con ese título."),
)


def staff_refusal(action: str, error: Any, view: Any = None) -> str:
    """A refusal on a staff page: the workflow's reason in Spanish, else the general words."""
    message = str(getattr(error, "message", "") or error)
    status = getattr(error, "status", 409)
    if status < 500:
        for pattern, words_es in STAFF_REFUSALS:
            found = re.search(pattern, message)
            if found:
                return words_es.format(*found.groups())
    return refusal(action, error, view)


def refusal(action: str, error: Any, view: Any) -> str:
    """A service's refusal, worded in Spanish from its kind and the ticket's state."""
    status = getattr(error, "status", 409)
    doing = ACTION_WORDS.get(action, "hacer eso")
    if status >= 500:
        return UNAVAILABLE
    if status == 403:
        return f"No tiene permiso para {doing}."
    if status == 404:
        return (
            "No encontramos esa solicitud."
            if view is not None or action in ("reply", "reopen", "rate", "book", "open")
            else "No encontramos ese registro."
        )
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


def duration(delta: timedelta) -> str:
    """'2 h 15 min', '3 d 4 h' (a counted length of time)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"
