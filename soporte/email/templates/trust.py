"""Sender trust (POLICY.md "Who sees what"): mail to a contact about a message in its name
that we could not verify. Neither carries the message's own text or subject, so a forger
cannot use us to deliver its words to the contact."""

from __future__ import annotations

from soporte.email.templates.data import _Data
from soporte.email.templates.document import Action, Block, Para, _Mail


def _unverified_message(data: _Data) -> _Mail:
    about = f" sobre la solicitud {data.ticket}" if data.ticket else ""
    blocks: list[Block] = [
        data.greeting(),
        Para(
            f"Recibimos un correo a su nombre{about} que no pudimos verificar: no venía en "
            "respuesta a uno de nuestros correos y su servidor de correo no confirmó el "
            "remitente. Lo guardamos para el equipo de soporte, pero no cambió nada en la "
            "solicitud."
        ),
        Para(
            "Si usted lo envió, respóndanos desde uno de los correos que le enviamos sobre "
            "esta solicitud. Si no lo envió, no tiene que hacer nada."
        ),
    ]
    return _Mail(data.subject("Recibimos un mensaje a su nombre que no pudimos verificar"), blocks)


def _confirm_ticket(data: _Data) -> _Mail:
    received = data.when("received_at")
    when = f" el {received}" if received else ""
    blocks: list[Block] = [
        data.greeting(),
        Para(
            f"Recibimos{when} un correo a su nombre que pide abrir una solicitud de soporte, "
            "pero no pudimos verificar que lo haya enviado usted. Aún no la registramos y su "
            "tiempo de atención no ha empezado."
        ),
        Para(
            "Si usted lo envió, abra este enlace y pulse «Confirmar mi solicitud»: la "
            "registraremos de inmediato."
        ),
        Action("Confirmar mi solicitud", data.text("confirm_url")),
        Para("Si no lo envió, no tiene que hacer nada: no se abrirá ninguna solicitud."),
    ]
    return _Mail(data.subject("Confirme su solicitud de soporte"), blocks)
