"""The system's suggested priority and the missing information of a request. Pure: no I/O.

POLICY.md "Kinds and priorities": the client's category and priority are a suggestion; the
system suggests one from the category and text, from the policy's own examples, and an
engineer verifies it. POLICY.md §IV lists what a request carries; an acknowledgement asks
for what is missing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from soporte.policy import Channel, Kind, Priority

# Phrases are written without accents, in lower case: the text is folded the same way.
# P1: one failure hits several clients (site down, mass failure of electronic documents).
P1_PATTERNS = (
    r"caida de la pagina",
    r"pagina (web )?(esta )?caida",
    r"caida del (sitio|portal|servicio|sistema)",
    r"(sitio|portal|servicio|sistema)( web)? (esta )?caido",
    r"masiv[oa]s?",
    r"masivamente",
    r"todos los clientes",
    r"varios clientes",
)
# P2: materially harms the client's business (cannot invoice, DIAN differences, credentials,
# PDF of electronic documents, critical forms such as numbering resolutions).
P2_PATTERNS = (
    r"factur\w*",
    r"dian",
    r"credencial\w*",
    r"contrasena\w*",
    r"pdf",
    r"documentos? electronicos?",
    r"nominas? electronicas?",
    r"notas? (credito|debito)",
    r"resolucion\w*",
    r"numeracion\w*",
)


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b")


_P1 = _compile(P1_PATTERNS)
_P2 = _compile(P2_PATTERNS)


def fold(text: str) -> str:
    """Lower case without accents: 'Caída de la PÁGINA' -> 'caida de la pagina'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def suggest_priority(kind: Kind, category: str, text: str) -> Priority:
    """The system's suggestion: P1, P2 or P3 for support; the kind's own word otherwise."""
    if kind is Kind.REQUIREMENT:
        return Priority.REQUIREMENT
    if kind is Kind.ADVISORY:
        return Priority.ADVISORY
    words = fold(f"{category}\n{text}")
    if _P1.search(words):
        return Priority.P1
    if _P2.search(words):
        return Priority.P2
    return Priority.P3


# What POLICY §IV asks of every request, in the order an acknowledgement lists it. Intake
# refuses a request without a known client and contact, so NIT and reporter are never
# missing here; the legal number is optional; who to inform defaults to the reporter; the
# suggested priority defaults to the system's. Evidence (§IV.a, images or PDF) is asked of
# a support fault that came without any (it may still be uploaded after registration); an
# advisory is a session to book, with no expected result to state.
# Their Spanish wording: soporte.email.templates.MISSING_INFO_LABELS.
REQUIRED_FIELDS = ("category", "description", "expected_result")
REQUIRED_BY_CHANNEL: Mapping[Channel, tuple[str, ...]] = {Channel.EMAIL: ("business_impact",)}
REQUIRED_BY_KIND: Mapping[Kind, tuple[str, ...]] = {Kind.SUPPORT: ("evidence",)}
NOT_ASKED_BY_KIND: Mapping[Kind, tuple[str, ...]] = {Kind.ADVISORY: ("expected_result",)}


def _is_absent(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | dict):
        return not value
    return False


def missing_info(
    channel: Channel, fields: Mapping[str, object], kind: Kind | None = None
) -> list[str]:
    """The names of the required fields that are absent or blank, in a stable order.

    With a `kind`, its own rules too: `fields["evidence"]` holds a support fault's evidence."""
    required = REQUIRED_FIELDS + REQUIRED_BY_CHANNEL.get(channel, ())
    if kind is not None:
        skipped = NOT_ASKED_BY_KIND.get(kind, ())
        required = tuple(name for name in required if name not in skipped)
        required += REQUIRED_BY_KIND.get(kind, ())
    return [name for name in required if _is_absent(fields.get(name))]
