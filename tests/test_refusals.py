"""Structured refusals (field, code, message): decided once by the rule, mapped by each
door without reading the message."""

from __future__ import annotations

from datetime import date

from temporalio.exceptions import ApplicationError

from soporte.policy.committee import AgendaItem, Decision, DecisionKind, decision_problem
from soporte.policy.refusals import Refusal, RefusalCode
from soporte.services.errors import Conflict, InvalidInput, refusal_error, refused

TODAY = date(2026, 12, 2)


class UpdateFailed(Exception):
    """Shaped like temporalio's WorkflowUpdateFailedError: the refusal is its cause."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__("update failed")
        self.cause = cause


def agenda(number: int) -> list[AgendaItem]:
    item = {
        "number": number,
        "nit": "900123456-8",
        "subject": "x",
        "client_name": "Cliente",
        "filed_at": "2026-11-30T14:00:00Z",
    }
    return [AgendaItem.model_validate(item)]


def test_a_decision_is_refused_with_its_field_and_code() -> None:
    accept = Decision(number=7, decision=DecisionKind.ACCEPT, decided_by="c@btw.com.co")
    problem = decision_problem(accept, agenda(7), [], TODAY)
    assert problem == Refusal(
        RefusalCode.REQUIRED, "required to accept a requirement", "estimated_delivery"
    )
    late = accept.model_copy(update={"estimated_delivery": date(2026, 12, 1)})
    problem = decision_problem(late, agenda(7), [], TODAY)
    assert problem is not None
    assert (problem.field, problem.code) == ("estimated_delivery", RefusalCode.IN_THE_PAST)
    problem = decision_problem(accept, agenda(8), [], TODAY)
    assert problem is not None and (problem.field, problem.code) == (None, "not_on_agenda")


def test_each_door_maps_the_structure_not_the_words() -> None:
    # A message that starts like a field ("reason: ...") but carries no field is a 409.
    plain = UpdateFailed(ApplicationError("reason: looks like a field", type="InvalidState"))
    assert isinstance(refusal_error(plain), Conflict)
    typed = Refusal(RefusalCode.REQUIRED, "required to reject a requirement", "reason")
    error = refusal_error(UpdateFailed(ApplicationError(str(typed), typed.details())))
    assert isinstance(error, InvalidInput)
    assert error.message == "reason: required to reject a requirement"
    taken = Refusal(RefusalCode.TAKEN, "2026-12-03T09:00-05:00 is already taken", "start")
    assert isinstance(refused(taken), Conflict)
    assert refused(taken).message == "start: 2026-12-03T09:00-05:00 is already taken"


def test_a_refusal_survives_the_trip_through_the_details() -> None:
    refusal = Refusal(RefusalCode.BEYOND_HORIZON, "x is beyond the 14 days offered", "start")
    assert Refusal.from_details(refusal.details()) == refusal
    assert Refusal.from_details({"code": "no such code"}) is None
    assert Refusal.from_details("start: x") is None
