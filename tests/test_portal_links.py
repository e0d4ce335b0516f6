"""Every link in our mail opens a portal page (activities.notifications.with_context): the
ticket's page on every mail about a ticket, the booking page only on advisories' mail, the
rating form on the mail that invites a rating. Pure: no server."""

from __future__ import annotations

from activities.notifications import with_context
from soporte.email.templates import render
from soporte.policy.names import MailTemplate
from soporte.policy.tickets import Notification
from soporte.settings import load_settings

SETTINGS = load_settings(public_url="https://soporte.btw.com.co/")


def links(template: str, kind: str = "support", number: int = 42) -> dict[str, object]:
    notification = Notification(
        id=f"{number}-1-{template}",
        number=number,
        template=template,
        to=["a@b.co"],
        data={"kind": kind, "subject": "Asunto"},
    )
    return with_context(notification, SETTINGS).data


def test_every_mail_about_a_ticket_links_its_page() -> None:
    for template in ("acknowledgement", "engineer_reply", "request_info", "reminder", "closed"):
        data = links(template)
        assert data["ticket_url"] == "https://soporte.btw.com.co/solicitudes/42"
        assert "booking_url" not in data and "rating_url" not in data


def test_the_booking_link_is_on_advisories_mail_only() -> None:
    for template in ("acknowledgement", "booking_link", "booking_confirmed"):
        assert links(template, "advisory")["booking_url"] == (
            "https://soporte.btw.com.co/solicitudes/42/agendar"
        )
    support_ack = render(Notification(**{**_ack(), "data": links("acknowledgement")}))
    assert "/agendar" not in support_ack.text and "Agende" not in support_ack.text
    advisory_mail = render(Notification(**{**_ack(), "data": links("booking_link", "advisory")}))
    assert "https://soporte.btw.com.co/solicitudes/42/agendar" in advisory_mail.text
    assert "/api/v1/" not in advisory_mail.text


def test_the_rating_invitation_opens_the_rating_form() -> None:
    assert links("rating_invitation")["rating_url"] == (
        "https://soporte.btw.com.co/solicitudes/42/calificar"
    )
    # One mail invites the rating (sent with each resolution); the resolution's own mail
    # says how to reopen.
    assert "rating_url" not in links("resolved")
    mail = render(Notification(**{**_ack("rating_invitation"), "data": links("rating_invitation")}))
    assert "https://soporte.btw.com.co/solicitudes/42/calificar" in mail.text


def test_mail_about_no_ticket_gets_no_ticket_link() -> None:
    assert "ticket_url" not in links("committee_agenda", number=0)


def _ack(template: str = "acknowledgement") -> dict[str, object]:
    return {"id": "42-1", "number": 42, "template": template, "to": ["a@b.co"]}


def test_the_sign_in_mail_names_its_link_and_its_fifteen_minutes() -> None:
    url = "https://soporte.btw.com.co/ingresar/enlace/abc"
    mail = render(
        Notification(
            id="sign-in-1",
            number=0,
            template=MailTemplate.SIGN_IN_LINK,
            to=["a@b.co"],
            data={"recipient_name": "Ana", "sign_in_url": url, "minutes": 15},
        )
    )
    assert "[#" not in mail.subject and "ingresar" in mail.subject
    assert url in mail.text and f'href="{url}"' in mail.html
    assert "Cordial saludo, Ana." in mail.text and "15 minutos" in mail.text


async def test_the_sign_in_link_goes_out_over_smtp_when_configured() -> None:
    """The same outbound path as the notifications: a real SMTP session (aiosmtpd)."""
    from email import message_from_bytes
    from email.policy import default

    from aiosmtpd.controller import Controller

    from soporte.db.models import TokenKind
    from soporte.services.portal_auth import IssuedLink, Person, send_link
    from tests.stack_support import free_port
    from tests.test_outbound_smtp import Inbox

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = load_settings(smtp_url=f"smtp://127.0.0.1:{port}")
        url = "https://soporte.btw.com.co/ingresar/enlace/abcdefghijkl"
        person = Person(email="ana@tornillo.co", name="Ana", kind=TokenKind.CONTACT)
        await send_link(settings, IssuedLink(person=person, token="abcdefghijkl", url=url))
    finally:
        controller.stop()
    [(sender, recipients, raw)] = inbox.received
    assert sender == "soporte@btw.com.co" and recipients == ["ana@tornillo.co"]
    mail = message_from_bytes(raw, policy=default)
    assert mail["Auto-Submitted"] == "auto-generated"
    assert url in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
