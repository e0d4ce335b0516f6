"""The inbound mail parser on hand-built messages: encodings, threading, trimming, evidence,
loop flags, and the rule that it never raises."""

from __future__ import annotations

import base64
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soporte.email.loops import loop_reason, should_auto_reply
from soporte.email.parse import (
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    ParsedMail,
    html_to_text,
    parse_message,
    priority_from_text,
    trim_reply,
)
from soporte.email.subject_tag import tagged_number, with_tag
from soporte.email.templates import MessageIds
from soporte.policy import Priority
from soporte.settings import load_settings

message_id_for = MessageIds(b"parse-tests").for_mail

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64
EXE = b"MZ\x90\x00" + b"\x00" * 64
OUR = ("soporte@btw.com.co", "servicioalcliente@btw.com.co")
OWN_ADDRESS = "sent from one of our own addresses"
OWN_MESSAGE = "one of our own messages came back"
NESTED_PART = b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n"
TEXT = "Facturación electrónica caída"


def crlf(text: str) -> str:
    return text.strip("\n").replace("\n", "\r\n") + "\r\n"


def raw_message(headers: str, body: bytes | str, *, charset_bytes: str = "utf-8") -> bytes:
    """Headers as written (ASCII or raw UTF-8) and a body already in its wire bytes."""
    data = body.encode(charset_bytes) if isinstance(body, str) else body
    return crlf(headers).encode("utf-8") + b"\r\n" + data


BASIC_HEADERS = """
From: "Ana Pérez" <Ana.Perez@Cliente.COM.co>
To: Soporte <soporte@btw.com.co>, servicioalcliente@btw.com.co
Cc: jefe@cliente.com.co
Subject: No puedo facturar
Message-ID: <abc123@mail.cliente.com.co>
Date: Mon, 30 Nov 2026 08:00:00 -0500
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
"""


def with_attachments(*files: tuple[str, str, bytes], text: str = "Adjunto evidencia.") -> bytes:
    message = EmailMessage()
    message["From"] = "ana@cliente.com.co"
    message["To"] = "soporte@btw.com.co"
    message["Subject"] = "Evidencia"
    message["Message-ID"] = "<files@cliente.com.co>"
    message.set_content(text)
    for filename, content_type, data in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


# --- Headers, addresses, ids ---------------------------------------------------------


def test_plain_utf8_message_fields() -> None:
    parsed = parse_message(raw_message(BASIC_HEADERS, "La facturación electrónica falla.\n"))
    assert parsed.from_address == "ana.perez@cliente.com.co"
    assert parsed.from_name == "Ana Pérez"
    assert parsed.to == ["soporte@btw.com.co", "servicioalcliente@btw.com.co"]
    assert parsed.cc == ["jefe@cliente.com.co"]
    assert parsed.subject == "No puedo facturar"
    assert parsed.message_id == "<abc123@mail.cliente.com.co>"
    assert not parsed.message_id_synthesized
    assert parsed.body_text == "La facturación electrónica falla."
    assert parsed.date is not None and parsed.date.isoformat() == "2026-11-30T13:00:00+00:00"
    assert parsed.loop_risk is None and parsed.defects == []


def test_encoded_headers_are_decoded() -> None:
    headers = """
From: =?ISO-8859-1?Q?P=E9rez=2C_Jos=E9?= <jose@cliente.co>
To: soporte@btw.com.co
Subject: =?UTF-8?B?RmFjdHVyYWNpw7Nu?= =?UTF-8?Q?_electr=C3=B3nica?= ca=?utf-8?q?=C3=ADda?=
Message-ID: <h1@cliente.co>
Content-Type: text/plain; charset=us-ascii
"""
    parsed = parse_message(raw_message(headers, "hola\n"))
    assert parsed.subject == "Facturación electrónica caída"
    # A comma inside an encoded display name does not split the address list.
    assert parsed.from_name == "Pérez, José"
    assert parsed.from_address == "jose@cliente.co"


def test_utf8_character_split_across_encoded_words() -> None:
    # "ó" is C3 B3: one mailer put C3 at the end of one word and B3 at the start of the next.
    subject = "=?UTF-8?B?" + base64.b64encode(b"Facturaci\xc3").decode() + "?= "
    subject += "=?UTF-8?B?" + base64.b64encode(b"\xb3n").decode() + "?="
    headers = f"From: a@b.co\nSubject: {subject}\nMessage-ID: <s@b.co>"
    assert parse_message(raw_message(headers, "x\n")).subject == "Facturación"


