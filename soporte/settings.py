"""Every `SOPORTE_` setting of API.md in one validated object."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import time, timedelta
from email.utils import formataddr
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, TypeAdapter, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from soporte import portal_paths
from soporte.logs import check_format, check_level
from soporte.policy.config import (
    DEFAULT_ABANDON_AFTER,
    DEFAULT_ADVISORY_HORIZON,
    DEFAULT_ADVISORY_SLOT_LENGTH,
    DEFAULT_AUTO_ASSIGN,
    DEFAULT_COMMITTEE_SCHEDULE,
    DEFAULT_REMINDER_OFFSETS,
    DEFAULT_REOPEN_WINDOW,
    DEFAULT_WARNING_RATIO,
    CommitteeSchedule,
    PolicyConfig,
    PositiveDuration,
    WarningRatio,
    check_reminder_offsets,
)

# The one home of our mail domain (templates.message_ids and the SMTP listener default to it).
DEFAULT_MAIL_DOMAIN = "soporte.btw.com.co"
_DURATION = TypeAdapter(timedelta)
_ISO_DURATION = re.compile(r"^P(?!$)(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def parse_iso_duration(raw: str) -> timedelta:
    """An ISO 8601 duration such as `P1D` or `PT4H30M`; anything else is refused."""
    text = raw.strip().upper()
    if not _ISO_DURATION.match(text):
        raise ValueError(f"{raw!r} is not an ISO 8601 duration (for example P1D or PT4H)")
    value = _DURATION.validate_python(text)
    if value <= timedelta(0):
        raise ValueError(f"{raw!r} must be longer than zero")
    return value


def parse_committee_schedule(raw: str) -> CommitteeSchedule:
    """`WED 09:00`: a weekday and a Bogota wall-clock time."""
    match = re.fullmatch(r"\s*([A-Za-z]{3})\s+(\d{1,2}):(\d{2})\s*", raw)
    if not match or match.group(1).upper() not in _WEEKDAYS:
        raise ValueError(f"{raw!r} is not a weekly schedule like 'WED 09:00' (MON..SUN HH:MM)")
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise ValueError(f"{raw!r} has no valid time of day")
    return CommitteeSchedule(weekday=_WEEKDAYS.index(match.group(1).upper()), at=time(hour, minute))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOPORTE_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    task_queue: str = "soporte"
    # Workflow tasks and local activities one worker runs at once (activities: twice that).
    # 4: commands over open tickets ran 1.1-1.4x faster than at 2 (bench/commands.py,
    # bench/scale.py); opening bursts are accepted 5-20 % slower but settle sooner.
    worker_concurrency: int = Field(default=4, ge=1, le=1000)
    # Workflow runs one worker keeps in memory (the SDK's sticky cache, 1,000 by default). A
    # run not in it replays its whole history on its next event: size it to the open
    # tickets, at about 0.17 MB of worker RSS each (bench/commands.py).
    worker_cached_workflows: int = Field(default=2_000, ge=1, le=1_000_000)
    # The worker's Prometheus endpoint (soporte.worker_metrics); port 0 turns it off.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)
    # `soporte up` runs this many `soporte worker` processes on the one task queue (the
    # k-th serves its metrics on worker_metrics_port + k - 1). Two on 2 cores: commands
    # over open tickets 1.1-1.7x faster than one at the same CPU per command, since one
    # worker process waits inside itself (bench/commands.py --workers, README).
    workers: int = Field(default=2, ge=1, le=32)
    admin_token: str | None = None
    smtp_url: str | None = None
    support_addresses: Annotated[tuple[str, ...], NoDecode] = (
        "soporte@btw.com.co",
        "servicioalcliente@btw.com.co",
    )
    mail_from: str = "soporte@btw.com.co"
    # The domain of our Message-IDs (and the SMTP listener's name): replies thread on it.
    mail_domain: str = DEFAULT_MAIL_DOMAIN
    # The key of our Message-IDs' hashes (soporte.email.secret): else <data dir>/mail-secret.
    mail_secret: str | None = None
    # The authserv-id of the receiving server whose Authentication-Results we believe
    # (RFC 8601); unset: we believe none, and only a reply to one of our mails is trusted.
    trusted_authserv_id: str | None = None
    # Automatic replies to senders, all senders together, per hour (besides the per-sender cap).
    auto_reply_global_cap_per_hour: int = Field(default=30, ge=0, le=100_000)
    # The display name on every mail we send ("Soporte Amazonas ERP <soporte@btw.com.co>").
    mail_from_name: str = "Soporte Amazonas ERP"
    public_url: str = "http://127.0.0.1:8000"
    # The vendor's channels (POLICY.md "Channels"), named by refusals and acknowledgements.
    support_phone: str = "(+57 4) 6047282 ext. 121–157"
    p1_phone: str = "(+57 4) 6047282 ext. 911"
    p1_phone_hours: str = "lunes a jueves de 18:00 a 22:00 y viernes de 17:00 a 22:00"
    # unset: the portal's contact page, <public_url>/contacto
    contact_url: str | None = None
    # The policy's numbers: defaults and bounds are soporte.policy.config's.
    auto_assign: bool = DEFAULT_AUTO_ASSIGN
    warning_ratio: WarningRatio = DEFAULT_WARNING_RATIO
    reminder_offsets: Annotated[
        tuple[timedelta, ...], NoDecode, AfterValidator(check_reminder_offsets)
    ] = DEFAULT_REMINDER_OFFSETS
    abandon_after: PositiveDuration = DEFAULT_ABANDON_AFTER
    reopen_window: PositiveDuration = DEFAULT_REOPEN_WINDOW
    advisory_slot_length: PositiveDuration = DEFAULT_ADVISORY_SLOT_LENGTH
    advisory_horizon: PositiveDuration = DEFAULT_ADVISORY_HORIZON
    committee_schedule: Annotated[CommitteeSchedule, NoDecode] = DEFAULT_COMMITTEE_SCHEDULE
    # The web portal: sign-in links and sessions (soporte.services.portal_auth).
    sign_in_link_ttl: timedelta = timedelta(minutes=15)
    session_idle: timedelta = timedelta(hours=2)
    session_max: timedelta = timedelta(hours=12)
    sign_in_limit_per_address: int = Field(default=5, ge=1, le=10000)
    sign_in_limit_per_ip: int = Field(default=30, ge=1, le=100000)
    # Logging of every process (soporte.logs): DEBUG..CRITICAL, and text or json lines.
    log_level: str = "INFO"
    log_format: str = "text"

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        return check_level(value)

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        return check_format(value)

    # /healthz: a worker counts as polling when it polled the task queue within this age
    # (a cluster answers idle polls after 60 s; `soporte up` sets 10 s and PT30S).
    health_poller_max_age: timedelta = Field(default=timedelta(seconds=90), gt=timedelta(0))

    @field_validator("reminder_offsets", mode="before")
    @classmethod
    def _offsets(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(parse_iso_duration(part) for part in value.split(",") if part.strip())
        return value

    @field_validator(
        "abandon_after",
        "reopen_window",
        "advisory_slot_length",
        "advisory_horizon",
        "health_poller_max_age",
        "sign_in_link_ttl",
        "session_idle",
        "session_max",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_iso_duration(value) if isinstance(value, str) else value

    @field_validator("committee_schedule", mode="before")
    @classmethod
    def _schedule(cls, value: object) -> object:
        return parse_committee_schedule(value) if isinstance(value, str) else value

    @field_validator("support_addresses", mode="before")
    @classmethod
    def _addresses(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().lower() for part in value.split(",") if part.strip())
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'soporte.db').resolve()}"

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry `Secure` when the portal is served over https."""
        return self.public_url.strip().lower().startswith("https://")

    @property
    def our_addresses(self) -> frozenset[str]:
        """Every address we send from or receive at: mail from one is never a client's."""
        ours = {address.strip().lower() for address in self.support_addresses}
        return frozenset(ours | {self.mail_from.strip().lower()})

    @property
    def our_mail_domains(self) -> tuple[str, ...]:
        """The domains our Message-IDs may carry: the mail domain and the sender's."""
        domains = {self.mail_domain.strip().lower(), self.mail_from.rpartition("@")[2].lower()}
        return tuple(sorted(domain for domain in domains if domain))

    @property
    def effective_contact_url(self) -> str:
        return self.contact_url or portal_paths.absolute(self.public_url, portal_paths.CONTACT)

    def channels(self) -> dict[str, object]:
        """The vendor's channels as the mail templates read them (soporte.email.templates)."""
        return {
            "support_phone": self.support_phone,
            "p1_phone": self.p1_phone,
            "p1_phone_hours": self.p1_phone_hours,
            "contact_url": self.effective_contact_url,
            "support_emails": list(self.support_addresses),
        }

    def from_header(self, written_to: object = None) -> str:
        """`Soporte Amazonas ERP <address>`: the support address the client wrote to, when
        known and ours, else `mail_from`."""
        address = self.mail_from
        if isinstance(written_to, str) and written_to.strip().lower() in self.support_addresses:
            address = written_to.strip().lower()
        return formataddr((self.mail_from_name, address)) if self.mail_from_name else address

    def support_address_in(self, addresses: Iterable[str]) -> str | None:
        """The first of our support addresses among these (a message's To and Cc)."""
        for address in addresses:
            if address.strip().lower() in self.support_addresses:
                return address.strip().lower()
        return None

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "mail" / "outbox"

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    def policy(self) -> PolicyConfig:
        """The policy numbers a ticket is started with (kept in its workflow state)."""
        return PolicyConfig(
            warning_ratio=self.warning_ratio,
            reminder_offsets=list(self.reminder_offsets),
            abandon_after=self.abandon_after,
            reopen_window=self.reopen_window,
            auto_assign=self.auto_assign,
            advisory_slot_length=self.advisory_slot_length,
            advisory_horizon=self.advisory_horizon,
        )


class SettingsError(Exception):
    """A bad setting, said in one line that names the variable and the rule."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = "SOPORTE_" + "_".join(str(part) for part in item["loc"][:1]).upper()
            problems.append(f"{name}: {item['msg']}")
        raise SettingsError("; ".join(problems)) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
