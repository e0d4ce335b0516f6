"""The words of the admin audit log (pure: shared by the models, the schemas and the API)."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    CLIENT_CREATED = "client_created"
    CLIENT_UPDATED = "client_updated"
    CONTACT_CREATED = "contact_created"
    CONTACT_UPDATED = "contact_updated"
    STAFF_CREATED = "staff_created"
    STAFF_UPDATED = "staff_updated"
    TOKEN_ISSUED = "token_issued"
    TOKEN_REVOKED = "token_revoked"