def test_raw_8bit_headers_in_utf8_and_windows_1252() -> None:
    utf8 = raw_message("From: a@b.co\nSubject: Facturación caída", "x\n")
    assert parse_message(utf8).subject == "Facturación caída"
    cp1252 = b"From: a@b.co\r\nSubject: Facturaci\xf3n \x93urgente\x94\r\n\r\nx\r\n"
    assert parse_message(cp1252).subject == "Facturación “urgente”"


def test_missing_message_id_is_synthesized_stably() -> None:
    raw = raw_message("From: a@b.co\nSubject: sin id", "hola\n")
    first, second = parse_message(raw), parse_message(raw)
    other = parse_message(raw + b"otra linea\r\n")
    assert first.message_id_synthesized
    assert first.message_id == second.message_id != other.message_id
    assert first.message_id.startswith("<") and first.message_id.endswith(">")
    assert any("Message-ID" in defect for defect in first.defects)


def test_message_id_without_brackets_is_normalized() -> None:
    raw = raw_message("From: a@b.co\nMessage-ID: abc@b.co\nIn-Reply-To: x@y.z", "hola\n")
    parsed = parse_message(raw)
    assert parsed.message_id == "<abc@b.co>"
    assert parsed.in_reply_to == "<x@y.z>"


# --- Bodies and encodings --------------------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "encoding", "body", "expected"),
    [
        ("iso-8859-1", "quoted-printable", b"Facturaci=F3n electr=F3nica =\r\nca=EDda", None),
        ("iso-8859-1", "8bit", "Facturación electrónica caída".encode("latin-1"), None),
        ("utf-8", "quoted-printable", b"Facturaci=C3=B3n electr=C3=B3nica ca=C3=ADda", None),
        ("utf-8", "base64", base64.b64encode("Facturación electrónica caída".encode()), None),
        ("windows-1252", "base64", base64.b64encode(TEXT.encode("cp1252")), None),
        # Outlook smart quotes labelled Latin-1 are really Windows-1252.
        ("iso-8859-1", "8bit", b"Dice \x93no\x94 \x96 ca\xedda", "Dice “no” – caída"),
        # A wrong label: declared UTF-8, written in Latin-1.
        ("utf-8", "8bit", "Facturación electrónica caída".encode("latin-1"), None),
        ("x-unknown-charset", "8bit", "Facturación electrónica caída".encode(), None),
    ],
)  # fmt: skip
def test_body_charsets_and_transfer_encodings(
    charset: str, encoding: str, body: bytes, expected: str | None
) -> None:
    headers = f"""
From: a@b.co
Subject: x
Message-ID: <enc@b.co>
Content-Type: text/plain; charset="{charset}"
Content-Transfer-Encoding: {encoding}
"""
    parsed = parse_message(raw_message(headers, body + b"\r\n"))
    assert parsed.body_text == (expected or "Facturación electrónica caída")


def test_unusable_charset_is_noted_as_a_defect() -> None:
    headers = "From: a@b.co\nContent-Type: text/plain; charset=utf-8"
    parsed = parse_message(raw_message(headers, b"caf\xe9\r\n"))
    assert parsed.body_text == "café"
    assert any("charset" in defect for defect in parsed.defects)


def test_alternative_prefers_plain_text() -> None:
    message = EmailMessage()
    message["From"] = "a@b.co"
    message.set_content("Versión en texto.")
    message.add_alternative("<p>Versión <b>HTML</b></p>", subtype="html")
    assert parse_message(message.as_bytes()).body_text == "Versión en texto."


