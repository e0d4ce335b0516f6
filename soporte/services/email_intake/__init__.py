"""The email channel's intake: one raw RFC 5322 message in, exactly one effect out.

Fed by the SMTP listener (soporte.inbound) and by `POST /api/v1/inbound-email` alike.
`EmailIntake.receive(raw, envelope_from)` decides, in this order:

1. **Loops**: a message with a loop risk (Auto-Submitted, bulk/list, bounces, a null
   return path, our own addresses or Message-IDs) is never answered and never acts as a
   client: it is kept in `refused_mail`, outcome `ignored`.
2. **Who sent it**: the From address must be an active contact of an active client; else
   the message is kept in `refused_mail` (outcome `refused`) and the sender gets a polite
   Spanish auto-reply saying why (at most `auto_reply_cap` per sender per hour, never to
   a loop risk: `soporte.email.loops.should_auto_reply`).
3. **Threading**: the ticket number in the subject, then In-Reply-To/References (our own
   Message-IDs, the `outbound_mail` table, mail we received for a ticket). A ticket of the
   sender's client gets the message as the client's reply (signal `client_message`, id =
   the email's Message-ID, so the workflow applies it once). A ticket of another client
   is refused: the sender does not act as that client.
4. Otherwise a **new ticket** through the intake service (channel email, reporter = the
   sender, Message-ID as idempotency key, so a retry gets the same number).

Exactly once: a Message-ID already in `inbound_mail` answers its recorded outcome and does
nothing. That row is written last, once the effect is durable; every step before it is
idempotent on its own (intake key, workflow signal dedupe, unique refused/auto-reply rows),
so a failure half way (Temporal or the database down) raises, the SMTP sender hears 451,
and its retry completes the work without doubling anything.

The package: intake (EmailIntake: receive, decide, add a reply, open a ticket, evidence),
threads, refusals (refused mail, automatic replies), request (the ticket a mail asks for),
results (IntakeResult, keys, limits). Sending goes through soporte.email.transport.
"""

from soporte.services.email_intake.intake import EmailIntake
from soporte.services.email_intake.request import ticket_request
from soporte.services.email_intake.results import IntakeResult, clean, mail_key

__all__ = ["EmailIntake", "IntakeResult", "clean", "mail_key", "ticket_request"]
