"""The web portal's own mail: the one-time sign-in link (about no ticket)."""

from __future__ import annotations

from soporte.email.templates.data import _Data
from soporte.email.templates.document import Action, Block, Para, _Mail


def _sign_in_link(data: _Data) -> _Mail:
    """The link itself is the secret; it works once, for `minutes` minutes."""
    minutes = data.text("minutes", "15")
    blocks: list[Block] = [
        data.greeting(),
        Para("Recibimos una solicitud para ingresar al portal de Soporte Amazonas ERP."),
        Action("Ingresar al portal", data.text("sign_in_url")),
        Para(
            f"El enlace sirve una sola vez durante {minutes} minutos. Si usted no lo pidió, "
            "ignore este correo: nadie podrá ingresar sin él."
        ),
    ]
    return _Mail("Su enlace para ingresar al portal de soporte", blocks)