def test_html_only_message_becomes_safe_text() -> None:
    html_body = """<html><head><style>p {color: red}</style><title>t</title></head><body>
<p>Hola&nbsp;equipo &amp; soporte,</p><script>alert('x')</script>
<div>El sistema muestra &lt;error 500&gt;<br>al guardar.</div>
<ul><li>Factura FE-12</li><li>Factura FE-13</li></ul>
<table><tr><td>NIT</td><td>900123456-7</td></tr></table>
</body></html>"""
    message = EmailMessage()
    message["From"] = "a@b.co"
    message.set_content(html_body, subtype="html")
    text = parse_message(message.as_bytes()).body_text
    assert "alert" not in text and "color" not in text
    assert text.splitlines() == [
        "Hola equipo & soporte,",
        "",
        "El sistema muestra <error 500>",
        "al guardar.",
        "- Factura FE-12",
        "- Factura FE-13",
        "NIT 900123456-7",
    ]


def test_html_links_keep_their_address() -> None:
    html_body = (
        '<p>Ver <a href="https://drive.example/captura">la captura</a>, '
        '<a href="https://x.co">https://x.co</a> y <a href="javascript:alert(1)">esto</a>.</p>'
    )
    assert html_to_text(html_body) == (
        "Ver la captura (https://drive.example/captura), https://x.co y esto."
    )


def test_html_blockquote_is_quoted_history() -> None:
    html_body = (
        "<div>Ya envié la captura.</div><div class='gmail_quote'>"
        "<blockquote><p>Necesitamos una captura.</p></blockquote></div>"
    )
    assert html_to_text(html_body) == "Ya envié la captura.\n\n> Necesitamos una captura."
    assert trim_reply(html_to_text(html_body)) == "Ya envié la captura."


def test_html_gmail_signature_is_trimmed() -> None:
    html_body = '<div>Gracias.</div><div class="gmail_signature">Ana Pérez<br>Gerente</div>'
    assert trim_reply(html_to_text(html_body)) == "Gracias."


def test_html_parser_never_raises_on_broken_markup() -> None:
    junk = ["<a href='x", "<![CDATA[", "<!--", "</p></div><<>>", "<script>unclosed", "&#xffff;"]
    for markup in junk:
        assert isinstance(html_to_text(markup), str)


def test_missing_multipart_boundary_is_read_as_text() -> None:
    headers = "From: a@b.co\nContent-Type: multipart/mixed"
    parsed = parse_message(raw_message(headers, "Texto sin partes\r\n"))
    assert "Texto sin partes" in parsed.body_text
    assert parsed.defects


# --- Reply trimming ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "history",
    [
        "El lun, 30 nov 2026 a las 8:00, Soporte Amazonas <soporte@btw.com.co>\nescribió:\n> Hola",
        "El 30/11/2026, a las 8:00 a. m., soporte@btw.com.co escribió:\n> Hola",
        "On Mon, Nov 30, 2026 at 8:00 AM Soporte <soporte@btw.com.co> wrote:\n> Hola",
        "-----Original Message-----\nFrom: Soporte\nSent: Monday\nHola",
        "-----Mensaje original-----\nDe: Soporte\nHola",
        "________________________________\nDe: Soporte Amazonas <soporte@btw.com.co>\n"
        "Enviado: lunes, 30 de noviembre de 2026 8:00\nPara: Ana\nAsunto: [#1234] Info\n\nHola",
        "De: Soporte Amazonas [mailto:soporte@btw.com.co]\nEnviado el: lunes\nHola",
        "From: Soporte <soporte@btw.com.co>\nDate: Mon, 30 Nov 2026\nSubject: x\n\nHola",
        "> Necesitamos la factura.\n>> Hola",
    ],
)  # fmt: skip
def test_quoted_history_is_trimmed(history: str) -> None:
    text = f"Adjunto la factura FE-12.\nGracias.\n\n{history}"
    assert trim_reply(text) == "Adjunto la factura FE-12.\nGracias."


def test_signature_and_mobile_footer_are_trimmed() -> None:
    assert trim_reply("Listo, ya funciona.\n-- \nAna Pérez\nGerente") == "Listo, ya funciona."
    assert trim_reply("Listo.\n--\nAna") == "Listo."
    assert trim_reply("Listo.\n\nEnviado desde mi iPhone") == "Listo."
    assert trim_reply("Listo.\n\nSent from my Galaxy") == "Listo."


def test_interleaved_reply_keeps_the_new_lines() -> None:
    text = "> ¿Cuál factura?\nLa FE-12.\n> ¿Desde cuándo?\nDesde ayer."
    assert trim_reply(text) == "La FE-12.\nDesde ayer."


