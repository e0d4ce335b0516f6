"""The inbound SMTP listener, over real SMTP sessions (smtplib) on a free local port."""

from __future__ import annotations

import asyncio
import smtplib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from soporte.email.smtp_server import (
    MAX_MESSAGE_BYTES,
    open_smtp_listener,
    serve_smtp,
    start_smtp_server,
)

HOST = "127.0.0.1"
SUPPORT = ["soporte@btw.com.co", "servicioalcliente@btw.com.co"]

MESSAGE = (
    "From: Ana <ana@cliente.co>\r\n"
    "To: soporte@btw.com.co\r\n"
    "Subject: =?utf-8?q?Facturaci=C3=B3n?=\r\n"
    "Message-ID: <m1@cliente.co>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "La facturación electrónica falla.\r\n"
    ".Una línea que empieza con punto.\r\n"
    "..y otra con dos.\r\n" + "x" * 5000 + "\r\n"
).encode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Inbox:
    """The `deliver` callback under test: records, or fails, or dawdles on demand."""

    received: list[tuple[bytes, str]] = field(default_factory=list)
    loops: list[asyncio.AbstractEventLoop] = field(default_factory=list)
    failures_left: int = 0
    delay: float = 0.0

    async def deliver(self, raw: bytes, envelope_from: str) -> None:
        self.loops.append(asyncio.get_running_loop())
        await asyncio.sleep(self.delay)
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("the intake is down")
        self.received.append((raw, envelope_from))


@pytest.fixture
def listener() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = start_smtp_server(HOST, port, inbox.deliver, SUPPORT, deliver_timeout=1.0)
    try:
        yield inbox, port
    finally:
        controller.stop()


def send(port: int, sender: str, recipients: list[str], raw: bytes) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP(HOST, port, timeout=10) as client:
        return client.sendmail(sender, recipients, raw)


def test_accepted_mail_reaches_the_callback_byte_exact(listener: tuple[Inbox, int]) -> None:
    inbox, port = listener
    assert send(port, "ana@cliente.co", ["soporte@btw.com.co"], MESSAGE) == {}
    assert inbox.received == [(MESSAGE, "ana@cliente.co")]


def test_recipients_match_case_insensitively(listener: tuple[Inbox, int]) -> None:
    inbox, port = listener
    send(port, "ana@cliente.co", ["SoPorte@BTW.com.co", "servicioalcliente@btw.com.co"], MESSAGE)
    assert len(inbox.received) == 1  # one delivery for the message, however many of ours


def test_wrong_recipient_is_refused_with_550(listener: tuple[Inbox, int]) -> None:
    inbox, port = listener
    with smtplib.SMTP(HOST, port, timeout=10) as client:
        client.ehlo()
        client.mail("ana@cliente.co")
        code, _ = client.rcpt("ventas@btw.com.co")
        assert code == 550
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(port, "ana@cliente.co", ["otro@ejemplo.co"], MESSAGE)
    assert refused.value.recipients["otro@ejemplo.co"][0] == 550
    assert inbox.received == []


def test_mixed_recipients_deliver_once_and_report_the_refused(
    listener: tuple[Inbox, int],
) -> None:
    inbox, port = listener
    refused = send(port, "ana@cliente.co", ["otro@ejemplo.co", "soporte@btw.com.co"], MESSAGE)
    assert list(refused) == ["otro@ejemplo.co"] and refused["otro@ejemplo.co"][0] == 550
    assert inbox.received == [(MESSAGE, "ana@cliente.co")]


def test_callback_failure_answers_451_and_the_session_goes_on(
    listener: tuple[Inbox, int],
) -> None:
    inbox, port = listener
    inbox.failures_left = 1
    second = MESSAGE.replace(b"<m1@", b"<m2@")
    with smtplib.SMTP(HOST, port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            client.sendmail("ana@cliente.co", ["soporte@btw.com.co"], MESSAGE)
        assert failed.value.smtp_code == 451
        assert b"4.3.0" in failed.value.smtp_error
        # The sender retries later; on the same session a next message goes through.
        assert client.sendmail("ana@cliente.co", ["soporte@btw.com.co"], second) == {}
    assert inbox.received == [(second, "ana@cliente.co")]


def test_two_messages_on_one_session(listener: tuple[Inbox, int]) -> None:
    inbox, port = listener
    second = MESSAGE.replace(b"<m1@", b"<m2@")
    with smtplib.SMTP(HOST, port, timeout=10) as client:
        client.sendmail("ana@cliente.co", ["soporte@btw.com.co"], MESSAGE)
        client.sendmail("jefe@cliente.co", ["servicioalcliente@btw.com.co"], second)
    assert inbox.received == [(MESSAGE, "ana@cliente.co"), (second, "jefe@cliente.co")]


def test_null_reverse_path_reaches_the_callback_as_empty(listener: tuple[Inbox, int]) -> None:
    inbox, port = listener
    send(port, "<>", ["soporte@btw.com.co"], MESSAGE)
    assert inbox.received == [(MESSAGE, "")]


def test_declared_size_over_the_limit_is_refused(listener: tuple[Inbox, int]) -> None:
    _, port = listener
    with smtplib.SMTP(HOST, port, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("size")
        assert int(client.esmtp_features["size"]) == MAX_MESSAGE_BYTES
        code, _ = client.mail("ana@cliente.co", [f"SIZE={MAX_MESSAGE_BYTES + 1}"])
        assert code == 552


def test_slow_callback_times_out_with_451(listener: tuple[Inbox, int]) -> None:
    inbox, port = listener
    inbox.delay = 5.0  # the fixture's listener gives up after 1 s
    with pytest.raises(smtplib.SMTPDataError) as failed:
        send(port, "ana@cliente.co", ["soporte@btw.com.co"], MESSAGE)
    assert failed.value.smtp_code == 451


async def test_deliver_runs_on_the_given_loop() -> None:
    inbox, port = Inbox(), free_port()
    app_loop = asyncio.get_running_loop()
    controller = start_smtp_server(HOST, port, inbox.deliver, SUPPORT, deliver_loop=app_loop)
    try:
        await asyncio.to_thread(send, port, "ana@cliente.co", ["soporte@btw.com.co"], MESSAGE)
    finally:
        controller.stop()
    assert inbox.received == [(MESSAGE, "ana@cliente.co")]
    assert inbox.loops == [app_loop]


async def test_in_loop_listener_on_a_free_port() -> None:
    inbox = Inbox()
    server = await open_smtp_listener(HOST, 0, inbox.deliver, SUPPORT)
    port = server.sockets[0].getsockname()[1]
    try:
        await asyncio.to_thread(send, port, "", ["soporte@btw.com.co"], MESSAGE)
    finally:
        server.close()
        await server.wait_closed()
    assert inbox.received == [(MESSAGE, "")]
    assert inbox.loops == [asyncio.get_running_loop()]


async def test_serve_smtp_runs_until_cancelled_and_frees_the_port() -> None:
    inbox, port = Inbox(), free_port()
    task = asyncio.create_task(serve_smtp(HOST, port, inbox.deliver, SUPPORT))
    await wait_until_listening(port)
    await asyncio.to_thread(send, port, "ana@cliente.co", ["soporte@btw.com.co"], MESSAGE)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert inbox.received == [(MESSAGE, "ana@cliente.co")]
    with pytest.raises(OSError):
        socket.create_connection((HOST, port), timeout=1).close()


async def wait_until_listening(port: int, attempts: int = 100) -> None:
    for _ in range(attempts):
        try:
            _, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.02)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"nothing listens on {HOST}:{port}")
