"""Robustness over Python's own email test corpus: decades of odd, broken and binary input.

Every file must parse without raising, and each result is either a usable message or
carries the reason it is not (a defect or a loop risk)."""

from __future__ import annotations

import email
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soporte.email.parse import ParsedMail, parse_message

CORPUS = Path(email.__file__).parent.parent / "test" / "test_email" / "data"
FILES = sorted(p for p in CORPUS.iterdir() if p.is_file()) if CORPUS.is_dir() else []

pytestmark = pytest.mark.skipif(
    not FILES, reason=f"Python's email test corpus is not installed here ({CORPUS})"
)


def check(parsed: ParsedMail) -> None:
    assert isinstance(parsed, ParsedMail)
    assert parsed.message_id.startswith("<") and parsed.message_id.endswith(">")
    assert isinstance(parsed.body_text, str) and isinstance(parsed.full_text, str)
    assert "\r" not in parsed.full_text
    # Usable (a sender to answer) or flagged with why not.
    assert parsed.from_address or parsed.defects or parsed.loop_risk
    if parsed.message_id_synthesized:
        assert any("Message-ID" in defect for defect in parsed.defects)
    for attachment in parsed.attachments:
        assert attachment.content_type in {
            "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"
        }  # fmt: skip
    for refused in parsed.refused_attachments:
        assert refused.reason and refused.code in {"type", "size", "count", "empty"}


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_corpus_file_parses(path: Path) -> None:
    raw = path.read_bytes()
    check(parse_message(raw))
    check(parse_message(raw, envelope_from=""))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_damaged_corpus_files_parse(path: Path) -> None:
    raw = path.read_bytes()
    damaged = [
        raw[: len(raw) // 2],
        raw.replace(b"\n", b"\r\n"),
        raw.replace(b"\n", b"\r"),
        bytes(b ^ 0x80 if i % 7 == 0 else b for i, b in enumerate(raw)),
        raw.replace(b"=", b"=\xff"),
        raw.replace(b"boundary", b"boundry"),
    ]
    for variant in damaged:
        check(parse_message(variant))


def test_corpus_results_are_sensible() -> None:
    by_name = {p.name: parse_message(p.read_bytes()) for p in FILES}
    if "msg_01.txt" in by_name:
        assert by_name["msg_01.txt"].subject == "This is a test message"
        assert by_name["msg_01.txt"].from_address == "bbb@ddd.com"
    if "msg_16.txt" in by_name:  # a delivery status notification
        assert by_name["msg_16.txt"].is_bounce
    if "msg_04.txt" in by_name:  # inline text parts that carry a filename are body text
        assert "a simple kind of mirror" in by_name["msg_04.txt"].body_text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(FILES or [Path(__file__)]),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=10_000),
    st.binary(max_size=64),
)
def test_spliced_corpus_bytes_never_raise(path: Path, start: int, length: int, junk: bytes) -> None:
    raw = path.read_bytes()
    start %= max(len(raw), 1)
    spliced = raw[:start] + junk + raw[start + length :]
    check(parse_message(spliced))
