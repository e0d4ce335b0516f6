"""The refusals: mail we could not take (unknown sender, inactive client, reopening refused)."""

from __future__ import annotations

from soporte.email.templates.data import _Data
from soporte.email.templates.document import Block, Para, RenderedMail, _escape_lines, _Mail


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


def foreign_thread_mail(sender: str, subject: str, support_phone: str) -> RenderedMail:
    """The reply to a message that answers another client's ticket (built here, not from data)."""
    about = f" «{subject}»" if subject else ""
    text = (
        "Cordial saludo.\n\n"
        f"Recibimos su correo{about}, pero responde a una solicitud de otra empresa: "
        f"la dirección {sender} no es contacto del cliente de esa solicitud, así que no "
        "agregamos su mensaje.\n\n"
        "Si necesita ayuda, escríbanos en un correo nuevo (sin el número de otra solicitud "
        f"en el asunto), o comuníquese con su consultor de BTW o a la línea {support_phone}."
        "\n\n-- \nSoporte Amazonas ERP · BTW\nEste es un mensaje automático.\n"
    )
    html = "".join(f"<p>{_escape_lines(part)}</p>\n" for part in text.split("\n\n"))
    return RenderedMail("No pudimos agregar su mensaje", text, html)
