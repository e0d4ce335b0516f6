"""The templates staff receive: SLA alerts, assignments, client messages, the committee agenda."""

from __future__ import annotations

from soporte.email.templates.data import _Data, _priority_label
from soporte.email.templates.document import Action, Block, Bullets, Para, Quote, _Mail
from soporte.email.templates.formatting import _TARGET_LABELS


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
    return _Mail(subject, blocks + _link(data), staff=True)


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
    return _Mail(data.with_subject("Solicitud asignada"), blocks + _link(data), staff=True)


def _client_message(data: _Data) -> _Mail:
    author = data.text("author", "El cliente")
    blocks: list[Block] = [
        Para(f"{author} escribió en la solicitud {data.ticket}:"),
        Quote(data.text("body")),
    ]
    subject = data.with_subject("Nuevo mensaje del cliente")
    return _Mail(subject, blocks + _link(data), staff=True)


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


# --- Staff copies of ticket news (the client gets its own wording: templates/client.py) --


def _staff_reopened(data: _Data) -> _Mail:
    blocks: list[Block] = [
        Para(f"El cliente pidió reabrir la solicitud {data.ticket}; volvió a trabajo."),
        data.facts(
            ("Cliente", data.text("client_name")),
            ("Asunto", data.text("subject")),
            ("Motivo del cliente", data.text("reason")),
            ("Nueva solución a más tardar", data.when("resolution_due")),
        ),
    ]
    subject = data.with_subject("Solicitud reabierta por el cliente")
    return _Mail(subject, blocks + _link(data), staff=True)


def _staff_booking_confirmed(data: _Data) -> _Mail:
    blocks: list[Block] = [
        Para(f"El cliente agendó la asesoría personalizada {data.ticket}."),
        data.facts(
            ("Cliente", data.text("client_name")),
            ("Asunto", data.text("subject")),
            ("Inicio", data.when("booked_slot")),
            ("Fin", data.when("slot_end")),
        ),
        Para("Márquela como realizada después de la sesión."),
    ]
    return _Mail(data.with_subject("Asesoría agendada"), blocks + _link(data), staff=True)


def _staff_advisory_reminder(data: _Data) -> _Mail:
    blocks: list[Block] = [
        Para(f"La asesoría personalizada {data.ticket} es el próximo día hábil."),
        data.facts(
            ("Cliente", data.text("client_name")),
            ("Asunto", data.text("subject")),
            ("Inicio", data.when("booked_slot")),
            ("Fin", data.when("slot_end")),
        ),
    ]
    return _Mail(data.with_subject("Recordatorio de asesoría"), blocks + _link(data), staff=True)


def _staff_incident_priority(data: _Data) -> _Mail:
    blocks: list[Block] = [
        Para(
            f"La solicitud {data.ticket} quedó en prioridad crítica (P1, 24/7): su incidente "
            "afecta a varios clientes."
        ),
        data.facts(
            ("Cliente", data.text("client_name")),
            ("Motivo", data.text("reason")),
            ("Primera respuesta a más tardar", data.when("first_response_due")),
            ("Solución a más tardar", data.when("resolution_due")),
        ),
    ]
    return _Mail(data.with_subject("Solicitud en P1"), blocks + _link(data), staff=True)


def _staff_generic(data: _Data) -> _Mail:
    blocks: list[Block] = [Para(f"Hay una novedad en la solicitud {data.ticket}.")]
    if data.text("body"):
        blocks.append(Quote(data.text("body")))
    return _Mail(data.with_subject("Novedad en la solicitud"), blocks + _link(data), staff=True)


def _committee_agenda_unrouted(data: _Data) -> _Mail:
    """To the admins: an agenda found no committee member to go to."""
    agenda = _committee_agenda(data)
    note = Para(
        "Nadie recibió esta agenda: no hay miembros activos del Comité Operativo registrados "
        "(rol committee). Registre al menos uno para que las próximas agendas les lleguen."
    )
    subject = "Comité Operativo: agenda sin destinatarios"
    return _Mail(subject, [note, *agenda.blocks], staff=True)


def _link(data: _Data) -> list[Block]:
    url = data.text("ticket_url")
    return [Action("Ver la solicitud", url)] if url else []
