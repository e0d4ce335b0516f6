"""The product's Prometheus metrics (prometheus-client), on a registry of their own.

Every name starts with `soporte_`. Which process counts what:
- the worker, as it projects a ticket's log: tickets opened, SLA warnings and breaches
  (each counted once per log line actually stored, so a retried projection counts nothing
  twice); as it sends mail: mails sent and failed;
- the process that takes email (the API, or `soporte smtp`): mails refused, by reason;
- the API: HTTP request durations by route template, and at each scrape the open tickets
  by state and priority, read from the read model.
The worker's endpoint also carries the Temporal SDK's own metrics (soporte.worker_metrics).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from soporte.policy.names import MailTemplate
from soporte.policy.tickets import EventType, LogEvent, TicketView

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(namespace="soporte", registry=REGISTRY)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

TICKETS_OPENED = Counter(
    "soporte_tickets_opened",
    "Tickets registered, by channel, kind and the priority they started with",
    ["channel", "kind", "priority"],
    registry=REGISTRY,
)
OPEN_TICKETS = Gauge(
    "soporte_open_tickets",
    "Tickets not resolved nor closed, by state and priority (the read model, at scrape)",
    ["status", "priority"],
    registry=REGISTRY,
)
SLA_WARNINGS = Counter(
    "soporte_sla_warnings",
    "SLA warnings fired (75 % of a target), by target and priority",
    ["target", "priority"],
    registry=REGISTRY,
)
SLA_BREACHES = Counter(
    "soporte_sla_breaches",
    "SLA breaches fired, by target and priority",
    ["target", "priority"],
    registry=REGISTRY,
)
MAILS_SENT = Counter(
    "soporte_mails_sent", "Outbound mails sent, by template", ["template"], registry=REGISTRY
)
MAILS_FAILED = Counter(
    "soporte_mails_failed",
    "Outbound mail attempts that failed (retried until sent), by template",
    ["template"],
    registry=REGISTRY,
)
MAILS_REFUSED = Counter(
    "soporte_mails_refused",
    "Inbound mails not taken (kept in refused_mail), by reason",
    ["reason"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "soporte_http_request_duration_seconds",
    "HTTP request duration, by method, route template and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)


def count_projected(view: TicketView, stored: Iterable[LogEvent]) -> None:
    """Count the log lines just stored for the first time."""
    for event in stored:
        if event.type == EventType.REGISTERED:
            TICKETS_OPENED.labels(
                channel=event.channel.value if event.channel else "unknown",
                kind=str(event.data.get("kind") or view.kind.value),
                priority=str(event.data.get("priority") or view.priority.value),
            ).inc()
        elif event.type in (EventType.SLA_WARNING, EventType.SLA_BREACH):
            counter = SLA_WARNINGS if event.type == EventType.SLA_WARNING else SLA_BREACHES
            target = str(event.data.get("target") or "unknown")
            counter.labels(target=target, priority=view.priority.value).inc()


def refusal_reason(template: MailTemplate | None, outcome: str) -> str:
    """A bounded label for a refused mail: its auto-reply template, else its outcome."""
    if template is MailTemplate.FOREIGN_THREAD:
        return "foreign"  # the label this reason has always had
    return (template or outcome).removeprefix("refused_")


def render() -> bytes:
    return generate_latest(REGISTRY)
