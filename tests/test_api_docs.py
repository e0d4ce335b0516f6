"""/docs and /redoc load everything from the app itself: they render with the network cut."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
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
