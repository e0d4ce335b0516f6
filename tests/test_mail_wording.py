"""What our mails say (issue 14): every template rendered from the notifications a real ticket
path queues, for every kind and audience, with the text a person reads asserted; the vendor's
channels; the zone named; staff wording for staff. Pure: the transitions, `with_context` (what
the delivery activity adds from the settings) and `render`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from activities.notifications import compose, with_context
from soporte.email.templates import TEMPLATES, is_for_staff, render
from soporte.email.templates.catalog import STAFF_ONLY
from soporte.policy import Channel, Kind, Priority, ResolutionKind
from soporte.policy.committee import CommitteeDecisionSignal, DecisionKind, next_session
from soporte.policy.config import CommitteeSchedule
from soporte.policy.incidents import IncidentPrioritySignal, IncidentResolvedSignal
from soporte.policy.names import MailTemplate
from soporte.policy.ticket import (
    TicketState,
    acknowledge,
    advisory_done,
    apply_deadline,
    auto_assign,
    book,
    change_priority,
    client_message,
    committee_decision,
    deliver,
    incident_priority,
    incident_resolved,
    next_deadline,
    reopen,
    reply,
    request_info,
    resolve,
    score_at_start,
    send_booking_link,
)
from soporte.policy.tickets import (
    AdvisoryDoneCommand,
    BookingCommand,
    ClientMessage,
    DeliverCommand,
    EngineerMessage,
    Notification,
    PriorityCommand,
    ReopenCommand,
    RequestInfoCommand,
    ResolveCommand,
)
from soporte.policy.triage import missing_info
from soporte.settings import load_settings
from tests.workflow_support import ENGINEER, bogota, ticket_input

SETTINGS = load_settings(public_url="https://soporte.btw.com.co")
LINE = "(+57 4) 6047282 ext. 121–157"
P1_LINE = "(+57 4) 6047282 ext. 911"
ZONE = "(hora de Bogotá)"
WEDNESDAY = bogota(2026, 12, 2, 9, 0)  # 2026-12-02 09:00, inside business hours
SATURDAY = bogota(2026, 12, 5, 11, 0)
# Client wording that must never reach staff.
CLIENT_WORDS = ("su solicitud", "Su solicitud", "Reabrimos", "la atendemos", "Cordial saludo")
# Any instant a mail shows: "8:00 a. m." and the like.
_INSTANT = re.compile(r"\d{1,2}:\d{2} [ap]\. m\.")


def registered(kind: Kind, at: datetime = WEDNESDAY, **fields: object) -> TicketState:
    priority = {
        Kind.SUPPORT: fields.pop("priority", Priority.P2),
        Kind.REQUIREMENT: Priority.REQUIREMENT,
        Kind.ADVISORY: Priority.ADVISORY,
    }[kind]
    state = TicketState.initial(
        ticket_input(registered_at=at, kind=kind, priority=priority, **fields)  # type: ignore[arg-type]
    )
    auto_assign(state, ENGINEER, at)
    acknowledge(state, at)
    send_booking_link(state, at)
    return state


def mails(state: TicketState, now: datetime = WEDNESDAY) -> list[tuple[Notification, str, str]]:
    """(notification, subject, text) of everything the ticket queued, as delivered."""
    found = []
    for notification in state.outbox:
        rendered = render(with_context(notification, SETTINGS, now))
        found.append((notification, rendered.subject, rendered.text))
    return found


def one(state: TicketState, template: str, *, staff: bool = False) -> str:
    texts = [
        text
        for notification, _, text in mails(state)
        if notification.template == template and is_for_staff(notification) is staff
    ]
    assert len(texts) == 1, (template, staff, [n.template for n in state.outbox])
    return texts[-1]


def support_path() -> TicketState:
    """A support ticket through every mail it can send: registration, reply, priority, a
    request for information and its reminder, a client's message, warnings, resolution,
    reopening, an incident, the resolution by the incident."""
    state = registered(Kind.SUPPORT)
    hour = timedelta(hours=1)
    reply(state, EngineerMessage(author_email=ENGINEER, body="Revisando"), WEDNESDAY + hour)
    change_priority(
        state,
        PriorityCommand(actor_email=ENGINEER, priority=Priority.P3, reason="Solo un formulario"),
        WEDNESDAY + 2 * hour,
    )
    request_info(
        state, RequestInfoCommand(actor_email=ENGINEER, body="¿Qué prefijo?"), WEDNESDAY + 3 * hour
    )
    deadline = None
    while not any(n.template == MailTemplate.REMINDER for n in state.outbox):  # and any SLA warning
        deadline = next_deadline(state, WEDNESDAY + 3 * hour)
        assert deadline is not None
        apply_deadline(state, deadline)
    assert deadline is not None
    client_message(
        state,
        ClientMessage(
            message_id="m1",
            author_email="compras@cliente.co",
            body="Prefijo FE",
            refused_attachments=["x.exe: tipo no permitido"],
        ),
        deadline.at + hour,
    )
    resolve(
        state,
        ResolveCommand(actor_email=ENGINEER, kind=ResolutionKind.SOLUTION, body="Listo"),
        deadline.at + 2 * hour,
    )
    reopen(
        state,
        ReopenCommand(actor_email="compras@cliente.co", reason="Falla"),
        deadline.at + 3 * hour,
    )
    incident_priority(
        state,
        IncidentPrioritySignal(incident_id="i1", reason="Caída general", at=deadline.at + 4 * hour),
        deadline.at + 4 * hour,
    )
    incident_resolved(
        state,
        IncidentResolvedSignal(
            incident_id="i1",
            kind=ResolutionKind.SOLUTION,
            body="Servicio restablecido",
            actor=ENGINEER,
            at=deadline.at + 5 * hour,
        ),
        deadline.at + 5 * hour,
    )
    return state


def requirement_paths() -> tuple[TicketState, TicketState]:
    accepted = registered(Kind.REQUIREMENT)
    decided = WEDNESDAY + timedelta(hours=1)
    signal = CommitteeDecisionSignal(
        number=accepted.input.number,
        decision=DecisionKind.ACCEPT,
        estimated_delivery=datetime(2027, 1, 15).date(),
        session_id="s1",
        decided_at=decided,
    )
    committee_decision(accepted, signal, decided)
    deliver(accepted, DeliverCommand(actor_email=ENGINEER, body=""), decided + timedelta(days=30))
    rejected = registered(Kind.REQUIREMENT)
    no = signal.model_copy(
        update={"decision": DecisionKind.REJECT, "estimated_delivery": None, "reason": "Fuera"}
    )
    committee_decision(rejected, no, decided)
    return accepted, rejected


def advisory_path() -> TicketState:
    state = registered(Kind.ADVISORY)
    slot = bogota(2026, 12, 9, 10, 0)
    book(state, BookingCommand(actor_email="compras@cliente.co", start=slot), WEDNESDAY)
    deadline = next_deadline(state, WEDNESDAY)
    assert deadline is not None
    apply_deadline(state, deadline)  # the reminder, one business day before
    advisory_done(state, AdvisoryDoneCommand(actor_email=ENGINEER), slot + timedelta(hours=1))
    return state


# --- Every template, every kind, every audience ---------------------------------------------


def test_every_ticket_template_is_rendered_by_a_real_path() -> None:
    accepted, rejected = requirement_paths()
    paths = [support_path(), accepted, rejected, advisory_path()]
    seen = {n.template for state in paths for n in state.outbox}
    ticket_templates = set(TEMPLATES) - {
        "closed",
        "resolved_no_reply",
        "sla_warning",
        "sla_breach",
        "committee_agenda",
        "committee_agenda_unrouted",
        "refused_unknown_sender",
        "refused_inactive_client",
        "refused_staff_sender",
        "reopen_refused",
        "foreign_thread",
        # Automatic replies of the sender-trust rule (tests/test_sender_trust.py) and the
        # portal's sign-in link (tests/test_portal_links.py): no ticket path sends them.
        "unverified_message",
        "confirm_ticket",
        "sign_in_link",
    }  # those: below, each on its own
    assert ticket_templates <= seen, ticket_templates - seen


# The sentence each mail of a real path must say, by (template, to staff).
SAYS = {
    ("acknowledgement", False): "Registramos su solicitud con el número #",
    ("assigned", True): "Se le asignó la solicitud #",
    ("engineer_reply", False): "respondió su solicitud #",
    ("priority_changed", False): "Nueva prioridad: P3 – Medio",
    ("request_info", False): "necesitamos la siguiente información:\n\n    ¿Qué prefijo?",
    ("sla_warning", True): "consumió el 75 % del tiempo de primera respuesta.",
    ("reminder", False): "Este es el intento de contacto número 2.",
    ("client_message", True): "compras@cliente.co escribió en la solicitud #",
    ("attachments_refused", False): "  - x.exe: tipo no permitido",
    ("resolved", False): "fue resuelta.",
    ("rating_invitation", False): "empezando por un número de 1 a 5",
    ("reopened", False): "Reabrimos su solicitud #",
    ("reopened", True): "El cliente pidió reabrir la solicitud #",
    ("incident_priority", False): "la atendemos con prioridad crítica (P1), las 24 horas.",
    ("incident_priority", True): "quedó en prioridad crítica (P1, 24/7)",
    ("incident_resolved", False): "La falla general que afectaba su solicitud fue resuelta.",
    ("committee_accepted", False): "Fecha estimada de entrega: 15 de enero de 2027",
    ("requirement_delivered", False): "La mejora de su requerimiento #",
    ("committee_rejected", False): "Motivo: Fuera",
    ("booking_link", False): "elija uno de los espacios disponibles",
    ("booking_confirmed", False): "Le enviaremos un recordatorio un día hábil antes.",
    ("booking_confirmed", True): "Márquela como realizada después de la sesión.",
    ("advisory_reminder", False): "Le recordamos su asesoría personalizada #",
    ("advisory_reminder", True): "es el próximo día hábil.",
    ("advisory_done", False): "Registramos como realizada su asesoría personalizada #",
}
# What only one kind's acknowledgement says.
ACK_SAYS = {
    Kind.SUPPORT: "Primera respuesta a más tardar: ",
    Kind.REQUIREMENT: "El Comité Operativo revisará su requerimiento en su próxima sesión, el ",
    Kind.ADVISORY: "Agende su sesión de asesoría: https://",
}


def test_every_mail_of_every_kind_says_its_sentence_to_its_audience() -> None:
    accepted, rejected = requirement_paths()
    said: set[tuple[str, bool]] = set()
    for state in (support_path(), accepted, rejected, advisory_path()):
        for notification, subject, text in mails(state):
            key = (notification.template, is_for_staff(notification))
            assert SAYS[key] in text, (key, text)
            assert subject.startswith(f"[#{state.input.number}] ")
            said.add(key)
            if notification.template == MailTemplate.ACKNOWLEDGEMENT:
                kind = state.input.kind
                assert ACK_SAYS[kind] in text, (kind, text)
                assert not [s for k, s in ACK_SAYS.items() if k is not kind and s in text]
    assert said == set(SAYS)


def test_staff_get_staff_wording_and_clients_client_wording() -> None:
    accepted, rejected = requirement_paths()
    for state in (support_path(), accepted, rejected, advisory_path()):
        for notification, subject, text in mails(state):
            if is_for_staff(notification):
                assert not any(word in text or word in subject for word in CLIENT_WORDS), (
                    notification.template,
                    text,
                )
                assert "Aviso automático del sistema" in text
            else:
                assert "Cordial saludo" in text, notification.template
                assert "Este es un mensaje automático" in text


def test_a_reopened_ticket_tells_the_client_and_the_engineer_each_in_their_words() -> None:
    state = support_path()
    client = one(state, "reopened")
    assert "Reabrimos su solicitud" in client and "Motivo: Falla" in client
    staff = one(state, "reopened", staff=True)
    assert "El cliente pidió reabrir la solicitud" in staff
    assert "Motivo del cliente: Falla" in staff and "Cliente: Cliente S.A.S." in staff
    booked = one(advisory_path(), "booking_confirmed", staff=True)
    assert "El cliente agendó la asesoría personalizada" in booked
    assert f"Inicio: miércoles 9 de diciembre de 2026, 10:00 a. m. {ZONE}" in booked
    p1 = one(state, "incident_priority", staff=True)
    assert "quedó en prioridad crítica (P1, 24/7)" in p1 and "la atendemos" not in p1


def test_every_instant_in_every_mail_names_the_zone() -> None:
    accepted, rejected = requirement_paths()
    checked = 0
    for state in (support_path(), accepted, rejected, advisory_path()):
        for notification, _, text in mails(state):
            for match in _INSTANT.finditer(text):
                checked += 1
                assert text[match.end() :].startswith(f" {ZONE}"), (notification.template, text)
    assert checked > 20


def test_no_sentence_ends_with_a_double_period() -> None:
    accepted, rejected = requirement_paths()
    for state in (support_path(), accepted, rejected, advisory_path()):
        for notification, _, text in mails(state):
            assert ".." not in text.replace("…", ""), (notification.template, text)


# --- The acknowledgement ----------------------------------------------------------------------


def test_the_booking_link_is_only_on_an_advisorys_acknowledgement() -> None:
    for kind in (Kind.SUPPORT, Kind.REQUIREMENT):
        ack = one(registered(kind), "acknowledgement")
        assert "Agende su sesión de asesoría" not in ack and "/agendar" not in ack
    state = registered(Kind.ADVISORY)
    ack = one(state, "acknowledgement")
    page = f"https://soporte.btw.com.co/solicitudes/{state.input.number}/agendar"
    assert f"Agende su sesión de asesoría: {page}" in ack  # the portal's booking page


def test_a_requirements_acknowledgement_names_the_next_committee_session() -> None:
    state = registered(Kind.REQUIREMENT, at=bogota(2026, 12, 2, 9, 30))  # after this week's
    [ack] = [n for n in state.outbox if n.template == MailTemplate.ACKNOWLEDGEMENT]
    text = render(with_context(ack, SETTINGS, bogota(2026, 12, 2, 9, 30))).text
    assert (
        "El Comité Operativo revisará su requerimiento en su próxima sesión, el miércoles 9 de "
        f"diciembre de 2026, 9:00 a. m. {ZONE}." in text
    )
    thursday = load_settings(committee_schedule="THU 14:30")
    text = render(with_context(ack, thursday, bogota(2026, 12, 2, 9, 30))).text
    assert f"jueves 3 de diciembre de 2026, 2:30 p. m. {ZONE}" in text


def test_next_session_is_strictly_after_the_instant() -> None:
    wednesday_9 = CommitteeSchedule(weekday=2, at=time(9, 0))
    assert next_session(wednesday_9, bogota(2026, 12, 2, 8, 59)) == bogota(2026, 12, 2, 9, 0)
    assert next_session(wednesday_9, bogota(2026, 12, 2, 9, 0)) == bogota(2026, 12, 9, 9, 0)
    assert next_session(wednesday_9, bogota(2026, 12, 6, 23, 0)) == bogota(2026, 12, 9, 9, 0)
    assert next_session(wednesday_9, datetime(2026, 12, 2, 13, 59, tzinfo=UTC)).tzinfo is UTC


def test_a_p1_opened_outside_business_hours_names_the_p1_line() -> None:
    ack = one(registered(Kind.SUPPORT, at=SATURDAY, priority=Priority.P1), "acknowledgement")
    assert f"línea exclusiva de prioridad 1: {P1_LINE}" in ack
    assert "lunes a jueves de 18:00 a 22:00 y viernes de 17:00 a 22:00, hora de Bogotá" in ack
    for at, priority in ((WEDNESDAY, Priority.P1), (SATURDAY, Priority.P2)):
        ack = one(registered(Kind.SUPPORT, at=at, priority=priority), "acknowledgement")
        assert "ext. 911" not in ack


def test_an_advisory_is_asked_no_expected_result_and_a_fault_its_evidence() -> None:
    fields = {"category": "nómina", "description": "Capacitación", "expected_result": ""}
    assert missing_info(Channel.WEB, fields, Kind.ADVISORY) == []
    assert missing_info(Channel.WEB, fields, Kind.REQUIREMENT) == ["expected_result"]
    assert missing_info(Channel.WEB, {**fields, "expected_result": "x"}, Kind.SUPPORT) == [
        "evidence"
    ]
    with_pdf = {**fields, "expected_result": "x", "evidence": [{"sha256": "a"}]}
    assert missing_info(Channel.WEB, with_pdf, Kind.SUPPORT) == []
    ack = one(registered(Kind.SUPPORT, missing_info=["evidence"]), "acknowledgement")
    assert "Evidencia: capturas de pantalla (PNG, JPEG, GIF o WebP) o PDF." in ack
    advisory = one(registered(Kind.ADVISORY), "acknowledgement")
    assert "resultado que esperaba" not in advisory


# --- Resolution, reopening and rating ----------------------------------------------------


def test_the_resolution_says_until_when_and_how_to_reopen() -> None:
    state = registered(Kind.SUPPORT)
    resolve(
        state,
        ResolveCommand(actor_email=ENGINEER, kind=ResolutionKind.SOLUTION, body="Listo"),
        WEDNESDAY,
    )
    text = one(state, "resolved")
    assert (
        "Si el problema continúa, puede pedir que reabramos la solicitud respondiendo a este "
        "correo con el motivo, a más tardar el jueves 17 de diciembre de 2026, 9:00 a. m. "
        f"{ZONE}." in text
    )


def test_rejected_and_delivered_requirements_say_what_fits_them() -> None:
    accepted, rejected = requirement_paths()
    delivered = one(accepted, "requirement_delivered")
    refused = one(rejected, "committee_rejected")
    for text in (delivered, refused):
        assert "Si el problema continúa" not in text
        assert "a más tardar el" in text and ZONE in text
    assert "Si la mejora entregada no hace lo que se acordó" in delivered
    assert "Si quiere que el Comité Operativo reconsidere su requerimiento" in refused


def test_the_rating_invitation_says_how_to_rate() -> None:
    state = registered(Kind.SUPPORT)
    resolve(
        state,
        ResolveCommand(actor_email=ENGINEER, kind=ResolutionKind.SOLUTION, body="Listo"),
        WEDNESDAY,
    )
    text = one(state, "rating_invitation")
    assert "responda a este correo empezando por un número de 1 a 5" in text
    assert "«5, excelente atención»" in text and "no reabre la solicitud" in text
    assert "También puede calificar desde el enlace" in text
    # The portal's rating page (soporte/portal_paths.py), not the API's POST route.
    assert f"/solicitudes/{state.input.number}/calificar" in text
    assert "/api/v1/" not in text


@pytest.mark.parametrize(
    ("reply_text", "expected"),
    [
        ("5, excelente atención", (5, "excelente atención")),
        ("5", (5, "")),
        ("4/5 muy bien", (4, "muy bien")),
        ("  3 - regular\nel ingeniero tardó", (3, "regular\nel ingeniero tardó")),
        ("10 de 10", None),
        ("4.5 bien", None),
        ("0 malo", None),
        ("Sigue fallando", None),
        ("2026 es el año", None),
    ],
)
def test_a_score_at_the_start_of_a_reply(reply_text: str, expected: object) -> None:
    assert score_at_start(reply_text) == expected


# --- Advisories ------------------------------------------------------------------------------


def test_the_booking_mail_says_no_sla_pause() -> None:
    text = one(registered(Kind.ADVISORY), "booking_link")
    assert "pausa" not in text and "sin respuesta del cliente" in text
    assert "Agende su espacio: https://soporte.btw.com.co/solicitudes/" in text  # the portal
    support = registered(Kind.SUPPORT)
    request_info(support, RequestInfoCommand(actor_email=ENGINEER, body="¿Prefijo?"), WEDNESDAY)
    assert "el tiempo de atención queda en pausa" in one(support, "request_info")


# --- The channels, refusals, the From --------------------------------------------------------


def test_the_channels_are_settings_with_the_policys_defaults() -> None:
    defaults = load_settings()
    assert defaults.support_phone == LINE
    assert defaults.p1_phone == P1_LINE
    assert defaults.p1_phone_hours == "lunes a jueves de 18:00 a 22:00 y viernes de 17:00 a 22:00"
    assert defaults.effective_contact_url == "http://127.0.0.1:8000/contacto"
    assert defaults.support_addresses == ("soporte@btw.com.co", "servicioalcliente@btw.com.co")
    moved = load_settings(support_phone="601 555 1234", contact_url="https://btw.co/c")
    assert moved.channels()["support_phone"] == "601 555 1234"
    assert moved.channels()["contact_url"] == "https://btw.co/c"


@pytest.mark.parametrize("template", ["refused_unknown_sender", "refused_inactive_client"])
def test_refusals_name_the_vendors_real_channels(template: str) -> None:
    note = Notification(
        id="r1",
        number=0,
        template=template,
        to=["x@y.co"],
        data={**SETTINGS.channels(), "from_address": "x@y.co", "client_name": "ACME"},
    )
    text = render(note).text
    assert f"Línea única: {LINE}" in text
    assert "Correo: soporte@btw.com.co o servicioalcliente@btw.com.co" in text
    assert "Página de contacto: https://soporte.btw.com.co/contacto" in text
    foreign_note = Notification(
        id="r0",
        number=0,
        template=MailTemplate.FOREIGN_THREAD,
        to=["x@y.co"],
        data={**SETTINGS.channels(), "from_address": "x@y.co", "subject": "RE: [#5] algo"},
    )
    foreign = render(foreign_note).text
    assert f"Línea única: {LINE}" in foreign and "[#5]" not in foreign.split("«")[0]


def test_staff_writing_by_mail_are_told_to_use_the_console() -> None:
    note = Notification(
        id="r2", number=0, template=MailTemplate.REFUSED_STAFF_SENDER, to=["luis@btw.com.co"],
        data={"from_address": "luis@btw.com.co", "subject": "RE: [#9] Factura"},
    )  # fmt: skip
    text = render(note).text
    assert "Responda al cliente desde la consola o la API" in text
    assert "registre esta dirección" not in text and "Cordial saludo" not in text


def test_the_placeholder_phone_is_gone_from_the_code() -> None:
    root = Path(__file__).parent.parent
    for folder in ("soporte", "api", "activities", "workflows", "launcher"):
        for path in (root / folder).rglob("*.py"):
            assert "601 000 0000" not in path.read_text(encoding="utf-8"), path


def test_mail_comes_from_the_display_name_and_the_address_written_to() -> None:
    state = registered(Kind.SUPPORT, support_address="servicioalcliente@btw.com.co")
    [ack] = [n for n in state.outbox if n.template == MailTemplate.ACKNOWLEDGEMENT]
    message = compose(ack, ["compras@cliente.co"], SETTINGS)
    assert message["From"] == "Soporte Amazonas ERP <servicioalcliente@btw.com.co>"
    plain = registered(Kind.SUPPORT)
    [ack] = [n for n in plain.outbox if n.template == MailTemplate.ACKNOWLEDGEMENT]
    assert compose(ack, ["a@b.co"], SETTINGS)["From"] == "Soporte Amazonas ERP <soporte@btw.com.co>"
    assert SETTINGS.from_header("otro@btw.com.co") == "Soporte Amazonas ERP <soporte@btw.com.co>"


def test_staff_only_templates_never_use_client_wording() -> None:
    data = {
        "subject": "Factura", "client_name": "ACME", "target": "resolution", "percent": 75,
        "due": "2026-12-02T15:00:00Z", "author": "a@b.co", "body": "hola", "session_id": "s1",
        "items": [{"number": 5, "client_name": "ACME", "subject": "Informe"}],
        "from_address": "luis@btw.com.co",
    }  # fmt: skip
    for template in STAFF_ONLY:
        text = render(
            Notification(id="n", number=7, template=template, to=["@assignee"], data=data)
        ).text
        assert not any(word in text for word in CLIENT_WORDS), (template, text)


# --- The acknowledgement goes first ------------------------------------------------------------


def test_the_acknowledgement_is_first_even_after_a_reply_during_registration() -> None:
    state = TicketState.initial(ticket_input(registered_at=WEDNESDAY))
    # The engineer answers while the assignment pick is still running.
    reply(state, EngineerMessage(author_email=ENGINEER, body="Ya lo vemos"), WEDNESDAY)
    auto_assign(state, ENGINEER, WEDNESDAY)
    acknowledge(state, WEDNESDAY)
    assert [n.template for n in state.outbox] == ["acknowledgement", "engineer_reply", "assigned"]


def test_a_resolution_mail_after_the_window_keeps_its_end() -> None:
    state = support_path()
    [resolved] = [n for n in state.outbox if n.template == MailTemplate.INCIDENT_RESOLVED]
    assert resolved.data["reopen_until"] == (
        state.reopen_until.isoformat() if state.reopen_until else None
    )


def test_no_reply_closing_and_late_reopen_mails() -> None:
    state = registered(Kind.SUPPORT)
    request_info(state, RequestInfoCommand(actor_email=ENGINEER, body="¿Prefijo?"), WEDNESDAY)
    while state.status.value != "closed":
        deadline = next_deadline(state, WEDNESDAY)
        assert deadline is not None
        apply_deadline(state, deadline)
    no_reply = one(state, "resolved_no_reply")
    assert "dimos por resuelta su solicitud" in no_reply and "a más tardar el" in no_reply
    closed = one(state, "closed")
    assert "quedó cerrada definitivamente" in closed
    late = Notification(
        id="r3", number=state.input.number, template=MailTemplate.REOPEN_REFUSED, to=["a@b.co"],
        data={"reopen_until": "2026-12-17T14:00:00Z"},
    )  # fmt: skip
    text = render(late).text
    assert f"terminó el jueves 17 de diciembre de 2026, 9:00 a. m. {ZONE}" in text


def test_an_agenda_nobody_received_tells_the_admins_so() -> None:
    note = Notification(
        id="s1-agenda", number=0, template=MailTemplate.COMMITTEE_AGENDA_UNROUTED,
        to=["@committee"],
        data={"session_id": "s1", "items": [{"number": 5, "client_name": "A", "subject": "B"}]},
    )  # fmt: skip
    mail = render(note)
    assert mail.subject == "Comité Operativo: agenda sin destinatarios"
    assert "no hay miembros activos del Comité Operativo registrados" in mail.text
    assert "#5 · A · B" in mail.text
