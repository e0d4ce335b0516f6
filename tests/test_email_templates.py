"""Outbound templates: Spanish text with the ticket number, Bogota times, escaped HTML, and
the headers that keep threads together and automatic replies from looping."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from email.utils import format_datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from soporte.email.loops import should_auto_reply
from soporte.email.parse import parse_message
from soporte.email.subject_tag import with_tag
from soporte.email.templates import (
    STAFF_TEMPLATES,
    TEMPLATES,
    MessageIds,
    RenderedMail,
    WireMail,
    build_email,
    format_bogota,
    is_our_message_id,
    render,
    ticket_number_from_message_id,
    wire_email,
)
from soporte.email.templates.catalog import STAFF_ONLY
from soporte.policy.names import MailTemplate
from soporte.policy.tickets import Notification

MONDAY_8AM = "2026-11-30T13:00:00Z"
MONDAY_8AM_TEXT = "lunes 30 de noviembre de 2026, 8:00 a. m. (hora de Bogotá)"
WEDNESDAY_10AM = "2026-12-02T15:00:00+00:00"
WEDNESDAY_10AM_TEXT = "miércoles 2 de diciembre de 2026, 10:00 a. m. (hora de Bogotá)"

FULL_DATA: dict[str, object] = {
    "subject": "No puedo facturar",
    "recipient_name": "Ana Pérez",
    "priority": "P2",
    "kind": "support",
    "first_response_due": MONDAY_8AM,
    "resolution_due": WEDNESDAY_10AM,
    "missing_info": ["business_impact", "El número de la factura"],
    "body": "Por favor envíe la captura del error.",
    "engineer_name": "Carlos Ruiz",
    "attempt": 3,
    "abandon_at": "2026-12-07T13:00:00Z",
    "resolution_kind": "solution",
    "reopen_until": "2026-12-17T13:00:00Z",
    "rating_url": "https://soporte.btw.com.co/calificar/abc",
    "ticket_url": "https://soporte.btw.com.co/tickets/1234",
    "reason": "El error volvió a aparecer",
    "target": "resolution",
    "due": WEDNESDAY_10AM,
    "client_name": "Ferretería El Tornillo S.A.S.",
    "assignee": "carlos@btw.com.co",
    "percent": 75,
    "from_address": "desconocido@otra.co",
    "from": "P2",
    "to": "P1",
    "author": "ana@cliente.co",
    "refused_attachments": ["arreglo.exe: tipo no permitido"],
}

# A word each template must say, so a swapped template is caught.
EXPECTED_WORDS = {
    "acknowledgement": "Registramos su solicitud",
    "engineer_reply": "Carlos Ruiz respondió",
    "request_info": "necesitamos la siguiente información",
    "reminder": "intento de contacto número 3",
    "resolved": "fue resuelta",
    "resolved_no_reply": "sin respuesta del cliente",
    "reopened": "Reabrimos su solicitud",
    "closed": "cerrada definitivamente",
    "rating_invitation": "Califíquela de 1 a 5",
    "sla_warning": "75 % del tiempo de solución",
    "sla_breach": "superó el tiempo de solución",
    "refused_unknown_sender": "no está registrada",
    "refused_inactive_client": "no tiene hoy un servicio de soporte activo",
    "reopen_refused": "No es posible reabrir",
    "unverified_message": "no pudimos verificar",
    "confirm_ticket": "Confirmar mi solicitud",
    "priority_changed": "Nueva prioridad: P1 – Crítico",
    "assigned": "Se le asignó la solicitud",
    "client_message": "ana@cliente.co escribió en la solicitud",
    "booking_link": "elija uno de los espacios",
    "booking_confirmed": "Confirmamos el espacio",
    "advisory_reminder": "Le recordamos su asesoría",
    "advisory_done": "como realizada",
    "committee_accepted": "aceptó su requerimiento",
    "committee_rejected": "no aprobó su requerimiento",
    "requirement_delivered": "fue entregada",
    "incident_priority": "prioridad crítica (P1)",
    "incident_resolved": "falla general",
    "attachments_refused": "no pudimos conservar estos adjuntos",
}
# Not about one ticket: checked on their own (here and in tests/test_mail_wording.py).
STAFF_WIDE_TEMPLATES = {
    "committee_agenda",
    "committee_agenda_unrouted",
    "foreign_thread",
    "refused_staff_sender",
}
# About no ticket, tested with the portal (tests/test_portal_links.py).
NO_TICKET_TEMPLATES = {"sign_in_link"}


def notification(
    template: MailTemplate | str,
    data: dict[str, object] | None = None,
    *,
    number: int = 1234,
    **more: object,
) -> Notification:
    return Notification(
        id=f"{number}-7",
        number=number,
        template=template,
        to=["ana@cliente.co"],
        data={**(data or {}), **more},
    )


def test_every_listed_template_exists() -> None:
    assert set(EXPECTED_WORDS) | STAFF_WIDE_TEMPLATES | NO_TICKET_TEMPLATES == set(TEMPLATES)


def test_every_template_name_has_a_template_and_every_template_a_name() -> None:
    assert set(TEMPLATES) == set(MailTemplate)
    assert set(STAFF_TEMPLATES) <= set(MailTemplate) and set(MailTemplate) >= STAFF_ONLY


def test_template_names_keep_the_strings_histories_carry() -> None:
    """A notification crosses the workflow boundary as JSON: the name stays a plain string
    (every committed history replays: tests/test_replay.py), and it comes back a member."""
    note = notification(MailTemplate.RATING_INVITATION)
    wire = note.model_dump(mode="json")
    assert wire["template"] == "rating_invitation" and type(wire["template"]) is str
    assert Notification.model_validate(wire).template is MailTemplate.RATING_INVITATION
    assert note.model_copy(update={"id": f"9-3-{note.template}"}).id == "9-3-rating_invitation"


def test_a_name_that_is_no_template_is_refused_at_the_boundary() -> None:
    with pytest.raises(ValidationError, match="template"):
        notification("no_such_template")


@pytest.mark.parametrize("template", sorted(EXPECTED_WORDS))
def test_template_renders_spanish_with_the_number(template: str) -> None:
    mail = render(notification(template, FULL_DATA))
    assert mail.subject.startswith("[#1234] ")
    assert "\n" not in mail.subject
    assert "#1234" in mail.text and "#1234" in mail.html
    assert EXPECTED_WORDS[template] in mail.text
    assert '<html lang="es-CO">' in mail.html
    assert "Soporte Amazonas ERP" in mail.text


@pytest.mark.parametrize("template", sorted(EXPECTED_WORDS))
def test_template_renders_with_no_data(template: str) -> None:
    mail = render(notification(template))
    assert mail.subject.startswith("[#1234]") and mail.text and mail.html


def test_acknowledgement_content() -> None:
    mail = render(notification(MailTemplate.ACKNOWLEDGEMENT, FULL_DATA))
    assert mail.subject == "[#1234] Recibimos su solicitud: No puedo facturar"
    assert "Cordial saludo, Ana Pérez." in mail.text
    assert "P2 – Alto" in mail.text
    assert f"Primera respuesta a más tardar: {MONDAY_8AM_TEXT}" in mail.text
    assert f"Solución a más tardar: {WEDNESDAY_10AM_TEXT}" in mail.text
    assert MONDAY_8AM_TEXT in mail.html
    # Missing information: field codes explained, free sentences kept.
    assert "Impacto: …" in mail.text
    assert "El número de la factura" in mail.text


def test_acknowledgement_for_requirement_and_advisory() -> None:
    requirement = render(
        notification(
            MailTemplate.ACKNOWLEDGEMENT,
            priority="requirement",
            committee_at="2026-12-02T14:00:00Z",
        )
    )
    assert "Comité Operativo" in requirement.text
    assert "miércoles 2 de diciembre de 2026, 9:00 a. m." in requirement.text
    advisory = render(
        notification(
            MailTemplate.ACKNOWLEDGEMENT, priority="advisory", booking_url="https://x.co/agendar"
        )
    )
    assert "Agende su sesión de asesoría: https://x.co/agendar" in advisory.text
    assert '<a href="https://x.co/agendar">' in advisory.html


def test_sla_warning_without_a_percent_does_not_guess_one() -> None:
    mail = render(notification(MailTemplate.SLA_WARNING, target="first_response", due=MONDAY_8AM))
    assert "está por agotar el tiempo de primera respuesta" in mail.text
    assert "%" not in mail.text
    assert f"Vence: {MONDAY_8AM_TEXT}" in mail.text


def test_reminder_carries_the_attempt_number() -> None:
    mail = render(notification(MailTemplate.REMINDER, attempt=2, subject="Error"))
    assert mail.subject == "[#1234] Recordatorio 2: necesitamos su respuesta: Error"
    assert "número 2" in mail.text


def test_refusal_without_a_ticket_has_no_number() -> None:
    mail = render(
        notification(MailTemplate.REFUSED_UNKNOWN_SENDER, number=0, from_address="x@y.co")
    )
    assert mail.subject == "No pudimos registrar su solicitud"
    assert "#0" not in mail.text and "x@y.co" in mail.text


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (MONDAY_8AM, MONDAY_8AM_TEXT),
        ("2026-11-30T18:30:00+00:00", "lunes 30 de noviembre de 2026, 1:30 p. m. (hora de Bogotá)"),
        ("2026-11-30T17:00:00Z", "lunes 30 de noviembre de 2026, 12:00 p. m. (hora de Bogotá)"),
        ("2026-12-01T05:05:00Z", "martes 1 de diciembre de 2026, 12:05 a. m. (hora de Bogotá)"),
        # Crossing midnight backwards: 03:00 UTC is still the previous evening in Bogota.
        ("2027-01-01T03:00:00Z", "jueves 31 de diciembre de 2026, 10:00 p. m. (hora de Bogotá)"),
        ("2026-11-30T08:00:00-05:00", MONDAY_8AM_TEXT),
        ("2026-11-30T13:00:00", MONDAY_8AM_TEXT),  # naive: taken as UTC
        (datetime(2026, 11, 30, 13, 0, tzinfo=UTC), MONDAY_8AM_TEXT),
        ("2026-08-15T12:00:00Z", "sábado 15 de agosto de 2026, 7:00 a. m. (hora de Bogotá)"),
        ("no es una fecha", "no es una fecha"),
        (None, ""),
    ],
)
def test_format_bogota(instant: object, expected: str) -> None:
    assert format_bogota(instant) == expected


def test_html_escapes_every_interpolated_value() -> None:
    hostile = "<script>alert('x')</script> & \"Co\""
    mail = render(
        notification(
            "engineer_reply",
            subject=hostile,
            body=hostile,
            engineer_name="<b>Eve</b>",
            ticket_url='https://x.co/"><script>',
        )
    )
    assert "<script>" not in mail.html and "<b>Eve</b>" not in mail.html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;Co&quot;" in mail.html
    assert "&lt;b&gt;Eve&lt;/b&gt;" in mail.html
    assert 'href="https://x.co/&quot;&gt;&lt;script&gt;"' in mail.html
    # The text version is plain text: no escaping needed there.
    assert hostile in mail.text


def test_non_http_links_are_not_clickable() -> None:
    mail = render(notification(MailTemplate.RATING_INVITATION, rating_url="javascript:alert(1)"))
    assert "href=" not in mail.html
    assert "javascript:alert(1)" in mail.html


def test_multiline_body_keeps_its_lines() -> None:
    mail = render(notification(MailTemplate.REQUEST_INFO, body="Línea 1\nLínea 2"))
    assert "    Línea 1\n    Línea 2" in mail.text
    assert "Línea 1<br>\nLínea 2" in mail.html


def test_a_template_that_fails_gives_the_generic_message(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: object) -> object:
        raise RuntimeError("a template bug")

    monkeypatch.setitem(TEMPLATES, MailTemplate.REQUEST_INFO, broken)
    mail = render(notification(MailTemplate.REQUEST_INFO, body="Algo pasó", subject="Error"))
    assert mail.subject == "[#1234] Novedad en su solicitud: Error"
    assert "Algo pasó" in mail.text and "#1234" in mail.text


def test_odd_data_never_raises() -> None:
    odd = {
        "attempt": {"nested": [1, 2]},
        "missing_info": 42,
        "first_response_due": "ayer",
        "resolution_due": 12345,
        "subject": "línea 1\r\nBcc: intruso@x.co",
        "rating_url": None,
        "body": ["no", "es", "texto"],
    }
    for template in TEMPLATES:
        mail = render(notification(template, odd))
        assert "\n" not in mail.subject and "\r" not in mail.subject


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(list(MailTemplate)),
    st.dictionaries(
        st.sampled_from(sorted(FULL_DATA)),
        st.one_of(st.none(), st.text(), st.integers(), st.lists(st.text(), max_size=3)),
    ),
    st.integers(min_value=0, max_value=10**9),
)
def test_render_never_raises(template: MailTemplate, data: dict[str, object], number: int) -> None:
    mail = render(notification(template, data, number=number))
    assert mail.subject and mail.text and mail.html


# --- Message-IDs and the message on the wire --------------------------------------------


IDS = MessageIds(b"template-tests")
message_id_for = IDS.for_mail
ticket_thread_id = IDS.thread_root


def test_message_ids_are_stable_and_name_the_ticket() -> None:
    first = message_id_for(1234, "1234-7")
    assert first.startswith("<ticket-1234.") and first.endswith("@soporte.btw.com.co>")
    assert len(message_id_for(999_999_999, "999999999-9999-requirement_delivered")) <= 63
    assert first == message_id_for(1234, "1234-7")
    assert ticket_number_from_message_id(first) == 1234 == IDS.ticket_of(first)
    assert is_our_message_id(first)
    for other_of_ours in ("<auto.abc@soporte.btw.com.co>", "<notice.1-x@soporte.btw.com.co>"):
        assert is_our_message_id(other_of_ours) and IDS.ticket_of(other_of_ours) is None
    assert not is_our_message_id("<auto.abc@cliente.co>")
    odd = message_id_for(5, "a b<c>@d..e")
    assert odd.count("@") == 1 and " " not in odd and IDS.ticket_of(odd) == 5
    assert IDS.ticket_of(ticket_thread_id(77)) == 77
    assert ticket_number_from_message_id("<ticket-1234.x@otro.co>") is None
    assert ticket_number_from_message_id("<abc@soporte.btw.com.co>") is None
    assert ticket_number_from_message_id(message_id_for(0, "refusal")) is None


def test_a_guessed_message_id_is_not_ours() -> None:
    """Only the keyed hash makes an id ours: a guess, another key or another number is not."""
    genuine = message_id_for(1234, "1234-7")
    mac = genuine.split("@")[0].rsplit(".", 1)[1]
    assert len(mac) == 16
    for guess in (
        "<ticket-1234.1234-7@soporte.btw.com.co>",
        "<ticket-1234.1234-7.aaaaaaaaaaaaaaaa@soporte.btw.com.co>",
        "<ticket-1234@soporte.btw.com.co>",
        "<ticket-1234.x@soporte.btw.com.co>",
        genuine.replace("ticket-1234.", "ticket-1235."),
        genuine.replace(mac, "a" * 16),
        MessageIds(b"another-secret").for_mail(1234, "1234-7"),
        MessageIds(b"another-secret").thread_root(1234),
    ):
        assert ticket_number_from_message_id(guess) is not None  # it has our shape...
        assert IDS.ticket_of(guess) is None, guess  # ...but it is not one of ours


def build(**overrides: object) -> EmailMessage:
    rendered = render(notification(MailTemplate.ENGINEER_REPLY, FULL_DATA))
    arguments: dict[str, object] = {
        "to": ["ana@cliente.co", "jefe@cliente.co"],
        "from_addr": "Soporte Amazonas <soporte@btw.com.co>",
        "message_id": message_id_for(1234, "1234-7"),
        "in_reply_to": "<original@cliente.co>",
        "references": ["<original@cliente.co>", message_id_for(1234, "1234-1")],
        "number": 1234,
        "thread_root": ticket_thread_id(1234),
    }
    arguments.update(overrides)
    return build_email(rendered, **arguments)  # type: ignore[arg-type]


def test_build_email_headers() -> None:
    message = build()
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] == message_id_for(1234, "1234-7")
    assert message["In-Reply-To"] == "<original@cliente.co>"
    assert str(message["References"]).split() == [
        ticket_thread_id(1234),
        "<original@cliente.co>",
        message_id_for(1234, "1234-1"),
    ]
    assert str(message["Subject"]).startswith("[#1234] ")
    assert message["To"] == "ana@cliente.co, jefe@cliente.co"
    assert message["Date"]
    assert message["Content-Language"] == "es-CO"
    assert message["X-Auto-Response-Suppress"] == "All"


def test_build_email_is_multipart_alternative_utf8() -> None:
    message = build()
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in parts)
    assert "Carlos Ruiz respondió" in parts[0].get_content()
    assert "<blockquote" in parts[1].get_content()


def test_build_email_adds_the_number_to_a_subject_without_it() -> None:
    rendered = render(notification(MailTemplate.REFUSED_UNKNOWN_SENDER, number=0))
    message = build_email(
        rendered, to=["a@b.co"], from_addr="soporte@btw.com.co", message_id="<x@y>", number=55
    )
    assert str(message["Subject"]).startswith("[#55] ")
    assert message["In-Reply-To"] is None


def email_package_message(rendered: RenderedMail, **arguments: Any) -> EmailMessage:
    """The same message as the email package composes it: what wire_email writes itself."""
    message = EmailMessage()
    message["From"] = arguments["from_addr"]
    message["To"] = ", ".join(arguments["to"])
    message["Subject"] = with_tag(arguments.get("number"), " ".join(rendered.subject.split()))
    message["Date"] = format_datetime(arguments["now"])
    message["Message-ID"] = arguments["message_id"]
    message["In-Reply-To"] = arguments["in_reply_to"]
    message["References"] = " ".join([arguments["thread_root"], arguments["in_reply_to"]])
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Soporte-Ticket"] = str(arguments["number"])
    message.set_content(rendered.text, charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    message["Content-Language"] = "es-CO"
    return message


HEADERS = (
    "From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
    "Auto-Submitted", "X-Auto-Response-Suppress", "X-Soporte-Ticket", "Content-Language",
    "MIME-Version",
)  # fmt: skip


def assert_same_message(
    wire: WireMail, reference: EmailMessage, *, subject: str | None = None
) -> None:
    """`subject`, when given, is the Subject ours must decode to exactly, in place of the
    email package's: its folder drops the space between two encoded words at a fold
    (CPython gh-144156), so on some subjects the package is the one that is wrong."""
    parsed, expected = (
        wire.as_message(),
        BytesParser(policy=default).parsebytes(reference.as_bytes()),
    )
    names = HEADERS if subject is None else tuple(h for h in HEADERS if h != "Subject")

    def headers(message: EmailMessage) -> dict[str, str]:  # folding whitespace aside
        return {name: " ".join(str(message[name]).split()) for name in names}

    assert headers(parsed) == headers(expected)
    if subject is not None:
        assert parsed["Subject"] == subject
    assert parsed.defects == [] and parsed.get_content_type() == "multipart/alternative"
    parts, expected_parts = list(parsed.iter_parts()), list(expected.iter_parts())
    assert [(p.get_content_type(), p.get_content_charset()) for p in parts] == [
        ("text/plain", "utf-8"),
        ("text/html", "utf-8"),
    ]
    assert [p.get_content() for p in parts] == [p.get_content() for p in expected_parts]
    assert all(p.defects == [] for p in parts)
    assert all(len(line) <= 998 for line in wire.data.split(b"\n"))


def wire_arguments(**overrides: object) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "to": ["ana@cliente.co", "José Pérez <jefe@cliente.co>"],
        "from_addr": "Soporte Amazonas ERP <soporte@btw.com.co>",
        "message_id": message_id_for(1234, "1234-7"),
        "in_reply_to": "<original@cliente.co>",
        "number": 1234,
        "thread_root": ticket_thread_id(1234),
        "now": datetime(2026, 12, 2, 15, 0, tzinfo=UTC),
    }
    return {**arguments, **overrides}


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_wire_email_is_the_message_the_email_package_composes(template: MailTemplate) -> None:
    rendered = render(notification(template, FULL_DATA))
    arguments = wire_arguments()
    wire = wire_email(rendered, **arguments)
    assert_same_message(wire, email_package_message(rendered, **arguments))
    assert wire.envelope_from == "soporte@btw.com.co"
    assert wire.recipients == ("ana@cliente.co", "jefe@cliente.co")
    assert wire.message_id == message_id_for(1234, "1234-7")


@settings(max_examples=60, deadline=None)
@given(
    subject=st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=200),
    text=st.text(st.characters(blacklist_categories=["Cs"]), max_size=400),
    long_line=st.booleans(),
)
def test_wire_email_keeps_any_subject_and_body(subject: str, text: str, long_line: bool) -> None:
    """Any subject (encoded words of whole characters, folded) and any body (7bit, 8bit or
    quoted-printable) read back as the email package reads its own."""
    if not subject.split():
        subject = "asunto"
    body = text + ("ñ" * 120 if long_line else "")
    rendered = RenderedMail(subject=subject, text=body, html=f"<p>{body}</p>")
    arguments = wire_arguments()
    assert_same_message(
        wire_email(rendered, **arguments),
        email_package_message(rendered, **arguments),
        subject=with_tag(1234, subject.strip()),
    )


def test_our_own_message_parses_back_and_is_never_answered() -> None:
    raw = build().as_bytes()
    parsed = parse_message(raw)
    assert parsed.ticket_number_in_subject == 1234
    assert parsed.ticket_number_in_references == 1234
    assert parsed.subject.startswith("[#1234] Respuesta a su solicitud")
    assert "Carlos Ruiz respondió" in parsed.full_text
    assert parsed.auto_submitted
    assert should_auto_reply(parsed, ["soporte@btw.com.co"], 0) == (
        False,
        "auto-submitted: auto-generated",
    )


# --- Requirements, advisories, incidents --------------------------------------------


def _issue6(template: str, **data: object):
    from soporte.email.templates import render as render_mail
    from soporte.policy.tickets import Notification as Note

    return render_mail(
        Note(id=f"77-1-{template}", number=77, template=template, to=["a@b.co"], data=data)
    )


def test_committee_acceptance_shows_the_estimated_date_in_spanish():
    mail = _issue6("committee_accepted", subject="Nuevo reporte", estimated_delivery="2027-02-15")
    assert mail.subject == "[#77] Requerimiento aceptado: Nuevo reporte"
    assert "aceptó su requerimiento #77" in mail.text
    assert "15 de febrero de 2027" in mail.text


def test_committee_rejection_gives_the_reason():
    mail = _issue6("committee_rejected", reason="Fuera del alcance del producto")
    assert "no aprobó" in mail.text and "Fuera del alcance del producto" in mail.text


def test_booking_confirmation_shows_the_slot_in_bogota_time():
    mail = _issue6(
        "booking_confirmed",
        booked_slot="2026-12-01T14:00:00+00:00",
        slot_end="2026-12-01T15:00:00+00:00",
    )
    assert "martes 1 de diciembre de 2026, 9:00 a. m." in mail.text
    assert "10:00 a. m." in mail.text


def test_booking_link_carries_the_link_and_the_abandon_warning():
    mail = _issue6(
        "booking_link", booking_url="http://127.0.0.1:8000/api/v1/tickets/77/slots", attempt=1
    )
    assert "http://127.0.0.1:8000/api/v1/tickets/77/slots" in mail.text
    assert "sin respuesta del cliente" in mail.text
    assert 'href="http://127.0.0.1:8000/api/v1/tickets/77/slots"' in mail.html


def test_incident_mails_say_p1_and_resolution():
    assert "prioridad crítica (P1)" in _issue6("incident_priority", reason="falla masiva").text
    resolved = _issue6(
        "incident_resolved", resolution_kind="solution", body="Servicio restablecido"
    )
    assert "falla general" in resolved.text and "Servicio restablecido" in resolved.text


def test_committee_agenda_lists_each_requirement_for_staff():
    from soporte.email.templates import render as render_mail
    from soporte.policy.tickets import Notification as Note

    mail = render_mail(
        Note(
            id="s1-agenda",
            number=0,
            template=MailTemplate.COMMITTEE_AGENDA,
            to=["@committee"],
            data={
                "session_id": "s1",
                "items": [{"number": 5, "client_name": "ACME", "subject": "<Informe>"}],
            },
        )
    )
    assert mail.subject == "Comité Operativo: agenda de la sesión"
    assert "#5 · ACME · <Informe>" in mail.text
    assert "&lt;Informe&gt;" in mail.html and "[#0]" not in mail.subject
