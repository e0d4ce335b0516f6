"""The `soporte` command as a user runs it: a real subprocess, its output parsed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def soporte(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "launcher.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_deadline_json_matches_the_policy_example():
    result = soporte(
        "sla", "deadline", "--priority", "P2", "--start", "2026-11-27T16:30:00-05:00", "--json"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "priority": "P2",
        "start": "2026-11-27T16:30:00-05:00",
        "first_response_due": "2026-11-30T08:00:00-05:00",
        "resolution_due": "2026-12-02T10:00:00-05:00",
    }


def test_deadline_shows_bogota_time_for_a_utc_start():
    result = soporte(
        "sla", "deadline", "--priority", "P1", "--start", "2026-11-28T03:00:00+00:00", "--json"
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["start"] == "2026-11-27T22:00:00-05:00"
    assert body["first_response_due"] == "2026-11-27T23:00:00-05:00"
    assert body["resolution_due"] == "2026-11-28T06:00:00-05:00"


def test_deadline_plain_output_names_each_instant():
    result = soporte("sla", "deadline", "--priority", "p3", "--start", "2026-11-27T16:30:00-05:00")
    assert result.returncode == 0, result.stderr
    assert "first response due  2026-11-30T08:00:00-05:00" in result.stdout
    assert "resolution due" in result.stdout


@pytest.mark.parametrize(
    ("priority", "start", "field", "words"),
    [
        ("P9", "2026-11-27T16:30:00-05:00", "--priority", "unknown priority"),
        ("requirement", "2026-11-27T16:30:00-05:00", "--priority", "has no due instants"),
        ("P2", "2026-11-27T16:30:00", "--start", "no UTC offset"),
        ("P2", "2026-13-45T99:00", "--start", "not an ISO 8601"),
        ("P2", "mañana", "--start", "not an ISO 8601"),
    ],
)
def test_deadline_bad_input_is_one_clear_line(priority: str, start: str, field: str, words: str):
    result = soporte("sla", "deadline", "--priority", priority, "--start", start)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert field in result.stderr and words in result.stderr


def test_bad_setting_is_named_without_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "launcher.cli", "migrate"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "SOPORTE_REMINDER_OFFSETS": "P1D,tomorrow",
            "SOPORTE_DATA_DIR": str(tmp_path),
            "PATH": "",
        },
    )
    assert result.returncode == 2
    assert "SOPORTE_REMINDER_OFFSETS" in result.stderr
    assert "ISO 8601" in result.stderr
    assert "Traceback" not in result.stderr
