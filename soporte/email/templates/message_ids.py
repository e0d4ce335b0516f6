"""Message-IDs we can thread on, and trust: ours carry the ticket number and a keyed hash.

`<ticket-1234.<r>.<mac>@soporte.btw.com.co>`: `r` is a short digest of the mail's key
(the notification id: a retried send carries the same id), the mac an HMAC-SHA256 (80 bits,
base32) of number and `r` under the mail secret (soporte.email.secret), so nobody outside
can make one up, and we check one without storing it. Short (at most 63 characters), so
no mail program folds or encodes it when it quotes it in In-Reply-To. A reply naming one
of these proves it answers a mail we sent to the ticket's people; a guessed
`<ticket-1234.x@…>` proves nothing (POLICY.md "Who sees what").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from soporte.settings import DEFAULT_MAIL_DOMAIN

MESSAGE_ID_DOMAIN = DEFAULT_MAIL_DOMAIN
MAC_CHARS = 16  # 80 bits

_OUR_ID = re.compile(r"^<ticket-(\d{1,9})((?:\.[^@<>]*)?)@([^<>@]+)>$")
# Every Message-ID we make: a ticket's, an automatic reply's, a notice about no ticket.
_ANY_OF_OURS = re.compile(r"^<(?:ticket-\d{1,9}|auto|notice)(?:\.[^@<>]*)?@([^<>@]+)>$")


@dataclass(frozen=True)
class MessageIds:
    """Our Message-IDs under one secret: made for a notification, checked on a reply."""

    secret: bytes
    domain: str = MESSAGE_ID_DOMAIN

    def mac(self, text: str) -> str:
        """The keyed hash of `text` (80 bits, base32): what outsiders cannot compute."""
        digest = hmac.new(self.secret, text.encode(), hashlib.sha256).digest()
        return base64.b32encode(digest).decode().lower()[:MAC_CHARS]

    def for_mail(self, number: int, key: str) -> str:
        """Stable for a stable key (the notification id): a retried send carries the same id."""
        digest = hashlib.sha256(key.encode("utf-8", "replace")).digest()
        signed = f"{int(number)}.{base64.b32encode(digest).decode().lower()[:8]}"
        return f"<ticket-{signed}.{self.mac(signed)}@{self.domain}>"

    def thread_root(self, number: int) -> str:
        """The virtual root every message of a ticket refers to, so mail clients group them."""
        return f"<ticket-{int(number)}.{self.mac(str(int(number)))}@{self.domain}>"

    def ticket_of(self, message_id: str) -> int | None:
        """The ticket of one of our genuine Message-IDs; None for a guessed or foreign one."""
        number = ticket_number_from_message_id(message_id, self.domain)
        if number is None:
            return None
        tail = _OUR_ID.match(message_id.strip())
        if tail is None:
            return None
        *key, mac = tail.group(2).lstrip(".").split(".")
        signed = ".".join([str(number), *key]) if key else str(number)
        return number if hmac.compare_digest(mac, self.mac(signed)) else None


def ticket_number_from_message_id(message_id: str, domain: str = MESSAGE_ID_DOMAIN) -> int | None:
    """The ticket number a Message-ID of our shape *claims* (unchecked: MessageIds.ticket_of)."""
    match = _OUR_ID.match(message_id.strip())
    if not match or match.group(3).lower() != domain.lower() or int(match.group(1)) <= 0:
        return None
    return int(match.group(1))


def is_our_message_id(message_id: str, domain: str = MESSAGE_ID_DOMAIN) -> bool:
    """Of our shape (a loop guard: genuine or not, such a message is never answered)."""
    match = _ANY_OF_OURS.match(message_id.strip())
    return bool(match and match.group(1).lower() == domain.lower())
