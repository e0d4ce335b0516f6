"""Spanish (es-CO) formatting: instants shown in America/Bogota with the zone named, and the
labels of priorities, resolutions and missing information."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from soporte.policy import NO_CLIENT_REPLY_TEXT

BOGOTA = ZoneInfo("America/Bogota")


# --- Spanish formatting ------------------------------------------------------------------

_DAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_MONTHS = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
    "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip
PRIORITY_LABELS = {
    "P1": "P1 – Crítico",
    "P2": "P2 – Alto",
    "P3": "P3 – Medio",
    "requirement": "Requerimiento",
    "advisory": "Asesoría personalizada",
}
RESOLUTION_LABELS = {
    "solution": "Solución",
    "instructions": "Instrucciones",
    "advice": "Asesoría",
    "no_client_reply": f"Resuelta {NO_CLIENT_REPLY_TEXT}",
    "abandoned": "Cerrada por abandono",
    "rejected": "Rechazada por el Comité Operativo",
    "delivered": "Entregada",
}
MISSING_INFO_LABELS = {
    "business_impact": "El impacto en su negocio (una línea «Impacto: …»).",
    "suggested_priority": "La prioridad que sugiere (una línea «Prioridad sugerida: P1, P2 o P3»).",
    "description": "Una descripción del problema.",
    "expected_result": "El resultado que esperaba obtener.",
    "legal_number": "El número legal del documento afectado (prefijo y número), si aplica.",
    "evidence": "Evidencia: capturas de pantalla (PNG, JPEG, GIF o WebP) o PDF.",
    "category": "La categoría o módulo de Amazonas ERP afectado.",
    "nit": "El NIT de su empresa.",
    "phone": "Un teléfono de contacto.",
}
_TARGET_LABELS = {"first_response": "primera respuesta", "resolution": "solución"}


def as_utc(value: object) -> datetime | None:
    """An aware UTC datetime from a datetime or an ISO 8601 string; None if unreadable."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


ZONE_NAME = "hora de Bogotá"


def format_bogota(value: object) -> str:
    """Bogota wall time in Spanish, the zone named:
    'lunes 30 de noviembre de 2026, 8:00 a. m. (hora de Bogotá)'.

    An unreadable value is shown as given."""
    instant = as_utc(value)
    if instant is None:
        return "" if value is None else str(value)
    local = instant.astimezone(BOGOTA)
    hour = local.hour % 12 or 12
    period = "a. m." if local.hour < 12 else "p. m."
    day = f"{_DAYS[local.weekday()]} {local.day} de {_MONTHS[local.month - 1]} de {local.year}"
    return f"{day}, {hour}:{local.minute:02d} {period} ({ZONE_NAME})"
