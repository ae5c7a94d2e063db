"""Element builders shared by the pipelines' bundles.

CodeableConcepts, Quantities, Dosage, reference ranges, and the Patient and
Encounter entries (or references) every bundle starts from.
"""

from __future__ import annotations

import re
from typing import Any

from carepipe.core.errors import FhirInvalid
from carepipe.interop.fhir import codes
from carepipe.interop.fhir.bundle import (
    TransactionBuilder,
    conditional_reference,
    fhir_date,
    fhir_datetime,
    server_reference,
    tenant_slug,
)
from carepipe.interop.fhir.inputs import (
    CodedValue,
    DosageInput,
    EncounterInput,
    IdentifierInput,
    PatientInput,
    PatientRef,
    PractitionerRef,
    TimingInput,
)

Json = dict[str, Any]

_NUMBER = re.compile(r"^\s*(<=|>=|<|>)?\s*([-+]?\d+(?:\.\d+)?)\s*$")
_RANGE = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*(?:-|\u2013|to)\s*([-+]?\d+(?:\.\d+)?)\s*$")


def code_system(tenant: str, system: str | None) -> str:
    """A FHIR code system URI for a URI or an HL7 v2 coding-system name."""
    if system is None or not system.strip():
        return f"urn:carepipe:{tenant_slug(tenant)}:code:local"
    name = system.strip()
    if ":" in name:
        return name
    mapped = codes.V2_CODING_SYSTEMS.get(name.upper())
    if mapped is not None:
        return mapped
    return f"urn:carepipe:{tenant_slug(tenant)}:code:{tenant_slug(name.lower())}"


def coding(tenant: str, value: CodedValue) -> Json | None:
    """One Coding, or None when the value has no code."""
    # FHIR codes are tokens: no leading/trailing space, single inner spaces, no
    # control characters (a sender's code may carry CR/LF or tabs).
    code = " ".join(value.code.split()) if value.code else ""
    if not code:
        return None
    system = code_system(tenant, value.system)
    out: Json = {"system": system, "code": code}
    display = value.display
    if system == codes.LOINC and value.code in codes.LOINC_TABLE and not display:
        display = codes.LOINC_TABLE[value.code].display
    if display:
        out["display"] = display
    return out


def concept(tenant: str, value: CodedValue | None, text: str | None = None) -> Json:
    """A CodeableConcept from a coded value (and its alternate), with text."""
    out: Json = {}
    if value is not None:
        codings = [c for c in (coding(tenant, value),) if c]
        if value.alternate is not None:
            alt = coding(tenant, value.alternate)
            if alt and alt not in codings:
                codings.append(alt)
        if codings:
            out["coding"] = codings
        text = text or value.display or (value.alternate.display if value.alternate else None)
    if text:
        out["text"] = text
    if not out:
        raise FhirInvalid("a coded element has neither a code nor a text")
    return out


def loinc_concept(code: str, text: str | None = None) -> Json:
    """A CodeableConcept with one LOINC coding (display from our table)."""
    entry = codes.LOINC_TABLE.get(code)
    c: Json = {"system": codes.LOINC, "code": code}
    if entry is not None:
        c["display"] = entry.display
    out: Json = {"coding": [c]}
    if text or entry is not None:
        out["text"] = text or (entry.display if entry else None)
    return out


def simple_concept(system: str, code: str, display: str | None = None) -> Json:
    c: Json = {"system": system, "code": code}
    if display:
        c["display"] = display
    return {"coding": [c]}


