"""Registering the ticket search attributes (soporte.policy.visibility) on a namespace.

Idempotent: every worker start checks them and adds what is missing, on the embedded dev
server and on a cluster whose operator API allows it. A worker must not poll without them
(a ticket's upsert of an unknown attribute fails its workflow task), so a failure stops it
with a message saying how to register them by hand.
"""

from __future__ import annotations

import logging

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from soporte.policy.visibility import SEARCH_ATTRIBUTES, AttributeType

log = logging.getLogger("soporte.worker")

INDEXED_TYPES = {
    AttributeType.INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
    AttributeType.KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
}
WANTED: dict[str, IndexedValueType.ValueType] = {
    name: INDEXED_TYPES[kind] for name, kind in SEARCH_ATTRIBUTES.items()
}


class SearchAttributesError(RuntimeError):
    pass


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` for `temporal server start-dev`."""
    return [f"{name}={kind.value}" for name, kind in SEARCH_ATTRIBUTES.items()]


def manual_commands(namespace: str) -> str:
    return "; ".join(
        f"temporal operator search-attribute create --namespace {namespace} "
        f"--name {name} --type {kind.value}"
        for name, kind in SEARCH_ATTRIBUTES.items()
    )


async def _known(client: Client, namespace: str) -> dict[str, int] | None:
    """The namespace's attributes and their types; None where the server cannot list them
    (the time-skipping test server only adds)."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
    except RPCError as error:
        if error.status == RPCStatusCode.UNIMPLEMENTED:
            return None
        raise
    return {**dict(listed.system_attributes), **dict(listed.custom_attributes)}


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Add the ticket search attributes the namespace lacks; returns the names added."""
    try:
        known = await _known(client, namespace)
        if known is not None:
            clash = [n for n, kind in WANTED.items() if n in known and known[n] != kind]
            if clash:
                raise SearchAttributesError(
                    f"search attributes {', '.join(clash)} exist with another type on "
                    f"namespace {namespace}"
                )
        missing = {n: kind for n, kind in WANTED.items() if known is None or n not in known}
        if missing:
            try:
                await client.operator_service.add_search_attributes(
                    AddSearchAttributesRequest(search_attributes=missing, namespace=namespace)
                )
            except RPCError as error:
                if error.status != RPCStatusCode.ALREADY_EXISTS or known is not None:
                    raise
            log.info("search attributes registered: %s", ", ".join(sorted(missing)))
        return sorted(missing)
    except RPCError as error:
        raise SearchAttributesError(
            f"could not register the ticket search attributes on namespace {namespace} "
            f"({error.message}); register them by hand: {manual_commands(namespace)}"
        ) from None
