"""Evidence acceptance: one rule (soporte.policy.evidence) for the API and the email."""

from __future__ import annotations

import pytest

import soporte.email.parse.attachments as mail_evidence
import soporte.services.attachments as upload_evidence
from soporte.policy.evidence import MAX_FILENAME_CHARS, safe_filename, sniff_content_type


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"GIF89a", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b" %PDF-1.7", None),
        (b"<html>%PDF-1.7", None),
        (b"MZ\x90\x00", None),
    ],
)
def test_the_bytes_at_offset_zero_decide_the_type(head: bytes, kind: str | None) -> None:
    assert sniff_content_type(head) == kind


def test_both_doors_use_the_one_rule() -> None:
    assert mail_evidence.sniff_content_type is sniff_content_type
    assert upload_evidence.sniff_content_type is sniff_content_type


@pytest.mark.parametrize(
    "raw",
    ["x" * 180 + ".pdf", "dir/sub\\" + "ñ" * 199 + ".jpeg", "y" * 400],
)
def test_one_filename_limit_for_every_door(raw: str) -> None:
    for name in (safe_filename(raw), upload_evidence.safe_filename(raw)):
        assert len(name) <= MAX_FILENAME_CHARS
    assert mail_evidence.safe_filename(raw) == upload_evidence.safe_filename(raw)
    if "." in raw:
        assert safe_filename(raw).endswith(raw.rsplit(".", 1)[1])


def test_a_filename_loses_its_path_and_forbidden_characters() -> None:
    assert safe_filename("C:\\Users\\ana\\fac<t>ura?.pdf") == "fac_t_ura_.pdf"
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("  . ") == ""
    assert upload_evidence.safe_filename(None) == "adjunto"
