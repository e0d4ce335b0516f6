"""Metrics: the counters move when tickets are opened, SLA events fire and mail is sent,
failed or refused; the API's /metrics shows them with the open tickets from the read model
and request durations by route template; the worker's endpoint adds the Temporal SDK's."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import TicketActivities
from activities.notifications import deliver
from activities.projection import project
from soporte.db.models import Client as ClientRow
from soporte.db.models import Contact, Staff, TicketIntake
from soporte.db.session import create_engine, create_sessionmaker
from soporte.metrics import REGISTRY
from soporte.policy import Priority
from soporte.policy.names import MailTemplate
from soporte.policy.tickets import EventType, Notification, TicketInput
from soporte.settings import load_settings
from soporte.worker_metrics import free_loopback_port, runtime_with_metrics, serve_metrics
from tests.api_support import ADMIN, Api, database, make_nit, module_api
from tests.ticket_paths import Walk, store
from tests.workflow_support import (
    ENGINEER,
    HOLIDAY_SET,
    REPORTER,
    Recorder,
    at_bogota,
    move_to,
    next_day_after,
    start_ticket,
    ticket_input,
)
from workflows.registry import ALL_WORKFLOWS

MONDAY = date(2026, 11, 23)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def opened(priority: str = "P2") -> float:
    return value("soporte_tickets_opened_total", channel="web", kind="support", priority=priority)


def worker_activities(settings_dir: Path, url: str) -> list[object]:
    """The real activities, but a fixed engineer (the registry is empty here)."""
    real = TicketActivities(load_settings(data_dir=settings_dir, database_url=url))
    pick = next(a for a in Recorder().activities() if a.__name__ == "pick_assignee")  # type: ignore[attr-defined]
    return [
        real.project_ticket,
        real.deliver_notification,
        real.deliver_notifications,
        real.write_ticket,
        pick,
    ]


async def test_tickets_opened_and_sla_events_move_the_worker_counters(
    time_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> None:
    tuesday = next_day_after(
        await time_env.get_current_time(), lambda d: d.weekday() == 1 and d not in HOLIDAY_SET
    )
    start = at_bogota(tuesday, 9)
    await move_to(time_env, start)
    before = (
        opened(),
        value("soporte_sla_warnings_total", target="first_response", priority="P2"),
        value("soporte_sla_breaches_total", target="first_response", priority="P2"),
        value("soporte_mails_sent_total", template="acknowledgement"),
        value("soporte_mails_sent_total", template="sla_breach"),
    )
    with database("sqlite", tmp_path) as url:
        async with Worker(
            time_env.client,
            task_queue=task_queue,
            workflows=ALL_WORKFLOWS,
            activities=worker_activities(tmp_path, url),
        ):
            ticket = ticket_input(registered_at=start, priority=Priority.P2)
            await register_people_of(ticket, url)
            await start_ticket(time_env.client, task_queue, ticket)
            await until(lambda: opened() == before[0] + 1)
            # First response due 10:00 (warning 09:45): past both, nobody answered.
            await move_to(time_env, start + timedelta(hours=1, minutes=5))
            await until(
                lambda: (
                    value("soporte_sla_breaches_total", target="first_response", priority="P2")
                    == before[2] + 1
                )
            )
            await until(
                lambda: value("soporte_mails_sent_total", template="sla_breach") > before[4]
            )
    assert value("soporte_sla_warnings_total", target="first_response", priority="P2") == (
        before[1] + 1
    )
    assert value("soporte_mails_sent_total", template="acknowledgement") > before[3]


async def register_people_of(ticket: TicketInput, url: str) -> None:
    """Mail goes only to our active staff and the client's active contacts, rechecked from
    the registry at send time: register the ticket's engineer, client and reporter."""
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        session.add(Staff(email=ENGINEER, name="Ana", roles=["engineer"]))
        session.add(ClientRow(nit=ticket.nit, name=ticket.client_name))
        await session.flush()
        session.add(Contact(email=ticket.reporter_email, client_nit=ticket.nit, name="Compras"))
        session.add(TicketIntake(number=ticket.number, principal=REPORTER, nit=ticket.nit))
        await session.commit()
    await engine.dispose()


async def until(check: object, timeout: float = 20.0) -> None:
    assert callable(check)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    while not check():
        assert loop.time() < give_up, "the counter never moved: " + "\n".join(
            f"{m.name} {s.labels} {s.value}"
            for m in REGISTRY.collect()
            for s in m.samples
            if "sla" in m.name or "mail" in m.name or "opened" in m.name
        )
        await asyncio.sleep(0.05)