def test_sentence_starting_with_el_is_not_history() -> None:
    text = "El sistema no deja facturar.\nEl error aparece al guardar."
    assert trim_reply(text) == text


def test_reply_body_and_full_text() -> None:
    body = "Ya lo adjunté.\n\nEl lun, 30 nov 2026, Soporte <s@btw.com.co> escribió:\n> ¿Factura?\n"
    parsed = parse_message(raw_message(BASIC_HEADERS, body))
    assert parsed.body_text == "Ya lo adjunté."
    assert "¿Factura?" in parsed.full_text


def test_forward_keeps_the_forwarded_content() -> None:
    headers = BASIC_HEADERS.replace("Subject: No puedo facturar", "Subject: RV: Error DIAN")
    body = (
        "Les reenvío el error.\n\nDe: DIAN <x@dian.gov.co>\nEnviado: lunes\nRechazo 90: duplicado\n"
    )
    assert "Rechazo 90" in parse_message(raw_message(headers, body)).body_text


def test_attached_message_text_and_files_are_kept() -> None:
    inner = EmailMessage()
    inner["From"] = "dian@dian.gov.co"
    inner["Subject"] = "Rechazo"
    inner.set_content("Documento rechazado: FE-12")
    inner.add_attachment(PDF, maintype="application", subtype="pdf", filename="rechazo.pdf")
    outer = EmailMessage()
    outer["From"] = "ana@cliente.co"
    outer.set_content("Ver el correo adjunto.")
    outer.add_attachment(inner)
    parsed = parse_message(outer.as_bytes())
    assert "Ver el correo adjunto." in parsed.body_text
    assert "Documento rechazado: FE-12" in parsed.body_text
    assert [a.filename for a in parsed.attachments] == ["rechazo.pdf"]


# --- Impact and suggested priority ---------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "impact"),
    [
        ("Impacto: No podemos facturar", "No podemos facturar"),
        ("impacto: no podemos facturar", "no podemos facturar"),
        ("IMPACTO: NO PODEMOS FACTURAR", "NO PODEMOS FACTURAR"),
        ("Impacto en el negocio: ventas detenidas", "ventas detenidas"),
        ("**Impacto:** ventas detenidas", "ventas detenidas"),
        ("- Impácto : ventas detenidas", "ventas detenidas"),
        ("Impacto:\nventas detenidas", "ventas detenidas"),
    ],
)
def test_business_impact_line(line: str, impact: str) -> None:
    parsed = parse_message(raw_message(BASIC_HEADERS, f"Falla el módulo.\n{line}\nGracias\n"))
    assert parsed.business_impact == impact


@pytest.mark.parametrize(
    ("line", "priority"),
    [
        ("Prioridad sugerida: P1", Priority.P1),
        ("Prioridad Sugerida: p2", Priority.P2),
        ("PRIORIDAD SUGERIDA: P3 - Medio", Priority.P3),
        ("prioridad sugerída: alta", Priority.P2),
        ("Prioridad sugerida: Media", Priority.P3),
        ("Prioridad sugerida: crítica", Priority.P1),
        ("Prioridad sugerida: critico", Priority.P1),
        ("Prioridad sugerida: Alta (no P1)", Priority.P2),
        ("Prioridad: 2", Priority.P2),
        ("Prioridad sugerida: la que ustedes digan", None),
    ],
)
def test_suggested_priority_line(line: str, priority: Priority | None) -> None:
    parsed = parse_message(raw_message(BASIC_HEADERS, f"Impacto: alto\n{line}\n"))
    assert parsed.suggested_priority == priority
    assert parsed.business_impact == "alto"


def test_impact_in_quoted_history_is_ignored() -> None:
    body = "Gracias.\n\nOn Mon, Soporte wrote:\n> Impacto: viejo\n> Prioridad sugerida: P1\n"
    parsed = parse_message(raw_message(BASIC_HEADERS, body))
    assert parsed.business_impact is None and parsed.suggested_priority is None


def test_impact_label_followed_by_another_label_is_empty() -> None:
    parsed = parse_message(raw_message(BASIC_HEADERS, "Impacto:\nPrioridad sugerida: alta\n"))
    assert parsed.business_impact is None
    assert parsed.suggested_priority == Priority.P2