def parse_number(value: str | float | int | None) -> tuple[float, str | None] | None:
    """``(number, comparator)`` for ``12.5``, ``"12.5"``, ``"<5"``; None when not numeric."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value), None
    match = _NUMBER.match(value)
    if match is None:
        return None
    return float(match.group(2)), match.group(1)


def _number(value: float) -> int | float:
    # 120.0 -> 120 so the JSON reads like the source; fractional values unchanged.
    return int(value) if float(value).is_integer() else value


def quantity(value: float, unit: str | None, comparator: str | None = None) -> Json:
    """A Quantity; system UCUM and ``code`` when the unit is (or maps to) UCUM."""
    out: Json = {"value": _number(value)}
    if comparator:
        out["comparator"] = comparator
    ucum = codes.to_ucum(unit)
    if ucum is not None:
        out.update({"unit": unit.strip() if unit else ucum, "system": codes.UCUM, "code": ucum})
    elif unit and unit.strip():
        out["unit"] = unit.strip()
    return out


def reference_range(text: str | None, unit: str | None) -> list[Json] | None:
    """An Observation.referenceRange from ``3.5-5.0``, ``<5``, ``>10`` or free text."""
    if not text or not text.strip():
        return None
    match = _RANGE.match(text)
    if match is not None:
        low, high = float(match.group(1)), float(match.group(2))
        return [{"low": quantity(low, unit), "high": quantity(high, unit), "text": text.strip()}]
    single = _NUMBER.match(text)
    if single is not None and single.group(1):
        bound = quantity(float(single.group(2)), unit)
        key = "high" if single.group(1).startswith("<") else "low"
        return [{key: bound, "text": text.strip()}]
    return [{"text": text.strip()}]


def interpretation(flags: list[str] | tuple[str, ...]) -> list[Json] | None:
    """Observation.interpretation from HL7 abnormal flags (H, L, N, A, HH, LL, ...)."""
    out = []
    for flag in flags:
        code = flag.strip().upper()
        if not code:
            continue
        if code in codes.INTERPRETATION_CODES:
            out.append(simple_concept(codes.INTERPRETATION, code, codes.INTERPRETATION_CODES[code]))
        else:
            out.append({"text": flag.strip()})
    return out or None


# --- Dosage --------------------------------------------------------------------------------

_ABBREVIATIONS: dict[str, tuple[int, float, str, tuple[str, ...]]] = {
    "od": (1, 1, "d", ()),
    "qd": (1, 1, "d", ()),
    "once daily": (1, 1, "d", ()),
    "daily": (1, 1, "d", ()),
    "bd": (2, 1, "d", ()),
    "bid": (2, 1, "d", ()),
    "twice daily": (2, 1, "d", ()),
    "tds": (3, 1, "d", ()),
    "tid": (3, 1, "d", ()),
    "thrice daily": (3, 1, "d", ()),
    "qid": (4, 1, "d", ()),
    "qds": (4, 1, "d", ()),
    "hs": (1, 1, "d", ("HS",)),
    "at bedtime": (1, 1, "d", ("HS",)),
    "weekly": (1, 1, "wk", ()),
    "once a week": (1, 1, "wk", ()),
    "monthly": (1, 1, "mo", ()),
}
_EVERY_N_HOURS = re.compile(r"^q\s*(\d+)\s*h$|^every\s+(\d+)\s+hours?$")


def timing_from_text(text: str) -> TimingInput | None:
    """A TimingInput from a frequency such as ``BD``, ``TDS``, ``q8h``, ``HS``; else None."""
    key = text.strip().lower().rstrip(".")
    if key in _ABBREVIATIONS:
        freq, period, unit, when = _ABBREVIATIONS[key]
        return TimingInput(frequency=freq, period=period, period_unit=unit, when=when)  # type: ignore[arg-type]
    match = _EVERY_N_HOURS.match(key)
    if match is not None:
        hours = int(match.group(1) or match.group(2))
        return TimingInput(frequency=1, period=hours, period_unit="h")
    return None


def timing(value: TimingInput) -> Json:
    repeat: Json = {
        "frequency": value.frequency,
        "period": _number(value.period),
        "periodUnit": value.period_unit,
    }
    if value.count is not None:
        repeat["count"] = value.count
    if value.when:
        repeat["when"] = list(value.when)
    if value.duration is not None:
        unit = value.duration_unit or "d"
        repeat["boundsDuration"] = {
            "value": _number(value.duration),
            "unit": unit,
            "system": codes.UCUM,
            "code": unit,
        }
    return {"repeat": repeat}


def route(text: str) -> Json:
    known = codes.ROUTES.get(text.strip().lower())
    if known is None:
        return {"text": text.strip()}
    out = simple_concept(codes.SNOMED, known[0], known[1])
    out["text"] = text.strip()
    return out


def dosage(value: DosageInput, sequence: int | None = None) -> Json:
    """A Dosage (MedicationStatement.dosage, MedicationRequest.dosageInstruction)."""
    out: Json = {}
    if sequence is not None:
        out["sequence"] = sequence
    if value.text:
        out["text"] = value.text
    if value.timing is not None:
        out["timing"] = timing(value.timing)
    if value.as_needed_reason:
        out["asNeededCodeableConcept"] = {"text": value.as_needed_reason}
    elif value.as_needed:
        out["asNeededBoolean"] = True
    if value.route:
        out["route"] = route(value.route)
    if value.dose_value is not None:
        out["doseAndRate"] = [{"doseQuantity": quantity(value.dose_value, value.dose_unit)}]
    return out


# --- Patient, encounter, practitioner ------------------------------------------------------


def local_system(tenant: str, kind: str, authority: str | None) -> str:
    """The system of a local identifier (MRN, visit number) of an assigning authority.

    A URI is kept, an OID becomes ``urn:oid:...``, a name becomes
    ``urn:carepipe:<tenant>:<kind>:<authority>``.
    """
    if authority is None or not authority.strip():
        return f"urn:carepipe:{tenant_slug(tenant)}:{kind}"
    name = authority.strip()
    if name.startswith(("urn:", "http://", "https://")):
        return name
    if re.fullmatch(r"[0-2](\.\d+)+", name):
        return f"urn:oid:{name}"
    return f"urn:carepipe:{tenant_slug(tenant)}:{kind}:{tenant_slug(name)}"


def map_gender(value: str | None) -> str | None:
    """FHIR administrative gender from HL7 sex (M/F/O/U/A/N) or a FHIR code."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.lower() in codes.GENDERS:
        return text.lower()
    mapped = codes.HL7_SEX.get(text.upper())
    if mapped is None:
        # The code itself is demographic data: it stays out of the message.
        raise FhirInvalid("unsupported administrative sex code")
    return mapped


