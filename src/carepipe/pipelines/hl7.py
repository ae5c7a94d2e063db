"""The ``hl7`` pipeline: HL7 v2 ADT/ORU -> patient index (MRN -> ABHA) -> FHIR -> EMR."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.errors import InvalidAbha, PatientNotFound
from carepipe.interop.fhir.bundle import carepipe_system
from carepipe.interop.fhir.hl7 import build_adt_bundle, build_oru_bundle
from carepipe.interop.fhir.inputs import (
    AddressInput,
    BundleContext,
    CodedValue,
    EncounterInput,
    LabReportInput,
    LabResultInput,
    PatientInput,
    PatientRef,
)
from carepipe.interop.hl7 import parse_message
from carepipe.interop.hl7.messages import (
    AdtMessage,
    Observation,
    OruMessage,
    ParsedMessage,
    PatientIdentifier,
    PatientInfo,
)
from carepipe.interop.hl7.timestamps import iso_to_datetime
from carepipe.interop.identity.abha import mask_abha, normalize_abha
from carepipe.interop.identity.service import (
    link_snapshot,
    lookup,
    masked_snapshot,
    upsert,
)
from carepipe.pipelines.common import bundle_context, bundle_output, emr_stage
from carepipe.pipelines.context import StageContext, StageOutput, phi_artifact
from carepipe.pipelines.registry import Pipeline, Stage, register

PARSED = "hl7_parsed"
MATCH = "patient_match"
HL7_MEDIA_TYPE = "x-application/hl7-v2+er7"
# PID-3 repetitions that carry an ABHA number: by identifier type or assigning authority.
ABHA_MARKERS = frozenset({"ABHA", "ABDM", "NDHM", "HEALTHID"})


def abha_identifier(patient: PatientInfo) -> str | None:
    """The ABHA number among the patient's identifiers, if the sender included one."""
    for ident in patient.identifiers:
        marks = {(ident.identifier_type or "").upper(), (ident.assigning_authority or "").upper()}
        if marks & ABHA_MARKERS:
            try:
                return normalize_abha(ident.value)
            except InvalidAbha:
                raise InvalidAbha(
                    "PID-3 carries an ABHA identifier that is not 14 digits"
                ) from None
    return None


def parse_stage(ctx: StageContext) -> StageOutput:
    """Parse and validate; malformed or unsupported messages fail permanently (dead letter)."""
    msg = parse_message(ctx.raw())
    summary = {"event": msg.event, "version": msg.version, "kind": msg.kind}
    if isinstance(msg, OruMessage):
        summary["observations"] = len(msg.observations)
    return StageOutput(
        artifacts=[
            phi_artifact(
                PARSED,
                msg.to_dict(),
                summary=summary,
                engine=msg.engine,
                model_version=msg.model_version,
            )
        ],
        result={"hl7": summary},
    )


def _parsed(ctx: StageContext) -> ParsedMessage:
    return ParsedMessage.from_dict(ctx.load_json(PARSED))


def _mrn(patient: PatientInfo) -> PatientIdentifier:
    mrn = patient.mrn
    if mrn is None:  # the parser requires PID-3; kept as a guard for stored artifacts
        raise PatientNotFound("message has no patient identifier")
    return mrn


def match_stage(ctx: StageContext) -> StageOutput:
    """ADT: create/update the MRN -> ABHA link. ORU: find it, or fail with ``patient_not_found``."""
    msg = _parsed(ctx)
    assert isinstance(msg, AdtMessage | OruMessage)
    mrn = _mrn(msg.patient)
    authority = mrn.assigning_authority or ""
    if isinstance(msg, AdtMessage):
        abha = abha_identifier(msg.patient)
        if abha is None:
            data = {"matched": "no_abha", "assigning_authority": authority}
            return StageOutput(artifacts=[phi_artifact(MATCH, data, summary=data)])
        actor = f"hl7:{msg.sending_application or 'unknown'}"

        def link(session: Session) -> None:
            row, before = upsert(
                session,
                tenant=ctx.tenant,
                mrn=mrn.value,
                assigning_authority=authority,
                abha_number=abha,
                source="adt",
                actor=actor,
            )
            audit.record(
                session,
                actor=actor,
                action="patient.link",
                tenant=ctx.tenant,
                target_type="patient_link",
                target_id=row.id,
                before=masked_snapshot(before),
                after=masked_snapshot(link_snapshot(row)),
                reason=f"{msg.event} job {ctx.job_id}",
            )

        data = {"matched": "linked", "assigning_authority": authority, "abha": abha}
        summary = {"matched": "linked", "assigning_authority": authority, "abha": mask_abha(abha)}
        return StageOutput(artifacts=[phi_artifact(MATCH, data, summary=summary)], effects=[link])
    found = ctx.read(lambda s: lookup(s, ctx.tenant, mrn.value, authority or None))
    if found is None:
        raise PatientNotFound(
            "no patient index entry for this message's MRN; map it to an ABHA number and replay",
            details={"assigning_authority": authority or None},
        )
    data = {
        "matched": "found",
        "assigning_authority": authority,
        "abha": found.abha_number,
        "fhir_patient_id": found.fhir_patient_id,
        "link_id": found.id,
    }
    summary = {"matched": "found", "link_id": found.id, "abha": mask_abha(found.abha_number)}
    return StageOutput(artifacts=[phi_artifact(MATCH, data, summary=summary)])


