"""Attachments: sniffed by content, limited in size and count, served only as downloads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from soporte.services.attachments import MAX_BYTES, MAX_PER_TICKET
from tests.api_support import Api, eventually

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"1 0 obj\n" * 8
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 32


@dataclass
class Setup:
    api: Api
    number: int
    contact: dict[str, str]
    stranger: dict[str, str]
    engineer: dict[str, str]


@pytest.fixture(scope="module")
async def setup(api: Api) -> AsyncIterator[Setup]:
    nit = await api.client("830000001", "Con Adjuntos")
    other = await api.client("830000002", "Otro")
    contact = await api.contact(nit, "adj@cliente.co")
    stranger = await api.contact(other, "otro@otro.co")
    engineer = await api.staff("adj-eng@btw.com.co", ["engineer"])
    number = (await api.open_ticket(contact))["number"]
    yield Setup(api, number, contact, stranger, engineer)


def url(setup: Setup, number: int | None = None) -> str:
    return f"/api/v1/tickets/{number or setup.number}/attachments"


async def test_upload_list_and_download(setup: Setup) -> None:
    api = setup.api
    # Declared as HTML, but the bytes are a PNG: the bytes decide.
    stored = await api.ok(
        "POST",
        url(setup),
        201,
        files={"file": ("captura.png", PNG, "text/html")},
        data={"body": "la captura del error"},
        headers=setup.contact,
    )
    assert stored["content_type"] == "image/png"
    assert stored["size"] == len(PNG)
    listed = await api.ok("GET", url(setup), headers=setup.engineer)
    assert [item["sha256"] for item in listed] == [stored["sha256"]]

    response = await api.http.get(f"{url(setup)}/{stored['sha256']}", headers=setup.contact)
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"

    log = await eventually(
        lambda: api.ok("GET", f"/api/v1/tickets/{setup.number}/log", headers=setup.contact),
        lambda lines: any(line["data"].get("attachments") for line in lines),
    )
    assert any(line["body"] == "la captura del error" for line in log)


async def test_pdf_and_webp_are_accepted(setup: Setup) -> None:
    for name, content, kind in [("a.pdf", PDF, "application/pdf"), ("b.webp", WEBP, "image/webp")]:
        stored = await setup.api.ok(
            "POST",
            url(setup),
            201,
            files={"file": (name, content, "application/octet-stream")},
            headers=setup.engineer,
        )
        assert stored["content_type"] == kind


@pytest.mark.parametrize(
    "content",
    [
        b"<html><script>alert(1)</script></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"MZ\x90\x00" + b"\x00" * 60,
        b"",
    ],
)
async def test_other_types_are_refused_by_content(setup: Setup, content: bytes) -> None:
    response = await setup.api.http.post(
        url(setup), files={"file": ("x.png", content, "image/png")}, headers=setup.contact
    )
    assert response.status_code == 422
    assert "file" in response.json()["detail"]


async def test_too_large_is_413(setup: Setup) -> None:
    big = PNG + b"\x00" * MAX_BYTES
    response = await setup.api.http.post(
        url(setup), files={"file": ("big.png", big, "image/png")}, headers=setup.contact
    )
    assert response.status_code == 413


async def test_strangers_get_404(setup: Setup) -> None:
    api = setup.api
    stored = await api.ok(
        "POST",
        url(setup),
        201,
        files={"file": ("p.pdf", PDF + b"x", "application/pdf")},
        headers=setup.contact,
    )
    for path in (url(setup), f"{url(setup)}/{stored['sha256']}"):
        response = await api.http.get(path, headers=setup.stranger)
        assert response.status_code == 404


async def test_internal_attachments_are_hidden_from_contacts(setup: Setup) -> None:
    api = setup.api
    stored = await api.ok(
        "POST",
        url(setup),
        201,
        files={"file": ("interno.pdf", PDF + b"interno", "application/pdf")},
        data={"visibility": "internal", "body": "log del servidor"},
        headers=setup.engineer,
    )
    mine = await api.ok("GET", url(setup), headers=setup.contact)
    assert stored["sha256"] not in [item["sha256"] for item in mine]
    response = await api.http.get(f"{url(setup)}/{stored['sha256']}", headers=setup.contact)
    assert response.status_code == 404


async def test_count_limit_is_409(setup: Setup) -> None:
    api = setup.api
    number = (await api.open_ticket(setup.contact, subject="muchos adjuntos"))["number"]
    for index in range(MAX_PER_TICKET):
        await api.ok(
            "POST",
            url(setup, number),
            201,
            files={"file": (f"{index}.png", PNG + bytes([index]), "image/png")},
            headers=setup.contact,
        )
    response = await api.http.post(
        url(setup, number),
        files={"file": ("x.png", PNG + b"!", "image/png")},
        headers=setup.contact,
    )
    assert response.status_code == 409
    assert str(MAX_PER_TICKET) in response.json()["detail"]