def test_priority_words() -> None:
    assert priority_from_text("P-1") == Priority.P1
    assert priority_from_text("CRÍTICO") == Priority.P1
    assert priority_from_text("baja") == Priority.P3
    assert priority_from_text("urgente") is None
    assert priority_from_text(None) is None


# --- Threading ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "number"),
    [
        ("Re: [#1234] Necesitamos información", 1234),
        ("RE: Ticket 1234 factura", 1234),
        ("Caso #1234", 1234),
        ("caso 1234", 1234),
        ("Ticket No. 77", 77),
        ("RV: Problema #1234", 1234),
        ("Problema con la factura 1234", None),
        ("Error &#1234; en pantalla", None),
        ("[#0] cero", None),
        ("", None),
    ],
)
def test_ticket_number_in_subject(subject: str, number: int | None) -> None:
    parsed = parse_message(raw_message(f"From: a@b.co\nSubject: {subject}", "x\n"))
    assert parsed.ticket_number_in_subject == number


def test_threading_by_our_message_ids() -> None:
    ours = message_id_for(1234, "1234-7")
    headers = f"""
From: a@b.co
Subject: Re: sin número
Message-ID: <reply@b.co>
In-Reply-To: <someone@else.co>
References: <root@b.co>
 {ours}
 <someone@else.co>
"""
    parsed = parse_message(raw_message(headers, "ok\n"))
    assert parsed.in_reply_to == "<someone@else.co>"
    assert parsed.references == ["<root@b.co>", ours, "<someone@else.co>"]
    assert parsed.ticket_number_in_subject is None
    assert parsed.ticket_number_in_references == 1234
    assert parsed.ticket_number == 1234
    assert parsed.thread_message_ids == ["<someone@else.co>", ours, "<root@b.co>"]


def test_subject_number_wins_over_references() -> None:
    headers = f"From: a@b.co\nSubject: [#55] hola\nIn-Reply-To: {message_id_for(99, 'x')}"
    parsed = parse_message(raw_message(headers, "ok\n"))
    assert parsed.ticket_number == 55
    assert parsed.ticket_number_in_references == 99


def test_foreign_ids_that_look_like_ours_do_not_thread() -> None:
    headers = "From: a@b.co\nIn-Reply-To: <ticket-12.x@otro-dominio.com>"
    assert parse_message(raw_message(headers, "ok\n")).ticket_number is None


# --- Attachments ---------------------------------------------------------------------------


def test_allowed_types_are_sniffed_by_magic_bytes() -> None:
    raw = with_attachments(
        ("captura.png", "image/png", PNG),
        ("foto", "application/octet-stream", JPEG),
        ("anim.gif", "image/gif", GIF),
        ("pantalla.webp", "image/webp", WEBP),
        ("factura.bin", "application/octet-stream", PDF),
    )
    parsed = parse_message(raw)
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("captura.png", "image/png"),
        ("foto", "image/jpeg"),
        ("anim.gif", "image/gif"),
        ("pantalla.webp", "image/webp"),
        ("factura.bin", "application/pdf"),
    ]
    filename, content_type, data = parsed.attachments[0]
    assert data == PNG and parsed.attachments[0].size == len(PNG)
    assert parsed.refused_attachments == []


def test_disallowed_or_disguised_files_are_refused_with_a_reason() -> None:
    raw = with_attachments(
        ("virus.exe", "application/octet-stream", EXE),
        ("falsa.png", "image/png", b"not really a png"),
        ("log.txt", "text/plain", b"trace"),
    )
    parsed = parse_message(raw)
    assert parsed.attachments == []
    assert [(r.filename, r.code) for r in parsed.refused_attachments] == [
        ("virus.exe", "type"),
        ("falsa.png", "type"),
        ("log.txt", "type"),
    ]
    assert all(r.reason for r in parsed.refused_attachments)
    assert parsed.body_text == "Adjunto evidencia."


def test_size_limit_per_file() -> None:
    big = PNG + b"\x00" * MAX_ATTACHMENT_BYTES
    parsed = parse_message(
        with_attachments(("grande.png", "image/png", big), ("ok.png", "image/png", PNG))
    )
    assert [a.filename for a in parsed.attachments] == ["ok.png"]
    assert [(r.filename, r.code, r.size) for r in parsed.refused_attachments] == [
        ("grande.png", "size", len(big))
    ]


