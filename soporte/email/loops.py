"""No mail loops: whether an inbound message may get an automatic reply (RFC 3834). Pure."""

from __future__ import annotations

from collections.abc import Iterable

from soporte.email.parse import ParsedMail
from soporte.email.templates import is_our_message_id

DEFAULT_CAP_PER_HOUR = 5
# Replies to these never reach a person, and some answer back automatically.
_NO_REPLY_LOCAL_PARTS = {
    "mailer-daemon",
    "postmaster",
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
}


def should_auto_reply(
    parsed: ParsedMail,
    our_addresses: Iterable[str],
    recent_replies_to_sender: int,
    cap_per_hour: int = DEFAULT_CAP_PER_HOUR,
) -> tuple[bool, str]:
    """(True, "ok") when an automatic message may answer `parsed`; else (False, why).

    `recent_replies_to_sender` counts the automatic messages sent to this sender in the
    last hour; the caller keeps that count.
    """
    if parsed.loop_risk:
        return False, parsed.loop_risk
    sender = parsed.from_address.strip().lower()
    if "@" not in sender:
        return False, "no sender address"
    if sender in {address.strip().lower() for address in our_addresses}:
        return False, "sent from one of our own addresses"
    if is_our_message_id(parsed.message_id):
        return False, "one of our own messages came back"
    if sender.split("@", 1)[0] in _NO_REPLY_LOCAL_PARTS:
        return False, "sender does not take replies"
    if recent_replies_to_sender >= cap_per_hour:
        return False, f"cap of {cap_per_hour} automatic replies per sender per hour reached"
    return True, "ok"