def patient_input(patient: PatientInfo, abha: str | None) -> PatientInput:
    mrn = _mrn(patient)
    name = patient.name
    addr = patient.addresses[0] if patient.addresses else None
    return PatientInput(
        mrn=mrn.value,
        mrn_authority=mrn.assigning_authority,
        abha_number=abha,
        family_name=name.family if name else None,
        given_names=tuple(x for x in ((name.given, name.middle) if name else ()) if x),
        gender=patient.sex,
        birth_date=patient.birth_date,
        phone=patient.telecoms[0].value if patient.telecoms else None,
        address=AddressInput(
            lines=tuple(x for x in (addr.street, addr.other) if x),
            city=addr.city,
            state=addr.state,
            postal_code=addr.postal_code,
            country=addr.country,
        )
        if addr
        else None,
    )


def encounter_input(msg: AdtMessage | OruMessage, tz: timezone) -> EncounterInput | None:
    v = msg.visit
    if v is None or not (v.visit_number or v.admit_time or v.patient_class):
        return None
    return EncounterInput(
        visit_number=v.visit_number,
        encounter_class=v.patient_class or "AMB",
        status="in-progress" if isinstance(msg, AdtMessage) else "finished",
        start=_when(v.admit_time, tz),
        end=_when(v.discharge_time, tz),
    )


def _when(value: str | None, tz: timezone) -> datetime | str | None:
    """HL7 local times without an offset are read in the sender's zone (FHIR needs one)."""
    if not value:
        return None
    if "T" not in value:
        return value  # a date (or year/month): FHIR takes it as is
    return iso_to_datetime(value, tz)


def sender_timezone(ctx: StageContext) -> timezone:
    hours, _, minutes = ctx.settings.hl7_utc_offset.partition(":")
    sign = -1 if hours.startswith("-") else 1
    return timezone(sign * timedelta(hours=abs(int(hours)), minutes=int(minutes or 0)))


def _coded(c: Any) -> CodedValue:
    alternate = None
    if getattr(c, "alt_code", None):
        alternate = CodedValue(code=c.alt_code, display=c.alt_text, system=c.alt_system)
    return CodedValue(code=c.code, display=c.text, system=c.system, alternate=alternate)


def _result(obx: Observation, tz: timezone) -> LabResultInput:
    value: str | float | None
    if obx.numeric_value is not None and not obx.comparator:
        value = obx.numeric_value
    else:
        value = "~".join(obx.values) if obx.values else None
        if obx.comparator and obx.numeric_value is not None:
            value = f"{obx.comparator}{obx.numeric_value:g}"
    return LabResultInput(
        code=_coded(obx.code),
        value=value,
        value_type=obx.value_type,
        unit=obx.units.code if obx.units else None,
        reference_range=obx.reference_range,
        abnormal_flags=obx.abnormal_flags,
        status=obx.result_status or "F",
        observed_at=_when(obx.observation_time, tz),
        set_id=str(obx.set_id) if obx.set_id else None,
        note=" ".join(obx.notes) or None,
    )


def fhir_stage(ctx: StageContext) -> StageOutput:
    """ADT -> Patient (+ Encounter); ORU -> DiagnosticReport + Observations per OBR."""
    bundle = hl7_bundle(
        _parsed(ctx), ctx.load_json(MATCH) or {}, bundle_context(ctx), sender_timezone(ctx)
    )
    return bundle_output(bundle)


def hl7_bundle(
    msg: ParsedMessage, match: dict[str, Any], bctx: BundleContext, tz: timezone
) -> dict[str, Any]:
    """The transaction Bundle of one parsed ADT or ORU message (not yet validated).

    ``match`` is what the match stage found (``fhir_patient_id``, ``abha``);
    ``tz`` is the sender's zone for local HL7 times.
    """
    if isinstance(msg, AdtMessage):
        return build_adt_bundle(
            bctx,
            patient_input(msg.patient, match.get("abha")),
            encounter_input(msg, tz),
            update=msg.trigger_event == "A08",
        )
    assert isinstance(msg, OruMessage)
    if match.get("fhir_patient_id"):
        patient = PatientRef.by_id(match["fhir_patient_id"])
    elif match.get("abha"):
        patient = PatientRef.by_abha(match["abha"])
    else:
        mrn = _mrn(msg.patient)
        patient = PatientRef.by_identifier(carepipe_system(bctx.tenant, "mrn"), mrn.value)
    entries: dict[str, dict[str, Any]] = {}
    bundle: dict[str, Any] = {}
    for obr in msg.orders:
        report = LabReportInput(
            code=_coded(obr.service),
            results=tuple(_result(o, tz) for o in obr.observations),
            status=obr.result_status or "F",
            filler_order_number=obr.filler_order_number,
            placer_order_number=obr.placer_order_number,
            effective=_when(obr.observation_time, tz),
            issued=_when(obr.results_time, tz),
        )
        part = build_oru_bundle(bctx, patient, report, encounter_input(msg, tz))
        bundle = bundle or {k: v for k, v in part.items() if k != "entry"}
        for entry in part.get("entry", []):
            entries.setdefault(entry["fullUrl"], entry)
    bundle["entry"] = list(entries.values())
    return bundle


PIPELINE = register(
    Pipeline(
        name="hl7",
        stages=(
            Stage("hl7", parse_stage),
            Stage("match", match_stage),
            Stage("fhir", fhir_stage),
            Stage("emr", emr_stage),
        ),
        description="HL7 v2 ADT^A01/A04/A08 and ORU^R01 -> patient index -> FHIR -> EMR.",
    )
)
