"""Fields read from the text: labelled values, the impact, the priority line, and the
ticket number in a subject. The words of a priority are read by soporte.policy.triage."""

from __future__ import annotations

import re
import unicodedata

from soporte.email.parse.limits import _MAX_FIELD_CHARS
from soporte.email.subject_tag import SUBJECT_TAG

# --- Impact, priority and ticket numbers ---------------------------------------------------

_IMPACT_LABEL = re.compile(
    r"^impacto(?: (?:en|de|al|para) (?:el |la |los )?(?:negocio|operacion|empresa|cliente))?$"
)
_PRIORITY_LABEL = re.compile(r"^prioridad(?: sugerida)?$")
_SUBJECT_NUMBER = (
    SUBJECT_TAG,
    re.compile(r"\b(?:ticket|caso)\s*(?:n[o°º.]*\s*)?[:#]?\s*#?\s*(\d{1,9})\b", re.I),
    re.compile(r"(?<![\w&#])#\s?(\d{1,9})\b"),
)


def fold(text: str) -> str:
    """Lowercase without accents or decoration: 'Prioridad Sugerída' -> 'prioridad sugerida'."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"\s+", " ", plain.casefold().strip(" \t*_-•>")).strip()


def labelled_value(text: str, label: re.Pattern[str]) -> str | None:
    """The value of the first `Label: value` line whose folded label matches (or the next line)."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        name, colon, value = line.partition(":")
        if not colon or not label.match(fold(name)):
            continue
        value = value.strip(" \t*_") or _next_unlabelled_line(lines[index + 1 : index + 3])
        if value:
            return value[:_MAX_FIELD_CHARS]
    return None


def _next_unlabelled_line(lines: list[str]) -> str:
    for line in lines:
        if line.strip():
            return "" if ":" in line[:30] else line.strip()
    return ""


def ticket_number_in(subject: str) -> int | None:
    """`[#1234]` first, then 'Ticket 1234' / 'Caso #1234', then a bare '#1234'."""
    for pattern in _SUBJECT_NUMBER:
        match = pattern.search(subject)
        if match and int(match.group(1)) > 0:
            return int(match.group(1))
    return None
