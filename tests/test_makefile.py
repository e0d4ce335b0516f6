"""The Makefile's targets, read with `make -n` (nothing is installed or started)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def dry_run(*args: str, venv: Path) -> str:
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(ROOT), f"VENV={venv}", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_run_installs_only_what_running_needs(tmp_path: Path):
    commands = dry_run("run", venv=tmp_path / "venv")
    assert "pip install --quiet -e ." in commands
    assert "[test]" not in commands


def test_run_passes_args_through_to_soporte_up(tmp_path: Path):
    commands = dry_run("run", "ARGS=--api-port 8001 --smtp-port 2526", venv=tmp_path / "venv")
    assert commands.strip().splitlines()[-1].endswith("soporte up --api-port 8001 --smtp-port 2526")


def test_run_reuses_an_up_to_date_full_install(tmp_path: Path):
    venv = tmp_path / "venv"
    venv.mkdir()
    stamp = venv / ".installed"
    stamp.touch()
    # A full install newer than pyproject.toml: `make run` must not install again.
    future = (ROOT / "pyproject.toml").stat().st_mtime + 60
    os.utime(stamp, (future, future))
    commands = dry_run("run", venv=venv)
    assert "touch" in commands
    result = subprocess.run(
        ["make", "-C", str(ROOT), f"VENV={venv}", f"{venv}/.installed-run"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert (venv / ".installed-run").exists()
    assert not (venv / "bin").exists()  # no venv was created, nothing installed


def test_test_and_install_keep_the_test_extras(tmp_path: Path):
    for target in ("install", "test"):
        commands = dry_run(target, venv=tmp_path / "venv")
        assert "pip install --quiet -e '.[test]'" in commands