def patient_identifiers(tenant: str, patient: PatientInput) -> list[Json]:
    out: list[Json] = []
    if patient.mrn:
        out.append(
            {
                "use": "usual",
                "type": simple_concept(codes.V2_0203, "MR", "Medical record number"),
                "system": patient.mrn_system or local_system(tenant, "mrn", patient.mrn_authority),
                "value": patient.mrn.strip(),
            }
        )
    if patient.abha_number:
        out.append(
            {
                "type": {"text": "ABHA number"},
                "system": codes.ABHA_SYSTEM,
                "value": patient.abha_number.strip(),
            }
        )
    out.extend({"system": i.system, "value": i.value} for i in patient.other_identifiers)
    return out


def patient_resource(tenant: str, patient: PatientInput) -> Json:
    identifiers = patient_identifiers(tenant, patient)
    if not identifiers:
        raise FhirInvalid("patient has no MRN, ABHA number or other identifier")
    resource: Json = {"resourceType": "Patient", "identifier": identifiers}
    if patient.family_name or patient.given_names:
        name: Json = {"use": "official"}
        if patient.family_name:
            name["family"] = patient.family_name
        if patient.given_names:
            name["given"] = [g for g in patient.given_names if g]
        resource["name"] = [name]
    if patient.phone:
        resource["telecom"] = [{"system": "phone", "value": patient.phone}]
    gender = map_gender(patient.gender)
    if gender:
        resource["gender"] = gender
    if patient.birth_date:
        resource["birthDate"] = fhir_date(patient.birth_date)
    if patient.address is not None:
        a = patient.address
        address: Json = {
            k: v
            for k, v in {
                "line": [line for line in a.lines if line] or None,
                "city": a.city,
                "district": a.district,
                "state": a.state,
                "postalCode": a.postal_code,
                "country": a.country,
            }.items()
            if v
        }
        if address:
            resource["address"] = [address]
    return resource


