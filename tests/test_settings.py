from datetime import UTC, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from soporte.policy import Priority
from soporte.policy.config import ABANDON_AFTER_ATTEMPTS, PolicyConfig
from soporte.policy.sla import due_instants
from soporte.settings import SettingsError, load_settings


def test_defaults_follow_the_policy(monkeypatch: pytest.MonkeyPatch):
    for name in (
        "REMINDER_OFFSETS",
        "ABANDON_AFTER",
        "REOPEN_WINDOW",
        "WARNING_RATIO",
        "COMMITTEE_SCHEDULE",
    ):
        monkeypatch.delenv(f"SOPORTE_{name}", raising=False)
    settings = load_settings()
    assert settings.warning_ratio == 0.75
    assert settings.reminder_offsets == (timedelta(days=1), timedelta(days=2), timedelta(days=4))
    assert settings.abandon_after == timedelta(days=5)
    assert settings.reopen_window == timedelta(days=15)
    assert settings.committee_schedule.weekday == 2
    assert settings.committee_schedule.at == time(9, 0)


def test_environment_overrides_are_parsed(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SOPORTE_REMINDER_OFFSETS", "PT12H, P3D")
    monkeypatch.setenv("SOPORTE_ABANDON_AFTER", "P1W")
    monkeypatch.setenv("SOPORTE_COMMITTEE_SCHEDULE", "fri 14:30")
    monkeypatch.setenv("SOPORTE_WARNING_RATIO", "0.5")
    settings = load_settings()
    assert settings.reminder_offsets == (timedelta(hours=12), timedelta(days=3))
    assert settings.abandon_after == timedelta(days=7)
    assert (settings.committee_schedule.weekday, settings.committee_schedule.at) == (
        4,
        time(14, 30),
    )
    assert settings.policy().warning_ratio == 0.5


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("SOPORTE_REMINDER_OFFSETS", "P1D,1 day", "ISO 8601"),
        ("SOPORTE_REMINDER_OFFSETS", "P4D,P1D", "increasing"),
        ("SOPORTE_ABANDON_AFTER", "P0D", "longer than zero"),
        ("SOPORTE_REOPEN_WINDOW", "fifteen days", "ISO 8601"),
        ("SOPORTE_WARNING_RATIO", "1.5", "less than 1"),
        ("SOPORTE_WORKER_CONCURRENCY", "0", "greater than or equal to 1"),
        ("SOPORTE_WORKER_CACHED_WORKFLOWS", "0", "greater than or equal to 1"),
        ("SOPORTE_COMMITTEE_SCHEDULE", "XYZ 09:00", "MON..SUN"),
        ("SOPORTE_COMMITTEE_SCHEDULE", "WED 25:00", "valid time"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str
):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert name in str(refused.value)
    assert words in str(refused.value)


# --- One home for the policy's numbers (issue 12): the settings and the ticket's own
# configuration take the same defaults and refuse the same values.


def test_the_settings_defaults_are_the_policys(monkeypatch: pytest.MonkeyPatch):
    for name in ("REMINDER_OFFSETS", "ABANDON_AFTER", "REOPEN_WINDOW", "WARNING_RATIO"):
        monkeypatch.delenv(f"SOPORTE_{name}", raising=False)
    monkeypatch.delenv("SOPORTE_AUTO_ASSIGN", raising=False)
    monkeypatch.delenv("SOPORTE_ADVISORY_SLOT_LENGTH", raising=False)
    monkeypatch.delenv("SOPORTE_ADVISORY_HORIZON", raising=False)
    assert load_settings().policy() == PolicyConfig()


@pytest.mark.parametrize("ratio", [0.0, 1.0, 1.5, -0.2])
def test_a_warning_ratio_outside_zero_and_one_is_refused_everywhere(ratio: float):
    with pytest.raises(ValidationError):
        PolicyConfig(warning_ratio=ratio)
    with pytest.raises(SettingsError, match="SOPORTE_WARNING_RATIO"):
        load_settings(warning_ratio=ratio)
    with pytest.raises(ValueError, match="warning_ratio"):
        due_instants(
            Priority.P2, datetime(2026, 11, 30, 13, 0, tzinfo=UTC), [], warning_ratio=ratio
        )


def test_the_ticket_configuration_refuses_what_the_settings_refuse():
    with pytest.raises(ValidationError, match="increasing"):
        PolicyConfig(reminder_offsets=[timedelta(days=4), timedelta(days=1)])
    with pytest.raises(ValidationError, match="longer than zero"):
        PolicyConfig(abandon_after=timedelta(0))
    with pytest.raises(ValidationError, match="longer than zero"):
        PolicyConfig(reopen_window=timedelta(days=-1))


def test_abandoning_needs_the_policys_four_attempts():
    assert ABANDON_AFTER_ATTEMPTS == 4
