"""/docs and /redoc load everything from the app itself: they render with the network cut."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from api.main import create_app
from soporte.settings import load_settings

REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\s*:\s*['"]([^'"]+)['"]""")


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # The docs pages need no database or Temporal: the lifespan is not run.
    app = create_app(load_settings(data_dir=tmp_path, admin_token="x" * 20))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://soporte.test") as client:
        yield client


def references(html: str) -> list[str]:
    return [a or b for a, b in REFERENCE.findall(html)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_page_references_only_local_assets_that_answer(
    http: httpx.AsyncClient, page: str
):
    response = await http.get(page)
    assert response.status_code == 200
    html = response.text
    assert "cdn" not in html.lower() and "googleapis" not in html
    found = references(html)
    assert found, html
    for url in found:
        assert url.startswith("/"), f"{page} loads {url} from elsewhere"
        asset = await http.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url
    assert any(url.endswith(".js") for url in found)


async def test_swagger_assets_are_the_real_bundle(http: httpx.AsyncClient):
    js = await http.get("/docs-assets/swagger-ui-bundle.js")
    css = await http.get("/docs-assets/swagger-ui.css")
    redoc = await http.get("/docs-assets/redoc.standalone.js")
    assert "SwaggerUIBundle" in js.text
    assert css.headers["content-type"].startswith("text/css")
    assert "Redoc" in redoc.text


async def test_unknown_asset_is_404(http: httpx.AsyncClient):
    assert (await http.get("/docs-assets/nope.js")).status_code == 404


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`soporte api` on a free port; no Temporal or database is needed for the docs."""
    data_dir = tmp_path_factory.mktemp("docs")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPORTE_")}
    env.update(
        SOPORTE_DATA_DIR=str(data_dir),
        SOPORTE_TEMPORAL_ADDRESS="127.0.0.1:1",
        SOPORTE_ADMIN_TOKEN="x" * 20,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "launcher.cli", "api", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/docs", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "no API"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def rendered_offline(url: str) -> str:
    """The page's DOM after its scripts ran, in Debian's Chromium with the network cut:
    every request but loopback goes to a proxy that does not exist."""
    assert CHROMIUM, "Debian's chromium is needed for this test"
    result = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--proxy-server=http://127.0.0.1:9", "--virtual-time-budget=10000",
            "--dump-dom", url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_swagger_ui_renders_with_the_network_cut(live_api: str):
    dom = rendered_offline(f"{live_api}/docs")
    assert 'data-path="/api/v1/tickets/{number}/resolve"' in dom
    assert 'data-path="/api/v1/audit"' in dom


def test_redoc_renders_with_the_network_cut(live_api: str):
    dom = rendered_offline(f"{live_api}/redoc")
    assert "/api/v1/tickets/{number}/resolve" in dom
    assert "http-verb" in dom