def add_patient(
    builder: TransactionBuilder, patient: PatientInput, *, upsert: bool = False
) -> Json:
    """Add a Patient entry matched on its first business identifier (MRN, then ABHA)."""
    resource = patient_resource(builder.ctx.tenant, patient)
    first = resource["identifier"][0]
    return builder.add(
        resource,
        natural_key="patient",
        match_on={"system": first["system"], "value": first["value"]},
        upsert=upsert,
    )


def subject_reference(builder: TransactionBuilder, patient: PatientRef | PatientInput) -> Json:
    """A reference to the patient: known id, conditional, or a new Patient entry."""
    if isinstance(patient, PatientInput):
        return add_patient(builder, patient)
    if patient.server_id is not None:
        return server_reference("Patient", patient.server_id)
    assert patient.identifier is not None
    return conditional_reference("Patient", patient.identifier)


def practitioner_reference(ref: PractitionerRef) -> Json:
    if ref.server_id is not None:
        out = server_reference("Practitioner", ref.server_id)
    elif ref.identifier is not None:
        out = conditional_reference("Practitioner", ref.identifier)
    else:
        out = {"type": "Practitioner"}
    if ref.display:
        out["display"] = ref.display
    return out


def encounter_class(value: str) -> Json:
    code = value.strip().upper()
    code = codes.HL7_PATIENT_CLASS.get(code, code)
    display = codes.ENCOUNTER_CLASSES.get(code)
    out: Json = {"system": codes.ACT_CODE, "code": code}
    if display:
        out["display"] = display
    return out


def visit_identifier(tenant: str, encounter: EncounterInput) -> IdentifierInput | None:
    if not encounter.visit_number:
        return None
    return IdentifierInput(
        local_system(tenant, "visit", encounter.visit_authority), encounter.visit_number.strip()
    )


def add_encounter(
    builder: TransactionBuilder,
    encounter: EncounterInput,
    subject: Json,
    *,
    default_start: str | None = None,
    upsert: bool = False,
) -> Json:
    """A reference to the encounter; a new Encounter entry unless it has a server id.

    Matched on the visit number when there is one (so A01 then A03 of one visit
    is one Encounter), else on the CarePipe identifier.
    """
    if encounter.server_id is not None:
        return server_reference("Encounter", encounter.server_id)
    resource: Json = {
        "resourceType": "Encounter",
        "status": encounter.status,
        "class": encounter_class(encounter.encounter_class),
        "subject": subject,
    }
    visit = visit_identifier(builder.ctx.tenant, encounter)
    if visit is not None:
        resource["identifier"] = [
            {
                "use": "official",
                "type": simple_concept(codes.V2_0203, "VN", "Visit number"),
                "system": visit.system,
                "value": visit.value,
            }
        ]
    if encounter.type_text:
        resource["type"] = [{"text": encounter.type_text}]
    if encounter.reason_text:
        resource["reasonCode"] = [{"text": encounter.reason_text}]
    start = fhir_datetime(encounter.start) if encounter.start else default_start
    period = {
        k: v
        for k, v in {
            "start": start,
            "end": fhir_datetime(encounter.end) if encounter.end else None,
        }.items()
        if v
    }
    if period:
        resource["period"] = period
    match_on = {"system": visit.system, "value": visit.value} if visit else None
    return builder.add(
        resource,
        natural_key="encounter",
        match_on=match_on,
        upsert=upsert and visit is not None,
    )
