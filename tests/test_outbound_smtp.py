"""Outbound mail through SOPORTE_SMTP_URL: a real SMTP session with a real (aiosmtpd) server."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from activities.notifications import compose
from soporte.email.templates import MessageIds
from soporte.email.transport import send_smtp
from soporte.policy.names import MailTemplate
from soporte.policy.tickets import Notification
from soporte.settings import load_settings
from tests.stack_support import free_port


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.received.append((envelope.mail_from or "", list(envelope.rcpt_tos), content))
        return "250 OK"


def authenticator(
    server: object, session: Session, envelope: Envelope, mechanism: str, data: object
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mesa", b"s3cr3to")
    return AuthResult(success=ok)


def test_a_notification_goes_out_over_smtp_with_login():
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        settings = load_settings(
            smtp_url=f"smtp://mesa:s3cr3to@127.0.0.1:{port}", mail_secret="outbound-tests"
        )
        notification = Notification(
            id="42-3-acknowledgement",
            number=42,
            template=MailTemplate.ACKNOWLEDGEMENT,
            to=["ana@tornillo.co"],
            data={"subject": "No puedo facturar", "priority": "P2"},
            in_reply_to="<cliente-1@tornillo.co>",
        )
        send_smtp(settings.smtp_url or "", compose(notification, ["ana@tornillo.co"], settings))
    finally:
        controller.stop()
    [(sender, recipients, raw)] = inbox.received
    assert sender == "soporte@btw.com.co" and recipients == ["ana@tornillo.co"]
    mail = message_from_bytes(raw, policy=default)
    assert mail["Subject"].startswith("[#42] ")
    assert mail["Auto-Submitted"] == "auto-generated"
    assert str(mail["Message-ID"]).strip() == MessageIds(b"outbound-tests").for_mail(
        42, "42-3-acknowledgement"
    )
    assert mail["In-Reply-To"] == "<cliente-1@tornillo.co>"
    assert "Registramos su solicitud" in mail.get_body(("plain",)).get_content()
