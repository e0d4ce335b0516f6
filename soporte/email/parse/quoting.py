"""Reply trimming: what the sender wrote now, without the quoted history and signature."""

from __future__ import annotations

import re

from soporte.email.parse.html_text import _tidy

# --- Reply trimming ------------------------------------------------------------------------

_ATTRIBUTION = re.compile(
    r"^\s*(?:el|on|le|am|em)\b.{0,400}?(?:escribi[óo]|wrote|a\s+écrit|schrieb|escreveu)\s*:\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:original message|mensaje original|mensagem original)\s*-{2,}\s*$", re.I
)
_HEADER_FROM = re.compile(r"^\s*[*_]*\s*(?:de|from)\s*[*_]*\s*:", re.I)
_HEADER_SENT = re.compile(r"^\s*[*_]*\s*(?:enviado(?:\s+el)?|sent|fecha|date)\s*[*_]*\s*:", re.I)
_UNDERSCORE_RULE = re.compile(r"^\s*_{8,}\s*$")
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(?:enviado|sent|obtener|get)\s+(?:desde|from|de)\s+\S.{0,60}$", re.I
)
_FORWARD_SUBJECT = re.compile(r"^\s*(?:\[[^\]]*\]\s*)?(?:fwd?|rv|reenv(?:iado)?|tr)\s*:", re.I)


def trim_reply(text: str) -> str:
    """What was written now: history after a reply header, `>` lines and signature removed."""
    lines = text.split("\n")
    lines = lines[: _history_start(lines)]
    lines = [line for line in lines if not line.lstrip().startswith(">")]
    lines = lines[: _signature_start(lines)]
    while lines and (not lines[-1].strip() or _MOBILE_SIGNATURE.match(lines[-1])):
        lines.pop()
    return _tidy("\n".join(lines))


def is_forward(subject: str) -> bool:
    return bool(_FORWARD_SUBJECT.match(subject))


def _history_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line) or _is_attribution(lines, index):
            return index
        if _is_header_block(lines, index):
            before = index - 1
            return before if before >= 0 and _UNDERSCORE_RULE.match(lines[before]) else index
    return len(lines)


def _is_attribution(lines: list[str], index: int) -> bool:
    if not re.match(r"^\s*(?:el|on|le|am|em)\b", lines[index], re.I):
        return False
    # Clients wrap long attributions ("... <juan@\nexample.com>) escribió:") over lines.
    return any(
        _ATTRIBUTION.match(" ".join(lines[index : index + span]))
        for span in (1, 2, 3)
        if index + span <= len(lines) and _wraps(lines[index : index + span])
    )


def _wraps(lines: list[str]) -> bool:
    """Whether lines can be one wrapped line: no blank line, no sentence ended before."""
    return all(line.strip() for line in lines) and not any(
        line.rstrip().endswith((".", "!", "?")) for line in lines[:-1]
    )


def _is_header_block(lines: list[str], index: int) -> bool:
    if not _HEADER_FROM.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 6] if line.strip()][:4]
    return any(_HEADER_SENT.match(line) for line in following)


def _signature_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if line == "-- " or line.strip() == "--":
            return index
    return len(lines)
