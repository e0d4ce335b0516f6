"""What `soporte up` tells its children and its user: the public URL our mail links to
(derived from `--api-port` unless SOPORTE_PUBLIC_URL is set) and, in the banner, where
each endpoint listens, metrics included."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from launcher.stack import Stack, StackPorts, print_banner, with_public_url
from soporte.settings import Settings, load_settings
from tests.portal_support import csrf_of, sign_in_links
from tests.stack_support import free_ports, start_stack


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "SOPORTE_PUBLIC_URL",
        "SOPORTE_WORKER_METRICS_PORT",
        "SOPORTE_WORKER_METRICS_HOST",
    ):
        monkeypatch.delenv(name, raising=False)


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(data_dir=tmp_path, **overrides)


def test_the_public_url_follows_the_api_port_when_unset(tmp_path: Path, bare_env: None) -> None:
    derived = with_public_url(settings_for(tmp_path), 8123)
    assert derived.public_url == "http://127.0.0.1:8123"
    env = Stack(derived, StackPorts(api=8123)).child_env("t", "127.0.0.1:7233")
    assert env["SOPORTE_PUBLIC_URL"] == "http://127.0.0.1:8123"


def test_a_public_url_that_is_set_is_kept(
    tmp_path: Path, bare_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPORTE_PUBLIC_URL", "https://soporte.btw.com.co")
    kept = with_public_url(settings_for(tmp_path), 8123)
    assert kept.public_url == "https://soporte.btw.com.co"
    env = Stack(kept, StackPorts(api=8123)).child_env("t", "127.0.0.1:7233")
    assert env["SOPORTE_PUBLIC_URL"] == "https://soporte.btw.com.co"


def banner(settings: Settings, capsys: pytest.CaptureFixture[str], api: int = 8123) -> str:
    print_banner(settings, StackPorts(api=api), "tok", False)
    return capsys.readouterr().out


def test_the_banner_says_where_metrics_are(
    tmp_path: Path, bare_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(tmp_path, worker_metrics_port=9555, workers=3)
    shown = banner(with_public_url(settings, 8123), capsys)
    assert (
        "Metrics      http://127.0.0.1:8123/metrics (API), http://127.0.0.1:9555/metrics (worker), "
        "http://127.0.0.1:9556/metrics (worker2), http://127.0.0.1:9557/metrics (worker3)\n"
    ) in shown
    assert "Workers      3 on task queue soporte\n" in shown
    assert "Public URL" not in shown  # the same as the portal's line
    off = banner(with_public_url(settings_for(tmp_path, worker_metrics_port=0), 8123), capsys)
    assert "the workers' off (SOPORTE_WORKER_METRICS_PORT=0)" in off


def test_the_banner_names_a_public_url_that_differs(
    tmp_path: Path, bare_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(tmp_path, public_url="https://soporte.btw.com.co")
    shown = banner(with_public_url(settings, 8123), capsys)
    assert "Public URL   https://soporte.btw.com.co (SOPORTE_PUBLIC_URL: our mail links)" in shown


def test_up_on_another_port_mails_links_to_that_port(tmp_path: Path) -> None:
    """`soporte up --api-port X` without SOPORTE_PUBLIC_URL: the sign-in link points at X."""
    data_dir = tmp_path / "var"
    metrics_port = free_ports(2)  # the two workers count up from it
    stack = start_stack(data_dir, env={"SOPORTE_WORKER_METRICS_PORT": str(metrics_port)})
    try:
        stack.wait_healthy()
        token = (data_dir / "admin-token").read_text().strip()
        admin = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=stack.api_url, timeout=30) as http:
            body = {"name": "Ingrid", "email": "ingrid@btw.com.co", "roles": ["engineer"]}
            assert http.post("/api/v1/staff", json=body, headers=admin).status_code == 201
            page = http.get("/ingresar")
            sent = http.post(
                "/ingresar", data={"email": "ingrid@btw.com.co", "csrf": csrf_of(page.text)}
            )
            assert sent.status_code == 200, sent.text
        outbox = data_dir / "mail" / "outbox"
        deadline = time.monotonic() + 30
        while not (links := sign_in_links(outbox, "ingrid@btw.com.co")):
            assert time.monotonic() < deadline, "a sign-in link was mailed"
            time.sleep(0.2)
    finally:
        status, out, err = stack.stop()
    assert status == 0, err
    assert re.fullmatch(rf"http://127\.0\.0\.1:{stack.ports['api']}/ingresar/enlace/\S+", links[0])
    assert (
        f"Metrics      {stack.api_url}/metrics (API), "
        f"http://127.0.0.1:{metrics_port}/metrics (worker)"
    ) in out
