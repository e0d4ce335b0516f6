"""A ticket's whole lifecycle as one state object and pure transitions, split by flow.

`workflows/ticket.py` reads it as `ts.…`: every public name of the flows is here.
"""

from soporte.policy.ticket.state import *  # noqa: F403