def test_count_limit_per_message() -> None:
    files = [(f"img{i}.png", "image/png", PNG) for i in range(MAX_ATTACHMENTS + 2)]
    parsed = parse_message(with_attachments(*files))
    assert len(parsed.attachments) == MAX_ATTACHMENTS
    assert [r.code for r in parsed.refused_attachments] == ["count", "count"]


def test_inline_image_in_related_html_is_kept() -> None:
    message = EmailMessage()
    message["From"] = "a@b.co"
    message.set_content("Ver imagen.")
    message.add_alternative('<p>Ver imagen <img src="cid:img1"></p>', subtype="html")
    html_part = next(p for p in message.iter_parts() if p.get_content_type() == "text/html")
    html_part.add_related(PNG, maintype="image", subtype="png", cid="<img1>")
    parsed = parse_message(message.as_bytes())
    assert parsed.body_text == "Ver imagen."
    kept = [(a.content_type, a.filename) for a in parsed.attachments]
    assert kept == [("image/png", "adjunto-1.png")]


def test_attachment_names_are_decoded_and_made_safe() -> None:
    encoded = "=?UTF-8?B?" + base64.b64encode("Captura ñandú.png".encode()).decode() + "?="
    raw = with_attachments(("x.png", "image/png", PNG)).replace(
        b'filename="x.png"', f'filename="{encoded}"'.encode()
    )
    assert parse_message(raw).attachments[0].filename == "Captura ñandú.png"
    raw = with_attachments(("../../etc/passwd.png", "image/png", PNG))
    assert parse_message(raw).attachments[0].filename == "passwd.png"


def test_rfc2231_filename() -> None:
    raw = with_attachments(("placeholder.pdf", "application/pdf", PDF)).replace(
        b'filename="placeholder.pdf"', b"filename*=utf-8''factura%20n%C2%BA%2012.pdf"
    )
    assert parse_message(raw).attachments[0].filename == "factura nº 12.pdf"


def test_broken_base64_attachment_does_not_raise() -> None:
    headers = """
From: a@b.co
Content-Type: multipart/mixed; boundary="B"
"""
    body = crlf("""
--B
Content-Type: text/plain

Texto
--B
Content-Type: image/png; name="rota.png"
Content-Transfer-Encoding: base64

iVBORw0KGgo!!!@@@not base64 at all===
--B--
""")
    parsed = parse_message(raw_message(headers, body))
    assert parsed.body_text == "Texto"
    assert len(parsed.attachments) + len(parsed.refused_attachments) == 1


# --- Loop flags ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra_headers", "flag", "reason"),
    [
        ("Auto-Submitted: auto-replied", "auto_submitted", "auto-submitted: auto-replied"),
        ("Auto-Submitted: Auto-Generated; x=y", "auto_submitted", "auto-submitted: auto-generated"),
        ("X-Autoreply: yes", "auto_submitted", "x-autoreply header"),
        ("Precedence: bulk", "is_bulk", "precedence: bulk"),
        ("Precedence: JUNK", "is_bulk", "precedence: junk"),
        ("Precedence: list", "is_bulk", "precedence: list"),
        ("List-Id: <clientes.lists.cliente.co>", "is_bulk", "mailing list message (list-id)"),
        ("X-Failed-Recipients: x@y.co", "is_bounce", "delivery failure notice"),
    ],
)  # fmt: skip
def test_loop_headers(extra_headers: str, flag: str, reason: str) -> None:
    parsed = parse_message(raw_message(f"From: a@b.co\n{extra_headers}", "Fuera de la oficina\n"))
    assert getattr(parsed, flag) is True
    assert parsed.loop_risk == reason


def test_auto_submitted_no_is_a_person() -> None:
    parsed = parse_message(raw_message("From: a@b.co\nAuto-Submitted: no", "hola\n"))
    assert not parsed.auto_submitted and parsed.loop_risk is None


def test_x_auto_response_suppress() -> None:
    parsed = parse_message(raw_message("From: a@b.co\nX-Auto-Response-Suppress: DR, OOF", "x\n"))
    assert parsed.loop_risk == "x-auto-response-suppress asks for no reply"


