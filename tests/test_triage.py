"""The system's priority suggestion and the missing-information list (soporte.policy.triage)."""

import pytest

from soporte.email.templates import MISSING_INFO_LABELS as MISSING_LABELS
from soporte.policy import Channel, Kind, Priority
from soporte.policy.triage import fold, missing_info, suggest_priority


@pytest.mark.parametrize(
    "text",
    [
        "Caída de la página: nadie puede entrar",
        "CAIDA DE LA PAGINA desde las 8",
        "La página web está caída",
        "Falla masiva emitiendo documentos electrónicos",
        "Le pasa a todos los clientes",
        "El portal esta caido",
    ],
)
def test_p1_examples_of_the_policy(text: str) -> None:
    assert suggest_priority(Kind.SUPPORT, "otros", text) is Priority.P1


@pytest.mark.parametrize(
    "text",
    [
        "No puedo facturar",
        "Error en la facturación de hoy",
        "Los datos de Amazonas no cuadran con la DIAN",
        "Error de credenciales al ingresar",
        "No genera el PDF de la factura",
        "El documento electrónico no se guarda",
        "No puedo guardar la resolución de numeración",
    ],
)
def test_p2_examples_of_the_policy(text: str) -> None:
    assert suggest_priority(Kind.SUPPORT, "otros", text) is Priority.P2


def test_the_category_counts_like_the_text() -> None:
    assert suggest_priority(Kind.SUPPORT, "Facturación electrónica", "no funciona") is Priority.P2


@pytest.mark.parametrize(
    "text",
    [
        "El formulario de terceros muestra un error al guardar",
        # Words that merely contain a P2 word do not count: "mediano" holds "dian".
        "Un cliente mediano reporta lentitud en el informe de cartera",
        "",
    ],
)
def test_anything_else_is_p3(text: str) -> None:
    assert suggest_priority(Kind.SUPPORT, "formularios", text) is Priority.P3


def test_p1_wins_over_p2_words() -> None:
    text = "Falla masiva: ningún cliente puede facturar"
    assert suggest_priority(Kind.SUPPORT, "facturación", text) is Priority.P1


def test_requirements_and_advisories_keep_their_own_priority() -> None:
    text = "caída de la página y factura"
    assert suggest_priority(Kind.REQUIREMENT, "x", text) is Priority.REQUIREMENT
    assert suggest_priority(Kind.ADVISORY, "x", text) is Priority.ADVISORY


def test_fold_removes_accents_and_case() -> None:
    assert fold("Caída de la PÁGINA, Contraseña") == "caida de la pagina, contrasena"


COMPLETE = {
    "nit": "900123456-7",
    "reporter_email": "a@cliente.co",
    "category": "facturación",
    "description": "no factura",
    "expected_result": "que facture",
    "business_impact": "no podemos vender",
}


def test_a_complete_request_misses_nothing() -> None:
    assert missing_info(Channel.EMAIL, COMPLETE) == []
    assert missing_info(Channel.WEB, COMPLETE) == []


def test_business_impact_is_required_for_email_only() -> None:
    fields = {**COMPLETE, "business_impact": None}
    assert missing_info(Channel.EMAIL, fields) == ["business_impact"]
    assert missing_info(Channel.WEB, fields) == []
    assert missing_info(Channel.PHONE, fields) == []


def test_blank_values_count_as_missing_and_order_is_stable() -> None:
    fields = {**COMPLETE, "expected_result": "  ", "description": "", "business_impact": ""}
    assert missing_info(Channel.EMAIL, fields) == [
        "description",
        "expected_result",
        "business_impact",
    ]


def test_optional_fields_are_never_asked_for() -> None:
    fields: dict[str, object] = {
        **COMPLETE,
        "legal_number": None,
        "notify": [],
        "suggested_priority": None,
    }
    assert missing_info(Channel.EMAIL, fields) == []


def test_every_missing_field_has_a_spanish_label_in_the_templates() -> None:
    everything_missing = missing_info(Channel.EMAIL, {})
    assert everything_missing == [
        "category",
        "description",
        "expected_result",
        "business_impact",
    ]
    assert all(name in MISSING_LABELS for name in everything_missing)


def test_the_priority_suggestion_has_one_home_every_door_uses() -> None:
    import soporte.email.parse as parse
    import soporte.email.parse.message as parse_message
    import soporte.services.intake as intake
    from soporte.policy import triage

    assert parse.priority_from_text is triage.priority_from_text
    assert parse_message.priority_from_text is triage.priority_from_text
    assert intake.starting_priority is triage.starting_priority
    assert intake.suggest_priority is triage.suggest_priority


def test_the_starting_priority_takes_the_clients_suggestion_only_when_it_fits() -> None:
    from soporte.policy.triage import starting_priority

    assert starting_priority(Kind.SUPPORT, Priority.P3, Priority.P2).priority is Priority.P3
    assert starting_priority(Kind.SUPPORT, None, Priority.P2).priority is Priority.P2
    assert (
        starting_priority(Kind.SUPPORT, Priority.REQUIREMENT, Priority.P1).priority is Priority.P1
    )
    assert (
        starting_priority(Kind.REQUIREMENT, Priority.P1, Priority.P1).priority
        is Priority.REQUIREMENT
    )
    assert starting_priority(Kind.ADVISORY, None, Priority.P2).priority is Priority.ADVISORY
