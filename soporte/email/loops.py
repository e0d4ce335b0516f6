"""No mail loops (RFC 3834), one rule: which inbound mail must never be answered nor act as
a client (`loop_reason`), and whether an automatic reply may go (`should_auto_reply`).
The inbound headers are read by the parser (`ParsedMail.loop_risk`); the headers our own
mail carries so that other systems do not answer it are
`soporte.email.templates.compose.OUTBOUND_LOOP_HEADERS`. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from soporte.email.parse.message import ParsedMail
from soporte.email.templates.message_ids import MESSAGE_ID_DOMAIN, is_our_message_id

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


def loop_reason(
    parsed: ParsedMail,
    our_addresses: Iterable[str],
    our_domains: Iterable[str] = (MESSAGE_ID_DOMAIN,),
) -> str | None:
    """Why this message must never be answered nor act as a client (None: it may)."""
    if parsed.loop_risk:
        return parsed.loop_risk
    if parsed.from_address.strip().lower() in {a.strip().lower() for a in our_addresses}:
        return "sent from one of our own addresses"
    if not parsed.message_id_synthesized and any(
        is_our_message_id(parsed.message_id, domain) for domain in our_domains
    ):
        return "one of our own messages came back"
    return None


def should_auto_reply(
    parsed: ParsedMail,
    our_addresses: Iterable[str],
    recent_replies_to_sender: int,
    cap_per_hour: int = DEFAULT_CAP_PER_HOUR,
    our_domains: Iterable[str] = (MESSAGE_ID_DOMAIN,),
) -> tuple[bool, str]:
    """(True, "ok") when an automatic message may answer `parsed`; else (False, why).

    `recent_replies_to_sender` counts the automatic messages sent to this sender in the
    last hour; the caller keeps that count.
    """
    if (why := loop_reason(parsed, our_addresses, our_domains)) is not None:
        return False, why
    sender = parsed.from_address.strip().lower()
    if "@" not in sender:
        return False, "no sender address"
    if sender.split("@", 1)[0] in _NO_REPLY_LOCAL_PARTS:
        return False, "sender does not take replies"
    if recent_replies_to_sender >= cap_per_hour:
        return False, f"cap of {cap_per_hour} automatic replies per sender per hour reached"
    return True, "ok"