def test_null_return_path_from_envelope_or_header() -> None:
    raw = raw_message("From: a@b.co", "hola\n")
    assert parse_message(raw, envelope_from="").loop_risk == "null return path"
    assert parse_message(raw, envelope_from="<>").return_path == ""
    assert parse_message(raw, envelope_from="A@B.co").return_path == "a@b.co"
    assert parse_message(raw).return_path is None
    with_header = raw_message("Return-Path: <>\nFrom: a@b.co", "hola\n")
    assert parse_message(with_header).loop_risk == "null return path"


def test_delivery_status_report_and_mailer_daemon() -> None:
    headers = """
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.cliente.co>
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="R"
"""
    body = crlf("""
--R
Content-Type: text/plain

The message could not be delivered.
--R
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.cliente.co

Final-Recipient: rfc822; nadie@cliente.co
Action: failed
Status: 5.1.1
--R--
""")
    parsed = parse_message(raw_message(headers, body), envelope_from="")
    assert parsed.is_bounce and parsed.loop_risk == "delivery status report"
    daemon = parse_message(raw_message("From: MAILER-DAEMON@mx.co", "x\n"))
    assert daemon.is_bounce and daemon.loop_risk == "mailer-daemon sender"


# --- should_auto_reply ---------------------------------------------------------------------


def person(**changes: object) -> ParsedMail:
    parsed = parse_message(raw_message(BASIC_HEADERS, "hola\n"), envelope_from="ana@cliente.com.co")
    return ParsedMail(**{**parsed.__dict__, **changes})


@pytest.mark.parametrize(
    ("mail", "recent", "allowed", "reason"),
    [
        (person(), 0, True, "ok"),
        (person(), 4, True, "ok"),
        (person(), 5, False, "cap of 5 automatic replies per sender per hour reached"),
        (person(loop_risk="precedence: bulk"), 0, False, "precedence: bulk"),
        (person(from_address="SOPORTE@btw.com.co"), 0, False, OWN_ADDRESS),
        (person(from_address="servicioalcliente@btw.com.co"), 0, False, OWN_ADDRESS),
        (person(from_address=""), 0, False, "no sender address"),
        (person(from_address="no-reply@cliente.co"), 0, False, "sender does not take replies"),
        (person(message_id=message_id_for(9, "9-1")), 0, False, OWN_MESSAGE),
    ],
)  # fmt: skip
def test_should_auto_reply(mail: ParsedMail, recent: int, allowed: bool, reason: str) -> None:
    assert should_auto_reply(mail, OUR, recent) == (allowed, reason)


def test_cap_is_configurable() -> None:
    assert should_auto_reply(person(), OUR, 1, cap_per_hour=1)[0] is False
    assert should_auto_reply(person(), OUR, 9, cap_per_hour=10)[0] is True


# --- Never raises --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage \x80\x81",
        b"no headers at all",
        b"From: \r\nSubject: =?utf-8?B?####?=\r\n\r\n",
        b"From: <<<@@@>>>\r\nTo: ,,,;;;\r\nDate: yesterday\r\n\r\nx",
        b"Subject: =?bogus-charset?Q?caf=E9?=\r\n\r\nx",
        b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n'
        b'--x\r\nContent-Type: text/plain; charset=""\r\n\r\n',
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!",
        b"Content-Type: message/rfc822\r\n\r\nFrom: x\r\n",
        b"Date: Mon, 99 Foo 99999 99:99:99 +9999\r\n\r\n",
        b"Message-ID: <>\r\nIn-Reply-To: <\r\nReferences: >>><<<\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n" + NESTED_PART * 200,
    ],
)  # fmt: skip
def test_malformed_input_never_raises(raw: bytes) -> None:
    parsed = parse_message(raw)
    assert isinstance(parsed, ParsedMail)
    assert parsed.message_id


def test_non_bytes_input_is_tolerated() -> None:
    assert parse_message("From: a@b.co\r\n\r\nhola").from_address == "a@b.co"  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise(raw: bytes) -> None:
    assert isinstance(parse_message(raw), ParsedMail)


