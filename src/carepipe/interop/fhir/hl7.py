"""Bundles of the HL7 pipeline: ADT (Patient + Encounter, merges) and ORU (lab results).

Orders and appointments are in ``hl7_orders``, documents and immunizations in
``hl7_records``.

The stage handler maps the parsed HL7 v2 message (PID, PV1, OBR, OBX) to the
inputs; this module knows the HL7 -> FHIR code mappings (sex, patient class,
result status, abnormal flags, coding systems).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from carepipe.interop.fhir import codes
from carepipe.interop.fhir.bundle import (
    TransactionBuilder,
    deterministic_uuid,
    fhir_datetime,
    fhir_instant,
)
from carepipe.interop.fhir.elements import (
    add_encounter,
    add_patient,
    concept,
    interpretation,
    local_system,
    parse_number,
    patient_resource,
    quantity,
    reference_range,
    simple_concept,
    subject_reference,
)
from carepipe.interop.fhir.hl7_inputs import MergeInput
from carepipe.interop.fhir.inputs import (
    BundleContext,
    EncounterInput,
    LabReportInput,
    LabResultInput,
    PatientInput,
    PatientRef,
)

Json = dict[str, Any]

LABORATORY_CATEGORY = {
    "coding": [
        {"system": codes.OBSERVATION_CATEGORY, "code": "laboratory", "display": "Laboratory"}
    ]
}
LAB_REPORT_CATEGORY = simple_concept(codes.V2_0074, "LAB", "Laboratory")

# ADT events that re-send a patient's full record: the bundle updates what the
# EMR has (conditional PUT) instead of only creating what is missing.
UPDATING_EVENTS = frozenset({"A08", "A31", "A03", "A02", "A06", "A07", "A11", "A13"})
# ADT event -> Encounter.status.
ADT_ENCOUNTER_STATUS: dict[str, str] = {
    "A01": "in-progress",  # admit
    "A02": "in-progress",  # transfer
    "A03": "finished",  # discharge
    "A04": "arrived",  # register an outpatient
    "A05": "planned",  # pre-admit
    "A06": "in-progress",
    "A07": "in-progress",
    "A11": "cancelled",  # cancel admit
    "A13": "in-progress",  # cancel discharge
}

# Value types (OBX-2) that are never numbers even if they look like one.
_TEXT_TYPES = frozenset({"ST", "TX", "FT", "CE", "CWE", "CNE", "ED"})


def encounter_status_for_event(event: str, default: str = "in-progress") -> str:
    """The Encounter.status an ADT trigger event implies (A03 -> finished)."""
    return ADT_ENCOUNTER_STATUS.get(event.strip().upper(), default)


def build_adt_bundle(
    ctx: BundleContext,
    patient: PatientInput,
    encounter: EncounterInput | None = None,
    *,
    update: bool = False,
) -> Json:
    """Patient (+ Encounter) of an ADT message.

    The Patient is matched on its MRN (else its ABHA number) and the Encounter
    on its visit number, so the EMR never gets two of either. With ``update``
    (A08 and other events that re-send the record) both are conditional PUTs
    that replace what the EMR holds; otherwise POSTs that leave an existing
    resource untouched.
    """
    builder = TransactionBuilder(ctx)
    subject = add_patient(builder, patient, upsert=update)
    if encounter is not None:
        add_encounter(builder, encounter, subject, upsert=update)
    return builder.to_dict()


def lab_observation_resource(
    ctx: BundleContext, result: LabResultInput, subject: Json, default_time: str | None
) -> Json:
    """One lab Observation from an OBX segment."""
    resource: Json = {
        "resourceType": "Observation",
        "status": codes.OBX_STATUS.get(result.status.strip().upper(), "unknown"),
        "category": [LABORATORY_CATEGORY],
        "code": concept(ctx.tenant, result.code),
        "subject": subject,
    }
    effective = fhir_datetime(result.observed_at) if result.observed_at else default_time
    if effective:
        resource["effectiveDateTime"] = effective
    value_type = (result.value_type or "").strip().upper()
    number = None if value_type in _TEXT_TYPES else parse_number(result.value)
    if number is not None:
        resource["valueQuantity"] = quantity(number[0], result.unit, number[1])
    elif result.value is not None and str(result.value).strip():
        resource["valueString"] = str(result.value).strip()
    else:
        resource["dataAbsentReason"] = simple_concept(codes.DATA_ABSENT_REASON, "unknown")
    interp = interpretation(list(result.abnormal_flags))
    if interp:
        resource["interpretation"] = interp
    ranges = reference_range(result.reference_range, result.unit)
    if ranges:
        resource["referenceRange"] = ranges
    if result.note:
        resource["note"] = [{"text": result.note}]
    return resource


def build_oru_bundle(
    ctx: BundleContext,
    patient: PatientRef | PatientInput,
    report: LabReportInput | Sequence[LabReportInput],
    encounter: EncounterInput | None = None,
) -> Json:
    """DiagnosticReport + one Observation per OBX, for each order (OBR) of an ORU^R01.

    ``report`` is one OBR or all of them: every OBR gets its own DiagnosticReport
    holding its own Observations. ``patient`` is the patient the match stage
    found (server id or ABHA/MRN identifier), or the PID demographics to create
    the patient if missing. OBX-3 with coding system ``LN`` gives a LOINC coding;
    a local code keeps its own system (``urn:carepipe:<tenant>:code:<name>``),
    with the LOINC alternate (CE.4-6) added when the lab sent one.
    """
    reports = [report] if isinstance(report, LabReportInput) else list(report)
    builder = TransactionBuilder(ctx)
    subject = subject_reference(builder, patient)
    encounter_ref = add_encounter(builder, encounter, subject) if encounter else None
    fillers = [r.filler_order_number.strip() for r in reports if r.filler_order_number]
    repeated = {f for f in fillers if fillers.count(f) > 1}
    for n, one in enumerate(reports):
        # The first report keeps the keys a single-OBR message always had, so replays of
        # bundles built before multi-OBR support still match what the EMR holds.
        prefix = "" if n == 0 else f"obr{n + 1}:"
        _add_report(builder, one, subject, encounter_ref, prefix, repeated)
    return builder.to_dict()


def _add_report(
    builder: TransactionBuilder,
    report: LabReportInput,
    subject: Json,
    encounter_ref: Json | None,
    prefix: str,
    repeated_fillers: set[str],
) -> None:
    ctx = builder.ctx
    effective = fhir_datetime(report.effective) if report.effective else None
    order = report.filler_order_number.strip() if report.filler_order_number else None
    if order in repeated_fillers:
        # Two OBRs of one message share a filler number: neither can be matched on it.
        order = None
    results = []
    seen: dict[str, int] = {}
    for i, result in enumerate(report.results):
        resource = lab_observation_resource(ctx, result, subject, effective)
        if encounter_ref is not None:
            resource["encounter"] = encounter_ref
        test = result.code.code or result.code.display or ""
        match_on = None
        if order:
            # One result of one order keeps its identity across messages (P, then F,
            # then C): a later message updates it instead of adding a copy.
            seen[test] = seen.get(test, 0) + 1
            match_on = {
                "system": local_system(ctx.tenant, "lab-result", None),
                "value": f"{order}|{test}|{seen[test]}",
            }
            resource["identifier"] = [match_on]
        results.append(
            builder.add(
                resource,
                natural_key=f"{prefix}obx:{i}:{test}",
                match_on=match_on,
                upsert=match_on is not None,
            )
        )

    diagnostic: Json = {
        "resourceType": "DiagnosticReport",
        "status": codes.OBR_STATUS.get(report.status.strip().upper(), "unknown"),
        "category": [LAB_REPORT_CATEGORY],
        "code": concept(ctx.tenant, report.code),
        "subject": subject,
    }
    order_ids = []
    if report.placer_order_number:
        order_ids.append(("PLAC", "Placer Identifier", report.placer_order_number))
    if report.filler_order_number:
        order_ids.append(("FILL", "Filler Identifier", report.filler_order_number))
    if order_ids:
        diagnostic["identifier"] = [
            {
                "type": simple_concept(codes.V2_0203, code, display),
                "system": local_system(ctx.tenant, f"{code.lower()}-order", None),
                "value": value.strip(),
            }
            for code, display, value in order_ids
        ]
    if encounter_ref is not None:
        diagnostic["encounter"] = encounter_ref
    if effective:
        diagnostic["effectiveDateTime"] = effective
    if report.issued:
        diagnostic["issued"] = fhir_instant(report.issued)
    if results:
        diagnostic["result"] = results
    # The filler order number names the report across messages (preliminary,
    # final, corrected): a later message updates the report. Without one the
    # report is matched on the CarePipe identifier of this job only.
    match_on = None
    if order:
        match_on = {"system": local_system(ctx.tenant, "fill-order", None), "value": order}
    builder.add(
        diagnostic,
        natural_key="report" if not prefix else f"{prefix}report",
        match_on=match_on,
        upsert=match_on is not None,
    )


def build_merge_bundle(ctx: BundleContext, merge: MergeInput) -> Json:
    """ADT^A40 (merge patient): the surviving Patient and the one it replaces.

    FHIR's merge semantics on ``Patient.link``: the survivor ``replaces`` the
    merged-away record, which becomes inactive with a ``replaced-by`` link back.
    Both are conditional PUTs on their MRN, so the EMR updates the records it has.
    """
    builder = TransactionBuilder(ctx)
    tenant = ctx.tenant
    prior_input = PatientInput(mrn=merge.prior_mrn, mrn_authority=merge.prior_mrn_authority)
    prior_url = f"urn:uuid:{deterministic_uuid(ctx, 'patient', 'patient:prior')}"
    survivor = patient_resource(tenant, merge.survivor)
    survivor["link"] = [{"other": {"reference": prior_url}, "type": "replaces"}]
    first = survivor["identifier"][0]
    survivor_ref = builder.add(
        survivor,
        natural_key="patient",
        match_on={"system": first["system"], "value": first["value"]},
        upsert=True,
    )
    prior = patient_resource(tenant, prior_input)
    prior["active"] = False
    prior["link"] = [{"other": survivor_ref, "type": "replaced-by"}]
    ident = prior["identifier"][0]
    builder.add(
        prior,
        natural_key="patient:prior",
        match_on={"system": ident["system"], "value": ident["value"]},
        upsert=True,
    )
    return builder.to_dict()
