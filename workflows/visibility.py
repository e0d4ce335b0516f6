"""The ticket search attributes (soporte.policy.visibility) as the SDK's typed keys."""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from soporte.policy import Priority, Status
from soporte.policy.tickets import TicketView
from soporte.policy.visibility import (
    SEARCH_ATTRIBUTES,
    AttributeType,
    search_attribute_values,
    state_attribute_values,
)


def _key(name: str, kind: AttributeType) -> SearchAttributeKey[Any]:
    if kind is AttributeType.INT:
        return SearchAttributeKey.for_int(name)
    return SearchAttributeKey.for_keyword(name)


KEYS: dict[str, SearchAttributeKey[Any]] = {
    name: _key(name, kind) for name, kind in SEARCH_ATTRIBUTES.items()
}


def search_attribute_updates(view: TicketView) -> list[SearchAttributeUpdate[Any]]:
    values = search_attribute_values(view)
    return [KEYS[name].value_set(value) for name, value in values.items()]


def state_attribute_updates(status: Status, priority: Priority) -> list[SearchAttributeUpdate[Any]]:
    """Only what a ticket's move changes (patch memo-once)."""
    values = state_attribute_values(status, priority)
    return [KEYS[name].value_set(value) for name, value in values.items()]
