"""A tiny document model (paragraphs, facts, quotes, bullets, actions): one source for the
text and the HTML of a mail, and the footer."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import NamedTuple

SIGNATURE = "Soporte Amazonas ERP · BTW"


# --- A tiny document model: one source for the text and the HTML --------------------------


@dataclass
class Para:
    text: str


@dataclass
class Facts:
    rows: list[tuple[str, str]]


@dataclass
class Quote:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Action:
    label: str
    url: str


Block = Para | Facts | Quote | Bullets | Action


@dataclass
class _Mail:
    subject: str
    blocks: list[Block] = field(default_factory=list)
    staff: bool = False


class RenderedMail(NamedTuple):
    subject: str
    text: str
    html: str


def _text_block(block: Block) -> str:
    if isinstance(block, Para):
        return block.text
    if isinstance(block, Facts):
        return "\n".join(f"  {label}: {value}" for label, value in block.rows)
    if isinstance(block, Quote):
        return "\n".join(f"    {line}" if line else "" for line in block.text.split("\n"))
    if isinstance(block, Bullets):
        return "\n".join(f"  - {item}" for item in block.items)
    return f"{block.label}: {block.url}"


def _escape_lines(text: str) -> str:
    return html.escape(text).replace("\n", "<br>\n")


def _html_block(block: Block) -> str:
    if isinstance(block, Para):
        return f"<p>{_escape_lines(block.text)}</p>"
    if isinstance(block, Facts):
        rows = "".join(
            f'<tr><th align="left" style="padding:2px 12px 2px 0">{html.escape(label)}</th>'
            f"<td>{html.escape(value)}</td></tr>"
            for label, value in block.rows
        )
        return f'<table role="presentation" style="border-collapse:collapse">{rows}</table>'
    if isinstance(block, Quote):
        style = "margin:8px 0;padding:8px 12px;border-left:3px solid #c7d2fe;background:#f8fafc"
        return f'<blockquote style="{style}">{_escape_lines(block.text)}</blockquote>'
    if isinstance(block, Bullets):
        items = "".join(f"<li>{html.escape(item)}</li>" for item in block.items)
        return f"<ul>{items}</ul>"
    if re.match(r"^https?://", block.url, re.I):
        href = html.escape(block.url, quote=True)
        return f'<p><a href="{href}">{html.escape(block.label)}</a></p>'
    return f"<p>{html.escape(block.label)}: {html.escape(block.url)}</p>"


def _footer(number: int, staff: bool) -> str:
    if staff:
        return "Aviso automático del sistema de Soporte Amazonas."
    if number:
        return (
            f"Este es un mensaje automático. Si responde, conserve «[#{number}]» en el asunto "
            "para que su respuesta llegue a la solicitud."
        )
    return "Este es un mensaje automático."


def _is_empty(block: Block) -> bool:
    if isinstance(block, Facts):
        return not block.rows
    if isinstance(block, Bullets):
        return not block.items
    return False


def _assemble(mail: _Mail, number: int) -> RenderedMail:
    footer = _footer(number, mail.staff)
    mail = _Mail(mail.subject, [b for b in mail.blocks if not _is_empty(b)], mail.staff)
    text = "\n\n".join(_text_block(block) for block in mail.blocks)
    text += f"\n\n-- \n{SIGNATURE}\n{footer}\n"
    body = "\n".join(_html_block(block) for block in mail.blocks)
    page = (
        '<!DOCTYPE html>\n<html lang="es-CO">\n<head><meta charset="utf-8">'
        f"<title>{html.escape(mail.subject)}</title></head>\n"
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;'
        'line-height:1.5;color:#1f2933">\n'
        f"{body}\n"
        '<hr style="border:none;border-top:1px solid #e5e7eb">\n'
        f'<p style="font-size:12px;color:#6b7280">{html.escape(SIGNATURE)}<br>\n'
        f"{html.escape(footer)}</p>\n</body>\n</html>\n"
    )
    return RenderedMail(mail.subject, text, page)
