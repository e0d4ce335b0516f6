"""Query strings: a parameter a route does not take is a 422 naming it, never ignored."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute


def _known(route: APIRoute) -> frozenset[str]:
    """The query parameters of the route and of every dependency it has."""
    names: set[str] = set()
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(param.alias for param in dependant.query_params)
        pending.extend(dependant.dependencies)
    return frozenset(names)


async def reject_unknown_query(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _known(route)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "type": "unknown_parameter",
                    "msg": f"unknown query parameter; this path takes: {allowed}",
                }
                for name in unknown
            ]
        )


KnownQueryOnly = Depends(reject_unknown_query)
