"""A ticket's whole lifecycle as one state object and pure transitions (POLICY.md), by flow.

No I/O and no clock: every transition takes `now`, so the Temporal workflow
(workflows/ticket.py) replays it exactly and tests call it directly. The workflow owns one
TicketState; its handlers and its deadline loop apply the transitions, which append log
events (numbered by `seq`) and notifications to the state; the workflow then projects the
events and delivers the notifications by activities.

Commands come in pairs: `check_<command>(state, command, now)` raises CommandRefused and
changes nothing; `<command>(state, command, now)` checks again, then applies the change and
returns the seq of the last event it logged.

The API renders a just-started ticket with `view(TicketState.initial(input))`.

One import for all of it: `from soporte.policy import ticket as ts`, then `ts.…`. The flows:
state (the state object, constants, predicates), sla_clock, journal (log, outbox, status),
intake (registration, assignment, client messages), support (engineer and client commands),
requirement (the committee), advisory (booking), incident, view, deadlines.
"""

from soporte.policy.ticket.advisory import *  # noqa: F403
from soporte.policy.ticket.deadlines import *  # noqa: F403
from soporte.policy.ticket.incident import *  # noqa: F403
from soporte.policy.ticket.intake import *  # noqa: F403
from soporte.policy.ticket.journal import *  # noqa: F403
from soporte.policy.ticket.requirement import *  # noqa: F403
from soporte.policy.ticket.sla_clock import *  # noqa: F403
from soporte.policy.ticket.state import *  # noqa: F403
from soporte.policy.ticket.support import *  # noqa: F403
from soporte.policy.ticket.view import *  # noqa: F403