async def test_a_retried_projection_counts_nothing_twice(tmp_path: Path) -> None:
    with database("sqlite", tmp_path) as url:
        engine = create_engine(url)
        sessions = create_sessionmaker(engine)
        try:
            walk = Walk.open(77, at_bogota(MONDAY, 9), priority=Priority.P3)
            walk.until(walk.view.created_at + timedelta(hours=2))  # warning and breach
            assert any(e.type == EventType.SLA_BREACH for e in walk.state.pending_events)
            batch = walk.batch()
            counts = (
                opened("P3"),
                value("soporte_sla_breaches_total", target="first_response", priority="P3"),
            )
            await store(sessions, walk)
            await project(sessions, batch)  # the same batch again, as a retry sends it
        finally:
            await engine.dispose()
    assert opened("P3") == counts[0] + 1
    assert value("soporte_sla_breaches_total", target="first_response", priority="P3") == (
        counts[1] + 1
    )


async def test_a_failed_send_is_counted_then_raised(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with database("sqlite", tmp_path) as url:
        settings = load_settings(
            data_dir=tmp_path, database_url=url, smtp_url=f"smtp://127.0.0.1:{port}"
        )
        engine = create_engine(url)
        notification = Notification(
            id="n-1",
            number=0,
            template=MailTemplate.COMMITTEE_AGENDA,
            to=["comite@btw.com.co"],
            data={"session_id": "s", "agenda": []},
        )
        before = value("soporte_mails_failed_total", template="committee_agenda")
        try:
            with pytest.raises(OSError):
                await deliver(create_sessionmaker(engine), settings, notification)
        finally:
            await engine.dispose()
    assert value("soporte_mails_failed_total", template="committee_agenda") == before + 1


@pytest.fixture(scope="module")
async def api(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Api]:
    class Param:
        param = "sqlite"

    async with module_api(Param(), dev_env, tmp_path_factory, worker=False) as running:  # type: ignore[arg-type]
        yield running


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_the_api_serves_metrics(api: Api) -> None:
    nit = make_nit("906666001")
    engine = create_engine(api.settings.effective_database_url)
    try:
        await store(
            create_sessionmaker(engine),
            Walk.open(9001, at_bogota(MONDAY, 9), priority=Priority.P1, nit=nit),
            Walk.open(9002, at_bogota(MONDAY, 10), priority=Priority.P1, nit=nit).request_info(
                at_bogota(MONDAY, 11)
            ),
        )
    finally:
        await engine.dispose()
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "extrano@nadie.co", "soporte@btw.com.co", "Hola"
    mail["Message-ID"] = "<metrics-test-1@nadie.co>"
    mail.set_content("¿Me ayudan?")
    before = value("soporte_mails_refused_total", reason="unknown_sender")
    await api.ok(
        "POST",
        "/api/v1/inbound-email",
        202,
        content=mail.as_bytes(),
        headers={**ADMIN, "Content-Type": "message/rfc822"},
    )
    assert value("soporte_mails_refused_total", reason="unknown_sender") == before + 1
    await api.http.get("/api/v1/tickets/9001", headers=ADMIN)
    await api.http.get("/api/v1/tickets/123456", headers=ADMIN)

    response = await api.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    assert found[("soporte_open_tickets", (("priority", "P1"), ("status", "open")))] == 1
    waiting = ("soporte_open_tickets", (("priority", "P1"), ("status", "waiting_on_client")))
    assert found[waiting] == 1
    assert found[("soporte_mails_refused_total", (("reason", "unknown_sender"),))] >= 1
    by_route = {
        dict(labels)["route"]
        for (name, labels) in found
        if name == "soporte_http_request_duration_seconds_count"
    }
    assert "/api/v1/tickets/{number}" in by_route
    assert "/api/v1/inbound-email" in by_route
    assert not any("123456" in route for route in by_route)
    assert all(name.startswith("soporte_") for name, _ in found)


async def test_the_worker_endpoint_serves_ours_and_the_sdks(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    sdk_port, port = free_loopback_port(), free_loopback_port()
    runtime = runtime_with_metrics(sdk_port)
    client = await Client.connect(
        time_env.client.service_client.config.target_host,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )
    server = await serve_metrics("127.0.0.1", port, sdk_port)
    assert server is not None
    try:
        recorder = Recorder()
        async with recorder.worker(client, task_queue):
            handle = await start_ticket(client, task_queue, ticket_input())
            await handle.query("view")
            text = await scrape(port)
        assert (await scrape(port, "/other")).startswith("HTTP/1.1 404")
        # A second server on the same port is refused, logged, and nothing raises.
        assert await serve_metrics("127.0.0.1", port, sdk_port) is None
    finally:
        server.close()
        await server.wait_closed()
    assert "soporte_tickets_opened_total" in text or "soporte_mails_sent_total" in text
    assert "soporte_process_cpu_seconds_total" in text
    assert "temporal_" in text, "the SDK's own metrics are missing"
    assert "temporal_workflow_task" in text or "temporal_request" in text


async def scrape(port: int, path: str = "/metrics") -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data.decode()
