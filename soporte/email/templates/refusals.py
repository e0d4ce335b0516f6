"""The refusals: mail we could not take (unknown sender, inactive client, reopening refused)."""

from __future__ import annotations

from soporte.email.templates.data import _channel_facts, _Data
from soporte.email.templates.document import Block, Para, _Mail


def _contact_hint(data: _Data) -> list[Block]:
    """How to reach the vendor: its channels (POLICY.md: refusals name them)."""
    channels = _channel_facts(data)
    if not channels.rows:
        return [Para("Si necesita ayuda, comuníquese con su consultor de BTW.")]
    return [
        Para("Si necesita ayuda, comuníquese con su consultor de BTW o por nuestros canales:"),
        channels,
    ]


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
        *_contact_hint(data),
    ]
    return _Mail(data.subject("No pudimos registrar su solicitud"), blocks)


def _refused_staff_sender(data: _Data) -> _Mail:
    """Mail from a staff address: staff answer in the console or the API, never by mail."""
    sender = data.text("from_address", "su dirección")
    subject = data.text("subject")
    about = f" «{subject}»" if subject else ""
    blocks: list[Block] = [
        Para(
            f"Recibimos su correo{about} desde {sender}, una dirección del equipo de soporte, "
            "y no lo agregamos a ninguna solicitud ni lo enviamos al cliente: la dirección de "
            "un correo se puede falsificar, así que el equipo no escribe a los clientes por "
            "correo."
        ),
        Para(
            "Responda al cliente desde la consola o la API (mensaje público en la solicitud); "
            "para registrar una solicitud a nombre de un cliente, ábrala allí con su correo."
        ),
    ]
    return _Mail(data.subject("Correo del equipo no procesado"), blocks, staff=True)


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
        *_contact_hint(data),
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


def _foreign_thread(data: _Data) -> _Mail:
    sender = data.text("from_address", "su dirección")
    subject = data.text("subject")
    about = f" «{subject}»" if subject else ""
    blocks: list[Block] = [
        Para("Cordial saludo."),
        Para(
            f"Recibimos su correo{about}, pero responde a una solicitud de otra empresa: "
            f"la dirección {sender} no es contacto del cliente de esa solicitud, así que no "
            "agregamos su mensaje."
        ),
        Para(
            "Si necesita ayuda, escríbanos en un correo nuevo (sin el número de otra solicitud "
            "en el asunto)."
        ),
        *_contact_hint(data),
    ]
    return _Mail("No pudimos agregar su mensaje", blocks)
