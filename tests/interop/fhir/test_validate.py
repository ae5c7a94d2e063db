"""validate_bundle: each kind of mistake is found, named, and kept free of PHI."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from carepipe.core.errors import FhirInvalid
from carepipe.interop.fhir import (
    BundleContext,
    PatientInput,
    PatientRef,
    build_adt_bundle,
    build_document_bundle,
    build_oru_bundle,
    build_scribe_bundle,
    codes,
    ensure_valid,
    validate_bundle,
)

Json = dict[str, Any]


def entry_of(bundle: Json, rtype: str, n: int = 0) -> Json:
    return [e for e in bundle["entry"] if e["resource"]["resourceType"] == rtype][n]


def vital(bundle: Json, loinc: str) -> Json:
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if (
            resource["resourceType"] == "Observation"
            and resource["code"]["coding"][0]["code"] == loinc
        ):
            return resource
    raise AssertionError(loinc)


@pytest.fixture
def scribe_bundle(ctx, scribe_input) -> Json:
    bundle = build_scribe_bundle(ctx, scribe_input)
    assert validate_bundle(bundle) == []
    return bundle


@pytest.fixture
def adt_bundle(ctx, patient_input, encounter_input) -> Json:
    bundle = build_adt_bundle(ctx, patient_input, encounter_input)
    assert validate_bundle(bundle) == []
    return bundle


@pytest.fixture
def oru_bundle(ctx, oru_report) -> Json:
    bundle = build_oru_bundle(ctx, PatientRef.by_id("501"), oru_report)
    assert validate_bundle(bundle) == []
    return bundle


def _set_gender(b: Json) -> None:
    entry_of(b, "Patient")["resource"]["gender"] = "M"


def _drop_request(b: Json) -> None:
    del entry_of(b, "Encounter")["request"]


def _bad_method(b: Json) -> None:
    entry_of(b, "Encounter")["request"]["method"] = "UPSERT"


def _post_to_wrong_url(b: Json) -> None:
    entry_of(b, "Encounter")["request"]["url"] = "Patient"


def _duplicate_full_url(b: Json) -> None:
    entry_of(b, "Encounter")["fullUrl"] = entry_of(b, "Patient")["fullUrl"]


def _bad_encounter_status(b: Json) -> None:
    entry_of(b, "Encounter")["resource"]["status"] = "done"


def _bad_encounter_class(b: Json) -> None:
    entry_of(b, "Encounter")["resource"]["class"]["code"] = "INPATIENT"


def _dangling_reference(b: Json) -> None:
    entry_of(b, "Encounter")["resource"]["subject"] = {
        "reference": "urn:uuid:00000000-0000-5000-8000-000000000000"
    }


def _malformed_reference(b: Json) -> None:
    entry_of(b, "Encounter")["resource"]["subject"] = {"reference": "patient 7781"}


def _if_none_exist_not_on_resource(b: Json) -> None:
    entry_of(b, "Patient")["request"]["ifNoneExist"] = "identifier=urn:x:mrn|OTHER"


def _duplicate_conditional(b: Json) -> None:
    second = copy.deepcopy(entry_of(b, "Patient"))
    second["fullUrl"] = "urn:uuid:11111111-1111-5111-8111-111111111111"
    b["entry"].append(second)


def _batch_type(b: Json) -> None:
    b["type"] = "batch"


def _bad_abha(b: Json) -> None:
    for ident in entry_of(b, "Patient")["resource"]["identifier"]:
        if ident["system"] == codes.ABHA_SYSTEM:
            ident["value"] = "1234"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_set_gender, "gender is not one of male, female, other, unknown"),
        (_drop_request, "Encounter: no request"),
        (_bad_method, "request.method 'UPSERT' is not a valid HTTP verb"),
        (_post_to_wrong_url, "POST url must be the resource type Encounter"),
        (_duplicate_full_url, "is not unique"),
        (_bad_encounter_status, "status 'done' is not a valid Encounter.status"),
        (_bad_encounter_class, "class must be a v3 ActCode encounter class"),
        (_dangling_reference, "does not resolve to an entry"),
        (_malformed_reference, "reference does not resolve"),
        (_if_none_exist_not_on_resource, "is not on the resource"),
        (_duplicate_conditional, "duplicates entry[0]"),
        (_batch_type, "Bundle.type must be 'transaction'"),
        (_bad_abha, "ABHA number is not 14 digits"),
    ],
)
def test_adt_mistakes_are_found(
    adt_bundle: Json, mutate: Callable[[Json], None], expected: str
) -> None:
    mutate(adt_bundle)
    problems = validate_bundle(adt_bundle)
    assert any(expected in p for p in problems), problems


def test_problems_carry_no_phi(adt_bundle: Json) -> None:
    patient = entry_of(adt_bundle, "Patient")["resource"]
    patient["gender"] = "Sharma-secret"
    patient["birthDate"] = "Ravi"
    entry_of(adt_bundle, "Patient")["request"]["ifNoneExist"] = "identifier=urn:x|MRN-SECRET"
    problems = validate_bundle(adt_bundle)
    assert len(problems) >= 3
    text = " ".join(problems)
    for secret in ("Sharma", "Ravi", "MRN-SECRET", "MRN-7781"):
        assert secret not in text


def test_vital_with_unknown_loinc(scribe_bundle: Json) -> None:
    hr = vital(scribe_bundle, "8867-4")
    hr["code"]["coding"][0]["code"] = "8889-8"  # well-formed, not in our table
    problems = validate_bundle(scribe_bundle)
    assert any("LOINC 8889-8 is not in our table" in p for p in problems), problems
    assert any("needs a vital-sign LOINC code" in p for p in problems), problems


def test_loinc_with_a_unit_not_allowed_for_it(scribe_bundle: Json) -> None:
    vital(scribe_bundle, "8867-4")["valueQuantity"].update(unit="kg", code="kg")
    problems = validate_bundle(scribe_bundle)
    assert any("unit 'kg' is not allowed with LOINC 8867-4" in p for p in problems), problems


def test_bp_component_with_wrong_unit(scribe_bundle: Json) -> None:
    vital(scribe_bundle, "85354-9")["component"][1]["valueQuantity"].update(code="%")
    problems = validate_bundle(scribe_bundle)
    assert any(
        "component[1].valueQuantity: unit '%' is not allowed with LOINC 8462-4" in p
        for p in problems
    )


def test_vital_without_ucum_unit(scribe_bundle: Json) -> None:
    vital(scribe_bundle, "29463-7")["valueQuantity"] = {"value": 70, "unit": "kilos"}
    problems = validate_bundle(scribe_bundle)
    assert any("LOINC 29463-7 needs a UCUM unit" in p for p in problems), problems


def test_unknown_ucum_code(scribe_bundle: Json) -> None:
    vital(scribe_bundle, "29463-7")["valueQuantity"].update(code="kilogram")
    problems = validate_bundle(scribe_bundle)
    assert any("unit 'kilogram' is not a UCUM unit we allow" in p for p in problems)


def test_bad_status_of_observation_and_composition(scribe_bundle: Json) -> None:
    vital(scribe_bundle, "8867-4")["status"] = "draft"
    entry_of(scribe_bundle, "Composition")["resource"]["status"] = "done"
    problems = validate_bundle(scribe_bundle)
    assert any("status 'draft' is not a valid Observation.status" in p for p in problems)
    assert any("status 'done' is not a valid Composition.status" in p for p in problems)


def test_bad_condition_and_allergy_codes(scribe_bundle: Json) -> None:
    entry_of(scribe_bundle, "Condition")["resource"]["clinicalStatus"]["coding"][0]["code"] = (
        "ongoing"
    )
    entry_of(scribe_bundle, "AllergyIntolerance")["resource"]["criticality"] = "severe"
    problems = validate_bundle(scribe_bundle)
    assert any("clinicalStatus 'ongoing' is not in its value set" in p for p in problems)
    assert any("criticality 'severe' is not valid" in p for p in problems)


def test_malformed_icd10_and_snomed(scribe_bundle: Json) -> None:
    entry_of(scribe_bundle, "Condition")["resource"]["code"]["coding"][0]["code"] = "pharyngitis"
    med = entry_of(scribe_bundle, "MedicationStatement")["resource"]
    med["dosage"][0]["route"]["coding"][0]["code"] = "26643007"
    problems = validate_bundle(scribe_bundle)
    assert any("not a well-formed ICD-10 code" in p for p in problems)
    assert any("'26643007' is not a well-formed SNOMED CT id" in p for p in problems)


def test_bad_narrative_and_document_type(scribe_bundle: Json) -> None:
    composition = entry_of(scribe_bundle, "Composition")["resource"]
    composition["section"][0]["text"]["div"] = "<div>unclosed <p></div>"
    composition["type"]["coding"][0]["code"] = "8867-4"
    problems = validate_bundle(scribe_bundle)
    assert any("narrative is not well-formed xhtml" in p for p in problems)
    assert any("type needs a LOINC document code" in p for p in problems)


def test_structural_error_from_fhir_resources(scribe_bundle: Json) -> None:
    heart_rate, temperature = vital(scribe_bundle, "8867-4"), vital(scribe_bundle, "8310-5")
    del heart_rate["code"]
    temperature["valueQuantity"]["value"] = "hot"
    problems = validate_bundle(scribe_bundle)
    assert any(p.endswith("code: Field required") for p in problems), problems
    assert any("valueQuantity.value" in p for p in problems), problems


def test_attachment_hash_and_base64(ctx, document_input) -> None:
    bundle = build_document_bundle(ctx, PatientRef.by_id("1"), document_input)
    content = entry_of(bundle, "DocumentReference")["resource"]["content"]
    content[0]["attachment"]["hash"] = content[1]["attachment"]["hash"]
    problems = validate_bundle(bundle)
    assert any("attachment hash does not match" in p for p in problems)


def test_lab_loinc_outside_our_table_passes_but_a_typo_does_not(oru_bundle: Json) -> None:
    obs = entry_of(oru_bundle, "Observation")["resource"]
    obs["code"]["coding"][0].update(code="2339-0")  # in the table: units are checked
    assert any(
        "unit 'g/dL' is not allowed with LOINC 2339-0" in p for p in validate_bundle(oru_bundle)
    )
    obs["valueQuantity"].update(unit="mg/dL", code="mg/dL")
    assert validate_bundle(oru_bundle) == []
    obs["code"]["coding"][0].update(code="20570-8")  # well-formed, not in our table
    obs["valueQuantity"] = {"value": 40, "unit": "%", "system": codes.UCUM, "code": "%"}
    assert validate_bundle(oru_bundle) == []
    obs["code"]["coding"][0].update(code="20570-9")  # check digit wrong
    problems = validate_bundle(oru_bundle)
    assert any("'20570-9' is not a well-formed LOINC code" in p for p in problems)


def test_lab_interpretation_value_set(oru_bundle: Json) -> None:
    obs = entry_of(oru_bundle, "Observation")["resource"]
    obs["interpretation"][0]["coding"][0]["code"] = "LOW"
    problems = validate_bundle(oru_bundle)
    assert any("interpretation 'LOW' is not in our value set" in p for p in problems)


def test_known_server_ids_make_literal_references_strict(oru_bundle: Json) -> None:
    assert validate_bundle(oru_bundle, known_server_ids={"Patient/501"}) == []
    problems = validate_bundle(oru_bundle, known_server_ids={"Patient/999"})
    assert any("reference Patient/501 is not a known server id" in p for p in problems)


def test_not_a_bundle_or_empty() -> None:
    assert validate_bundle({"resourceType": "Patient"}) == ["not a FHIR Bundle"]
    assert "Bundle has no entries" in validate_bundle(
        {"resourceType": "Bundle", "type": "transaction"}
    )


def test_ensure_valid_raises_permanent_error_with_the_problems(adt_bundle: Json) -> None:
    ensure_valid(adt_bundle)  # valid: no exception
    _set_gender(adt_bundle)
    _bad_encounter_status(adt_bundle)
    with pytest.raises(FhirInvalid) as caught:
        ensure_valid(adt_bundle)
    assert caught.value.retryable is False
    assert caught.value.code == "fhir_invalid"
    assert len(caught.value.details) == 2
    assert "2 problem(s)" in caught.value.message


def test_unknown_resource_type() -> None:
    bundle = build_adt_bundle(BundleContext("acme", "j"), PatientInput(mrn="1"))
    bundle["entry"][0]["resource"]["resourceType"] = "Patiant"
    problems = validate_bundle(bundle)
    assert any("unknown resource type" in p for p in problems)
