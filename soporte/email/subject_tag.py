"""The ticket tag of a mail subject, `[#1234]`: what our mail carries and a reply keeps.

One pattern for every reader and writer: the parser (which ticket a subject names), the
threading (a strict tag, not a loose `#123` that may be an invoice), the templates and the
composed message (which add it once). Pure.
"""

from __future__ import annotations

import re

SUBJECT_TAG = re.compile(r"\[\s*#\s*(\d{1,9})\s*\]")


def subject_tag(number: int) -> str:
    return f"[#{int(number)}]"


def tagged_number(subject: str) -> int | None:
    """The number of the first `[#n]` tag in a subject (None when there is none)."""
    match = SUBJECT_TAG.search(subject)
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


def with_tag(number: int | None, subject: str) -> str:
    """The subject with the ticket's tag in front, unless it already carries it."""
    if not number or number in (int(n) for n in SUBJECT_TAG.findall(subject)):
        return subject
    return f"{subject_tag(number)} {subject}"
