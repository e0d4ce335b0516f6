"""The parser's limits: what a message may carry before it is capped or refused."""

from __future__ import annotations

from soporte.policy.evidence import MAX_EVIDENCE_BYTES, MAX_EVIDENCE_PER_MESSAGE

MAX_ATTACHMENT_BYTES = MAX_EVIDENCE_BYTES
MAX_ATTACHMENTS = MAX_EVIDENCE_PER_MESSAGE
# Bodies become ticket descriptions carried in workflow payloads, which must stay small.
MAX_TEXT_CHARS = 100_000
_MAX_PARTS = 500
_MAX_DEPTH = 30
_MAX_FIELD_CHARS = 1_000
# HTML is mostly markup; reading more than this cannot add to the capped text, only time.
_MAX_HTML_CHARS = 5 * MAX_TEXT_CHARS
