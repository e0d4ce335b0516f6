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
from dataclasses import dataclass
from datetime import timedelta

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


# The words a client uses for a priority (the email line `Prioridad sugerida: alta`).
CLIENT_PRIORITY_WORDS = {
    "critica": Priority.P1,
    "critico": Priority.P1,
    "alta": Priority.P2,
    "alto": Priority.P2,
    "media": Priority.P3,
    "medio": Priority.P3,
    "baja": Priority.P3,
    "bajo": Priority.P3,
}


def priority_from_text(value: str | None) -> Priority | None:
    """P1/P2/P3 from a client's words: 'P2', 'alta', 'Crítica', '3'; None when unclear."""
    if not value:
        return None
    for token in re.findall(r"p\s*-?\s*[123]\b|[a-z]+|\d+", fold(value)):
        if token[0] == "p" and token[-1] in "123":
            return Priority(f"P{token[-1]}")
        if token in CLIENT_PRIORITY_WORDS:
            return CLIENT_PRIORITY_WORDS[token]
        if token in ("1", "2", "3"):
            return Priority(f"P{token}")
    return None


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


# The P1 rule (POLICY.md §V.b; README "The P1 rule"): P1 means one failure hitting several
# clients, which one contact cannot know. A suggested P1 starts as P1 only when the system's
# own suggestion agrees; else the ticket starts as P2, flagged for support to verify within
# the hour (an internal log line); staff may raise it to P1 with a reason.
P1_VERIFY_WITHIN = timedelta(hours=1)


@dataclass(frozen=True)
class StartingPriority:
    priority: Priority
    # A suggested P1 the system did not agree with: started as P2, to verify within the hour.
    to_verify: bool = False


def starting_priority(kind: Kind, suggested: Priority | None, system: Priority) -> StartingPriority:
    """The priority a ticket starts with: the kind's own word for requirements and advisories;
    for support, the suggestion when it fits (a P1 only with the system's agreement), else
    the system's."""
    if kind is Kind.REQUIREMENT:
        return StartingPriority(Priority.REQUIREMENT)
    if kind is Kind.ADVISORY:
        return StartingPriority(Priority.ADVISORY)
    if suggested is Priority.P1 and system is not Priority.P1:
        return StartingPriority(Priority.P2, to_verify=True)
    if suggested is not None and suggested.has_sla_clock:
        return StartingPriority(suggested)
    return StartingPriority(system if system.has_sla_clock else Priority.P3)


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
