"""The ``hl7`` pipeline: HL7 v2 -> patient index (MRN, ABHA) -> FHIR -> EMR.

ADT registers the MRN in the patient index (and links its ABHA number when
PID-3 carries one; A40 records a merge); every other message (ORU, ORM/OML,
SIU, MDM, VXU) must find its patient there, or dies with ``patient_not_found``
(map the MRN, replay). A tenant whose settings say ``abha_required`` gets
nothing pushed to the EMR for a patient without an ABHA number.
"""

from __future__ import annotations

import json
from datetime import timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.errors import Hl7ControlIdReused, InvalidAbha, PatientNotFound
from carepipe.interop.hl7 import parse_message
from carepipe.interop.hl7.messages import (
    AdtMessage,
    DocumentMessage,
    OrderMessage,
    OruMessage,
    ParsedMessage,
    PatientInfo,
    PatientMessage,
    ScheduleMessage,
    VaccinationMessage,
)
from carepipe.interop.identity.abha import mask_abha, normalize_abha
from carepipe.interop.identity.registry import abha_required, find_patient, merge, register
from carepipe.interop.identity.service import link_snapshot, masked_snapshot, upsert
from carepipe.pipelines.common import bundle_context, bundle_output, emr_stage
from carepipe.pipelines.context import StageContext, StageOutput, phi_artifact
from carepipe.pipelines.hl7_mapping import hl7_bundle, patient_mrn
from carepipe.pipelines.registry import Pipeline, Stage
from carepipe.pipelines.registry import register as register_pipeline

PARSED = "hl7_parsed"
MATCH = "patient_match"
HL7_MEDIA_TYPE = "x-application/hl7-v2+er7"
# Message metadata (``messages.metadata["hl7"]``) set by the intake: the HTTP charset,
# a reused control id, the message's place in a batch.
META = "hl7"
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


def _meta(ctx: StageContext) -> dict[str, Any]:
    value = (ctx.message.meta or {}).get(META) or {}
    return value if isinstance(value, dict) else {}


def parse_stage(ctx: StageContext) -> StageOutput:
    """Parse and validate; malformed or unsupported messages fail permanently (dead letter)."""
    meta = _meta(ctx)
    if meta.get("control_id_reused"):
        raise Hl7ControlIdReused(
            "control id reused with different content: the first message with this "
            "MSH-3/MSH-4/MSH-10 was kept; send this one with a new control id",
            details={"hl7_error": "205", "original_job": meta.get("original_job")},
        )
    msg = parse_message(ctx.raw(), charset=meta.get("charset"))
    summary: dict[str, Any] = {"event": msg.event, "version": msg.version, "kind": msg.kind}
    if msg.charset:
        summary["charset"] = msg.charset
    if msg.warnings:
        summary["warnings"] = list(msg.warnings)
    if isinstance(msg, OruMessage):
        summary["reports"] = len(msg.orders)
        summary["observations"] = len(msg.observations)
    elif isinstance(msg, OrderMessage):
        summary["orders"] = len(msg.orders)
    elif isinstance(msg, VaccinationMessage):
        summary["immunizations"] = len(msg.immunizations)
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


def _parsed(ctx: StageContext) -> PatientMessage:
    msg = ParsedMessage.from_dict(ctx.load_json(PARSED))
    assert isinstance(
        msg,
        AdtMessage
        | OruMessage
        | OrderMessage
        | ScheduleMessage
        | DocumentMessage
        | VaccinationMessage,
    )
    return msg


def _demographics(patient: PatientInfo) -> dict[str, Any]:
    """What the index keeps about a registered patient (encrypted in the blob store)."""
    name = patient.name
    return {
        "family": name.family if name else None,
        "given": [g for g in ((name.given, name.middle) if name else ()) if g],
        "birth_date": patient.birth_date,
        "gender": patient.gender,
    }


def _adt_match(ctx: StageContext, msg: AdtMessage) -> StageOutput:
    mrn = patient_mrn(msg.patient)
    authority = mrn.assigning_authority or ""
    actor = f"hl7:{msg.sending_application or 'unknown'}"
    if msg.merge is not None:
        return _merge_match(ctx, msg, actor)
    abha = abha_identifier(msg.patient)
    # PHI at rest is encrypted: the demographics go to the blob store, the row keeps the key.
    blob = ctx.blobs.put(
        json.dumps(_demographics(msg.patient), sort_keys=True, separators=(",", ":")).encode()
    )

    def write(session: Session) -> None:
        reg, created = register(
            session,
            tenant=ctx.tenant,
            mrn=mrn.value,
            assigning_authority=authority,
            event=msg.event,
            demographics_blob=blob,
        )
        if created:
            audit.record(
                session,
                actor=actor,
                action="patient.register",
                tenant=ctx.tenant,
                target_type="patient_registration",
                target_id=reg.id,
                after={"has_abha": abha is not None, "event": msg.event},
                reason=f"{msg.event} job {ctx.job_id}",
            )
        if abha is None:
            return
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

    if abha is None:
        data: dict[str, Any] = {"matched": "registered", "assigning_authority": authority}
        summary = dict(data)
    else:
        data = {"matched": "linked", "assigning_authority": authority, "abha": abha}
        summary = {"matched": "linked", "assigning_authority": authority, "abha": mask_abha(abha)}
    return StageOutput(artifacts=[phi_artifact(MATCH, data, summary=summary)], effects=[write])


