"""The words of the admin audit log (pure: shared by the models, the schemas and the API)."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    CLIENT_CREATED = "client_created"
    CLIENT_UPDATED = "client_updated"
    CLIENT_DEACTIVATED = "client_deactivated"
    CLIENT_REACTIVATED = "client_reactivated"
    CONTACT_CREATED = "contact_created"
    CONTACT_UPDATED = "contact_updated"
    CONTACT_DEACTIVATED = "contact_deactivated"
    CONTACT_REACTIVATED = "contact_reactivated"
    STAFF_CREATED = "staff_created"
    STAFF_UPDATED = "staff_updated"
    STAFF_DEACTIVATED = "staff_deactivated"
    STAFF_REACTIVATED = "staff_reactivated"
    TOKEN_ISSUED = "token_issued"
    TOKEN_REVOKED = "token_revoked"


def update_action(kind: str, changes: dict[str, object]) -> AuditAction:
    """`<kind>_deactivated` or `_reactivated` when the update sets `active`, else
    `<kind>_updated` (kind: client, contact or staff)."""
    active = changes.get("active")
    if active is False:
        return AuditAction(f"{kind}_deactivated")
    if active is True:
        return AuditAction(f"{kind}_reactivated")
    return AuditAction(f"{kind}_updated")
