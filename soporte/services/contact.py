"""The portal's contact page (`/contacto`): the vendor's channels (POLICY.md "Channels"), the
page every refusal and acknowledgement links to."""

from __future__ import annotations

import html

from soporte.settings import Settings


def contact_page(settings: Settings) -> str:
    """A small Spanish page, no script and nothing fetched: it reads offline too."""
    emails = "".join(
        f'<li><a href="mailto:{html.escape(a, quote=True)}">{html.escape(a)}</a></li>'
        for a in settings.support_addresses
    )
    phone = html.escape(settings.support_phone)
    p1 = html.escape(f"{settings.p1_phone}: {settings.p1_phone_hours} (hora de Bogotá)")
    return (
        '<!DOCTYPE html>\n<html lang="es-CO">\n<head><meta charset="utf-8">'
        "<title>Contacto · Soporte Amazonas ERP</title></head>\n"
        '<body style="font-family:Arial,Helvetica,sans-serif;max-width:40em;margin:2em auto">\n'
        "<h1>Soporte Amazonas ERP · BTW</h1>\n"
        "<p>Escríbanos desde el correo registrado de su empresa y abrimos una solicitud:</p>\n"
        f"<ul>{emails}</ul>\n"
        f"<p>Línea única: {phone}.</p>\n"
        f"<p>Incidencias de prioridad 1 (crítico) fuera del horario hábil: {p1}.</p>\n"
        "<p>Horario hábil: lunes a jueves de 7:30 a 18:00 y viernes de 7:00 a 17:00 "
        "(hora de Bogotá), excepto festivos.</p>\n"
        "</body>\n</html>\n"
    )