_HEADER_NAMES = st.sampled_from(
    ["From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Date",
     "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Auto-Submitted",
     "Precedence", "Return-Path"]
)  # fmt: skip
_HEADER_VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        ["multipart/mixed; boundary=b", "text/html; charset=koi8-r", "base64", "quoted-printable",
         "=?utf-8?b?w7E=?=", "=?x?q?=ZZ?=", "<a@b>", "attachment; filename*=bad''%ZZ"]
    ),
)  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_HEADER_NAMES, _HEADER_VALUES), max_size=8), st.binary(max_size=512))
def test_random_headers_never_raise(headers: list[tuple[str, str]], body: bytes) -> None:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    raw = head.encode("utf-8", "surrogatepass") + b"\r\n" + body
    assert isinstance(parse_message(raw), ParsedMail)


def test_a_reply_starting_with_el_keeps_its_first_sentence() -> None:
    from soporte.email.parse import trim_reply

    text = "El prefijo es FE.\n\nEl lun, 30 nov 2026 a las 8:00, Ana <a@b.co> escribió:\n> texto"
    assert trim_reply(text) == "El prefijo es FE."


def test_a_pdf_signature_not_at_offset_zero_is_refused_as_the_api_refuses_it() -> None:
    # One evidence rule (soporte.policy.evidence): before, the mail parser looked for the
    # signature anywhere in the first KiB and the upload route only at offset 0.
    raw = with_attachments(("disfrazado.pdf", "application/pdf", b"<html>" + PDF))
    parsed = parse_message(raw)
    assert parsed.attachments == []
    assert [(r.filename, r.code) for r in parsed.refused_attachments] == [
        ("disfrazado.pdf", "type")
    ]


def test_a_long_filename_is_capped_by_the_evidence_rule_keeping_its_extension() -> None:
    from soporte.policy.evidence import MAX_FILENAME_CHARS

    raw = with_attachments(("a" * 300 + ".png", "image/png", PNG))
    (kept,) = parse_message(raw).attachments
    assert len(kept.filename) == MAX_FILENAME_CHARS and kept.filename.endswith(".png")


# --- One loop rule, one subject tag, the mail domain from the settings (issue 12) --------


def test_one_loop_rule_for_the_intake_and_the_automatic_replies() -> None:
    settings = load_settings(mail_domain="correo.ejemplo.co")
    ours = MessageIds(b"parse-tests", "correo.ejemplo.co").for_mail(9, "9-1")
    mail = person(message_id=ours)
    # Before, the automatic replies knew only the built-in domain, the intake both.
    assert loop_reason(mail, settings.our_addresses, settings.our_mail_domains) == OWN_MESSAGE
    assert should_auto_reply(
        mail, settings.our_addresses, 0, our_domains=settings.our_mail_domains
    ) == (False, OWN_MESSAGE)
    assert loop_reason(person(), settings.our_addresses, settings.our_mail_domains) is None


def test_one_subject_tag_for_the_parser_the_threading_and_the_mail_we_send() -> None:
    assert tagged_number("RE: [ # 42 ] Factura") == 42
    assert tagged_number("Factura #42") is None
    assert with_tag(42, "RE: [#42] Factura") == "RE: [#42] Factura"
    assert with_tag(42, "Factura") == "[#42] Factura"
    assert with_tag(None, "Factura") == "Factura"
    headers = "From: a@b.co\nSubject: RE: [ #77 ] hola"
    assert parse_message(raw_message(headers, "ok\n")).ticket_number_in_subject == 77


def test_the_mail_domain_comes_from_the_settings() -> None:
    from soporte.email.secret import message_ids
    from soporte.email.templates import RenderedMail, build_email

    settings = load_settings(mail_domain="correo.ejemplo.co", mail_secret="parse-tests")
    ids = message_ids(settings)
    sent = build_email(
        RenderedMail(subject="Hola", text="hola", html="<p>hola</p>"),
        to=["ana@cliente.co"],
        from_addr=settings.mail_from,
        message_id=ids.for_mail(5, "5-1"),
        number=5,
        thread_root=ids.thread_root(5),
    )
    assert sent["Message-ID"].endswith("@correo.ejemplo.co>")
    assert sent["References"] == ids.thread_root(5)
    assert sent["References"].startswith("<ticket-5.") and ids.ticket_of(sent["References"]) == 5
    assert sent["Subject"] == "[#5] Hola"
    assert settings.our_mail_domains == ("btw.com.co", "correo.ejemplo.co")
