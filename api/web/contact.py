"""`/contacto`: the vendor's channels (POLICY.md "Channels"), for anyone, signed in or not;
the page every refusal and acknowledgement links to (Settings.effective_contact_url)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.web.core import optional_caller, page, settings_of
from soporte import portal_paths

router = APIRouter(include_in_schema=False)


@router.get(portal_paths.CONTACT)
async def contact_page(request: Request) -> Response:
    caller = await optional_caller(request)
    return page(request, "contact.html", caller, channels=settings_of(request).channels())
