"""HTML to text: the readable text of an HTML body, without its signature blocks."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

from soporte.email.parse.headers import _CONTROL_CHARS

# --- HTML to text -----------------------------------------------------------------------

_BLOCK_TAGS = {
    "address", "article", "aside", "center", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "header", "hr", "li", "main", "nav", "ol",
    "section", "table", "tbody", "thead", "tfoot", "tr", "ul",
}  # fmt: skip
_PARAGRAPH_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"}
# `head` itself is not skipped: broken mail often never closes it.
_SKIPPED_TAGS = {"script", "style", "title", "noscript", "template", "object", "iframe"}
_SIGNATURE_MARKERS = {"gmail_signature", "signature", "moz-signature"}


class _HtmlText(HTMLParser):
    """HTML reduced to plain text: blocks become lines, blockquotes become `> ` lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._skip = 0
        self._quote = 0
        self._pre = 0
        self._gap = False
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip += 1
        elif tag == "br":
            self._push(force=True)
        elif tag in _PARAGRAPH_TAGS and not _is_outlook_line(tag, attrs):
            self._paragraph()
            if tag == "blockquote":
                self._quote += 1
            if tag == "pre":
                self._pre += 1
        elif tag in _BLOCK_TAGS or tag == "p":
            self._push()
            if tag == "li":
                self._current.append("- ")
        elif tag in ("td", "th"):
            self._current.append(" ")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self._href = href.strip() if re.match(r"https?://", href.strip(), re.I) else None
        if not self._quote and _is_signature(attrs):
            self._push()
            self.lines.append("-- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _PARAGRAPH_TAGS:
            self._paragraph()
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
            if tag == "pre":
                self._pre = max(0, self._pre - 1)
        elif tag in _BLOCK_TAGS:
            self._push()
        elif tag == "a" and self._href:
            if self._href not in "".join(self._current):
                self._current.append(f" ({self._href})")
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if not self._pre:
            self._current.append(re.sub(r"\s+", " ", data))
            return
        first, *rest = data.split("\n")
        self._current.append(first)
        for line in rest:
            self._push(force=True)
            self._current.append(line)

    def text(self) -> str:
        self._push()
        return "\n".join(self.lines)

    def _push(self, force: bool = False) -> None:
        line = "".join(self._current).replace("\xa0", " ")
        line = line.rstrip() if self._pre else re.sub(r" {2,}", " ", line).strip()
        self._current = []
        if not (line or force):
            return
        # A paragraph gap is written only between two lines, never dangling at the end.
        if self._gap and self.lines and self.lines[-1]:
            self.lines.append("")
        self._gap = False
        self.lines.append("> " * self._quote + line if line else ">" * self._quote)

    def _paragraph(self) -> None:
        self._push()
        self._gap = True


def _classes(attrs: list[tuple[str, str | None]]) -> set[str]:
    return {
        word
        for name, value in attrs
        if name in ("class", "id") and value
        for word in value.lower().split()
    }


def _is_signature(attrs: list[tuple[str, str | None]]) -> bool:
    return bool(_classes(attrs) & _SIGNATURE_MARKERS)


def _is_outlook_line(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    # Outlook writes every line as <p class=MsoNormal> with no margin: a line, not a paragraph.
    return tag == "p" and "msonormal" in _classes(attrs)


def html_to_text(html: str) -> str:
    """Safe plain text from HTML: scripts and styles dropped, entities unescaped."""
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
        text = parser.text()
    except Exception:  # HTMLParser can assert on pathological markup
        stripped = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", html)
        text = unescape(re.sub(r"<[^>]*>", " ", stripped))
    return _tidy(text)


def _tidy(text: str) -> str:
    """Newlines normalized, controls and trailing spaces dropped, blank runs collapsed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_CHARS.sub("", text)
    text = "\n".join(line.rstrip() if line != "-- " else line for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")