def _merge_match(ctx: StageContext, msg: AdtMessage, actor: str) -> StageOutput:
    assert msg.merge is not None
    mrn = patient_mrn(msg.patient)
    prior = msg.merge.prior_mrn
    assert prior is not None  # the parser requires MRG-1
    abha = abha_identifier(msg.patient)

    def write(session: Session) -> None:
        survivor, old, link = merge(
            session,
            tenant=ctx.tenant,
            survivor_mrn=mrn.value,
            survivor_authority=mrn.assigning_authority,
            prior_mrn=prior.value,
            prior_authority=prior.assigning_authority,
            actor=actor,
        )
        audit.record(
            session,
            actor=actor,
            action="patient.merge",
            tenant=ctx.tenant,
            target_type="patient_registration",
            target_id=old.id,
            after={"merged_into": survivor.id, "abha_carried_over": link is not None},
            reason=f"{msg.event} job {ctx.job_id}",
        )
        if abha is not None:
            upsert(
                session,
                tenant=ctx.tenant,
                mrn=mrn.value,
                assigning_authority=mrn.assigning_authority,
                abha_number=abha,
                source="adt",
                actor=actor,
            )

    data = {
        "matched": "merged",
        "assigning_authority": mrn.assigning_authority or "",
        "abha": abha,
    }
    summary = {"matched": "merged", "abha": mask_abha(abha) if abha else None}
    return StageOutput(artifacts=[phi_artifact(MATCH, data, summary=summary)], effects=[write])


def match_stage(ctx: StageContext) -> StageOutput:
    """ADT: register the MRN (and its ABHA link). Others: find the patient, or fail with
    ``patient_not_found``."""
    msg = _parsed(ctx)
    if isinstance(msg, AdtMessage):
        return _adt_match(ctx, msg)
    mrn = patient_mrn(msg.patient)
    authority = mrn.assigning_authority or ""
    found = ctx.read(lambda s: find_patient(s, ctx.tenant, mrn.value, authority or None))
    if found is None:
        raise PatientNotFound(
            "no patient index entry for this message's MRN; map it to an ABHA number and replay",
            details={"assigning_authority": authority or None},
        )
    data = {
        "matched": "found" if found.abha_number else "registered",
        "mrn": found.mrn,
        "assigning_authority": found.assigning_authority or "",
        "abha": found.abha_number,
        "fhir_patient_id": found.fhir_patient_id,
        "link_id": found.link_id,
        "registration_id": found.registration_id,
        "merged": found.merged_from,
    }
    summary = {
        "matched": data["matched"],
        **found.summary(),
        "abha": mask_abha(found.abha_number) if found.abha_number else None,
    }
    return StageOutput(artifacts=[phi_artifact(MATCH, data, summary=summary)])


def sender_timezone(ctx: StageContext) -> timezone:
    hours, _, minutes = ctx.settings.hl7_utc_offset.partition(":")
    sign = -1 if hours.startswith("-") else 1
    return timezone(sign * timedelta(hours=abs(int(hours)), minutes=int(minutes or 0)))


def _abha_gate(ctx: StageContext, msg: PatientMessage, match: dict[str, Any]) -> dict[str, Any]:
    """The tenant's ABHA policy, checked before anything is built for the EMR.

    An ABHA mapped since the match stage ran (map + replay of this dead letter) is
    picked up here. Returns ``match`` with the ABHA number filled in when found.
    """
    if match.get("abha") or match.get("fhir_patient_id"):
        return match
    if not ctx.read(lambda s: abha_required(s, ctx.tenant)):
        return match
    mrn = patient_mrn(msg.patient)
    number = match.get("mrn") or mrn.value
    authority = match.get("assigning_authority") or mrn.assigning_authority
    found = ctx.read(lambda s: find_patient(s, ctx.tenant, number, authority or None))
    if found is not None and found.abha_number:
        return {**match, "abha": found.abha_number, "fhir_patient_id": found.fhir_patient_id}
    raise PatientNotFound(
        "this tenant requires an ABHA number before anything reaches the EMR and this "
        "patient has none: map the MRN to an ABHA number and replay",
        details={"reason": "abha_required", "assigning_authority": authority or None},
    )


def fhir_stage(ctx: StageContext) -> StageOutput:
    """The message's transaction Bundle, validated (``fhir_invalid`` if not)."""
    msg = _parsed(ctx)
    match = _abha_gate(ctx, msg, ctx.load_json(MATCH) or {})
    bundle = hl7_bundle(msg, match, bundle_context(ctx), sender_timezone(ctx))
    return bundle_output(bundle)


PIPELINE = register_pipeline(
    Pipeline(
        name="hl7",
        stages=(
            Stage("hl7", parse_stage),
            Stage("match", match_stage),
            Stage("fhir", fhir_stage),
            Stage("emr", emr_stage),
        ),
        description=(
            "HL7 v2 (ADT, ORU^R01, ORM^O01, OML^O21, SIU^S12-S15, MDM^T02, VXU^V04; 2.2-2.8) "
            "-> patient index -> FHIR -> EMR."
        ),
    )
)
