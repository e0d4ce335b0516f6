"""The templates a client receives: the ticket's lifecycle, requirements, advisories, incidents."""

from __future__ import annotations

from datetime import datetime

from soporte.email.templates.data import (
    _abandon_sentence,
    _Data,
    _missing_info_items,
    _p1_line,
    _priority_label,
    _reopen_sentence,
)
from soporte.email.templates.document import Action, Block, Bullets, Facts, Para, Quote, _Mail
from soporte.email.templates.formatting import _MONTHS, PRIORITY_LABELS, RESOLUTION_LABELS
from soporte.policy import NO_CLIENT_REPLY_TEXT

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
    if data.kind == "requirement":
        blocks.append(_committee_sentence(data))
    if data.kind == "advisory" and data.text("booking_url"):
        blocks.append(Action("Agende su sesión de asesoría", data.text("booking_url")))
    if data.text("priority") == "P1" and data.flag("outside_business_hours"):
        blocks += _p1_line_sentence(data)
    if missing := _missing_info_items(data):
        blocks += [Para("Para avanzar, por favor envíenos también:"), Bullets(missing)]
    if refused := data.items("refused_attachments"):
        blocks += [Para("No pudimos conservar estos adjuntos:"), Bullets(refused)]
    return _Mail(data.with_subject("Recibimos su solicitud"), blocks + data.portal_link())


def _committee_sentence(data: _Data) -> Para:
    when = data.when("committee_at")
    if not when:
        return Para("El Comité Operativo revisará su requerimiento en su próxima sesión semanal.")
    return Para(f"El Comité Operativo revisará su requerimiento en su próxima sesión, el {when}.")


def _p1_line_sentence(data: _Data) -> list[Block]:
    """A P1 opened outside business hours: the P1 line answers then (POLICY.md "Channels")."""
    line = _p1_line(data)
    if not line:
        return []
    return [
        Para(
            "Registró esta solicitud crítica fuera de nuestro horario hábil. Si necesita "
            f"hablar con un ingeniero, llame a la línea exclusiva de prioridad 1: {line}."
        )
    ]


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
        Para(
            "Para calificar, responda a este correo empezando por un número de 1 a 5 "
            "(por ejemplo: «5, excelente atención»); lo que escriba después del número queda "
            "como su comentario. Esa respuesta solo registra la calificación: no reabre la "
            "solicitud."
        ),
    ]
    if data.text("rating_url"):
        blocks += [
            Para("También puede calificar desde el enlace:"),
            Action("Calificar la atención", data.text("rating_url")),
        ]
    return _Mail(data.with_subject("¿Cómo fue nuestra atención?"), blocks + data.portal_link())


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
    blocks.append(_abandon_sentence(data, paused=False))  # an advisory has no SLA clock
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
    blocks += _reopen_sentence(data, "advisory")
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
        *_reopen_sentence(data, "rejected"),
    ]
    return _Mail(data.with_subject("Requerimiento no aprobado"), blocks + data.portal_link())


def _requirement_delivered(data: _Data) -> _Mail:
    blocks: list[Block] = [
        data.greeting(),
        Para(f"La mejora de su requerimiento {data.ticket} fue entregada."),
    ]
    if data.text("body"):
        blocks.append(Quote(data.text("body")))
    blocks += _reopen_sentence(data, "delivered")
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


def _spanish_date(value: str) -> str:
    try:
        day = datetime.strptime(value[:10], "%Y-%m-%d")
    except ValueError:
        return value
    return f"{day.day} de {_MONTHS[day.month - 1]} de {day.year}"
