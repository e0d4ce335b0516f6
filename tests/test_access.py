"""Who may do what: one module (soporte.services.access), roles as data, one check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from soporte.policy import Role
from soporte.services import access
from soporte.services.access import ALLOWED, STAFF_ROLES, Action, check, may, owns
from soporte.services.auth import Principal
from soporte.services.errors import Forbidden

ROOT = Path(__file__).resolve().parents[1]


def person(*roles: Role, nit: str | None = None) -> Principal:
    return Principal(email="x@y.co", roles=frozenset(roles), nit=nit)


def test_every_action_has_its_roles() -> None:
    assert set(ALLOWED) == set(Action)
    assert all(ALLOWED[action] for action in Action)


def test_the_check_names_who_may() -> None:
    with pytest.raises(Forbidden, match=r"^only contact may rate the service$"):
        check(person(Role.ENGINEER), Action.RATE)
    with pytest.raises(Forbidden, match=r"^only engineer, supervisor may resolve tickets$"):
        check(person(Role.CONTACT, nit="1"), Action.RESOLVE)
    check(person(Role.SUPERVISOR), Action.RESOLVE)


@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_every_staff_role_reads_but_only_workers_act(role: Role) -> None:
    staff = person(role)
    assert may(staff, Action.READ_TICKETS) and owns(staff, "900123456-8")
    assert may(staff, Action.RESOLVE) is (role in (Role.ENGINEER, Role.SUPERVISOR))


def test_a_contact_owns_only_its_clients_tickets() -> None:
    contact = person(Role.CONTACT, nit="900123456-8")
    assert owns(contact, "900123456-8") and not owns(contact, "800197268-4")
    assert not owns(person(), "900123456-8")


def test_no_other_module_writes_a_role_set() -> None:
    # Two or more roles side by side outside the access module: a second home of a rule.
    pair = re.compile(r"Role\.[A-Z]+,\s*Role\.[A-Z]+")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("soporte", "api")
        for path in (ROOT / folder).rglob("*.py")
        if path != Path(access.__file__) and pair.search(path.read_text())
    ]
    assert offenders == []
