"""The portal's page addresses, in one place: the pages' routes and the links in mail."""

from __future__ import annotations

HOME = "/"
SIGN_IN = "/ingresar"
SIGN_IN_LINK = "/ingresar/enlace"
SIGN_OUT = "/salir"
# A new email request held until its contact confirms it (sender trust): the mailed link.
CONFIRM_REQUEST = "/confirmar"
TICKETS = "/solicitudes"
NEW_TICKET = "/solicitudes/nueva"
STAFF_HOME = "/personal"
# The vendor's channels (no sign-in): every refusal and acknowledgement links to it.
CONTACT = "/contacto"
# The staff console (STAFF_HOME is "Mi cola").
UNASSIGNED = "/personal/sin-asignar"
ALL_TICKETS = "/personal/todas"
COMMITTEE = "/personal/comite"
INCIDENTS = "/personal/incidentes"
REGISTRY = "/personal/registro"
REFUSED_MAIL = "/personal/correo-rechazado"
DASHBOARD = "/personal/tablero"
SAVED_REPLIES = "/personal/plantillas"
STATIC = "/static"


def ticket(number: int) -> str:
    return f"{TICKETS}/{int(number)}"


def booking(number: int) -> str:
    return f"{ticket(number)}/agendar"


def rating(number: int) -> str:
    return f"{ticket(number)}/calificar"


def confirmation(token: str) -> str:
    return f"{CONFIRM_REQUEST}/{token}"


def absolute(public_url: str, path: str) -> str:
    return f"{public_url.rstrip('/')}{path}"


def incident(incident_id: str) -> str:
    return f"{INCIDENTS}/{incident_id}"
