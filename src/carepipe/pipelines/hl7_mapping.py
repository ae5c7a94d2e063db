"""Parsed HL7 v2 messages into FHIR: the inputs of the bundle builders, and the bundle.

Pure functions of the parsed message, what the match stage found and the
sender's time zone: ``hl7_bundle`` gives the same bundle for the same message,
so a replay rebuilds exactly what the first run sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from carepipe.core.errors import PatientNotFound
from carepipe.interop.fhir import codes
from carepipe.interop.fhir.elements import local_system
from carepipe.interop.fhir.hl7 import (
    ADT_ENCOUNTER_STATUS,
    UPDATING_EVENTS,
    build_adt_bundle,
    build_merge_bundle,
    build_oru_bundle,
)
from carepipe.interop.fhir.hl7_inputs import (
    AppointmentInput,
    ClinicalDocumentInput,
    DocumentAttachment,
    ImmunizationInput,
    MergeInput,
    ServiceRequestInput,
)
from carepipe.interop.fhir.hl7_orders import build_appointment_bundle, build_order_bundle
from carepipe.interop.fhir.hl7_records import build_document_bundle, build_immunization_bundle
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
from carepipe.interop.hl7.messages import (
    AdtMessage,
    DocumentMessage,
    Observation,
    OrderMessage,
    OruMessage,
    ParsedMessage,
    PatientIdentifier,
    PatientInfo,
    PatientMessage,
    ScheduleMessage,
    VaccinationMessage,
)
from carepipe.interop.hl7.timestamps import iso_to_datetime

# PV1-2 patient class (table 0004) -> Encounter.status when the event does not say
# (v2-to-FHIR ConceptMap PatientClass[EncounterStatus]).
CLASS_STATUS = {"P": "planned", "U": "unknown"}


def patient_mrn(patient: PatientInfo) -> PatientIdentifier:
    mrn = patient.mrn
    if mrn is None:  # the parser requires PID-3; kept as a guard for stored artifacts
        raise PatientNotFound("message has no patient identifier")
    return mrn


def patient_input(patient: PatientInfo, abha: str | None) -> PatientInput:
    """PID -> the Patient to create or update (v2-to-FHIR ``PID[Patient]``)."""
    mrn = patient_mrn(patient)
    name = patient.name
    addr = patient.addresses[0] if patient.addresses else None
    return PatientInput(
        mrn=mrn.value,
        mrn_authority=mrn.assigning_authority,
        abha_number=abha,
        family_name=name.family if name else None,
        given_names=tuple(x for x in ((name.given, name.middle) if name else ()) if x),
        # Mapped here (ConceptMap AdministrativeSex; outside table 0001 -> unknown), so a
        # code we can map never reaches the bundle raw.
        gender=patient.gender,
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


def encounter_status(msg: ParsedMessage, patient_class: str | None, discharged: bool) -> str:
    """Encounter.status: PV1-45 valued -> finished (IG ``PV1[Encounter]``); else, for ADT,
    the trigger event (A04 arrived, A03 finished, A05 planned, A11 cancelled, ...);
    else PV1-2 via ConceptMap PatientClass[EncounterStatus]."""
    if discharged:
        return "finished"
    if isinstance(msg, AdtMessage) and msg.trigger_event in ADT_ENCOUNTER_STATUS:
        return ADT_ENCOUNTER_STATUS[msg.trigger_event]
    if not isinstance(msg, AdtMessage):
        return "finished"  # results arrive for a visit that took place
    return CLASS_STATUS.get((patient_class or "").upper(), "in-progress")


def encounter_input(msg: PatientMessage, tz: timezone) -> EncounterInput | None:
    """PV1 -> Encounter, or None when there is no visit (or PV1-2 is N, not applicable)."""
    v = msg.visit
    if v is None or not (v.visit_number or v.admit_time or v.patient_class):
        return None
    cls = (v.patient_class or "AMB").strip().upper()
    mapped = codes.HL7_PATIENT_CLASS.get(cls, cls)
    if cls == "N" or mapped not in codes.ENCOUNTER_CLASSES:
        return None  # no v3 ActCode for it: an Encounter without a class is invalid
    return EncounterInput(
        visit_number=v.visit_number,
        encounter_class=mapped,
        status=encounter_status(msg, v.patient_class, bool(v.discharge_time)),
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


def _coded(c: Any) -> CodedValue:
    alternate = None
    if getattr(c, "alt_code", None):
        alternate = CodedValue(code=c.alt_code, display=c.alt_text, system=c.alt_system)
    return CodedValue(code=c.code, display=c.text, system=c.system, alternate=alternate)


def _coded_or_none(c: Any) -> CodedValue | None:
    return _coded(c) if c is not None else None


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


def _patient_ref(tenant: str, msg: PatientMessage, match: dict[str, Any]) -> PatientRef:
    """The patient the match stage found: server id, ABHA number, or MRN (after merges)."""
    if match.get("fhir_patient_id"):
        return PatientRef.by_id(match["fhir_patient_id"])
    if match.get("abha"):
        return PatientRef.by_abha(match["abha"])
    mrn = patient_mrn(msg.patient)
    value = match.get("mrn") or mrn.value
    authority = match.get("assigning_authority") or mrn.assigning_authority
    # The same system the ADT's Patient carries its MRN under.
    return PatientRef.by_identifier(local_system(tenant, "mrn", authority or None), value)


def _minutes(duration: str | None, units: str | None) -> int | None:
    """SCH-9 in minutes, from SCH-10's unit (s, min, h)."""
    if not duration:
        return None
    try:
        value = float(duration)
    except ValueError:
        return None
    unit = (units or "min").strip().lower()
    factor = {"s": 1 / 60, "sec": 1 / 60, "min": 1, "m": 1, "h": 60, "hr": 60}.get(unit)
    if factor is None or value <= 0:
        return None
    minutes = value * factor
    return int(minutes) if minutes >= 1 and minutes.is_integer() else None


def _appointment(msg: ScheduleMessage, tz: timezone) -> AppointmentInput:
    a = msg.appointment
    start, end = _when(a.start, tz), _when(a.end, tz)
    minutes = _minutes(a.duration, a.duration_units)
    if isinstance(start, datetime) and end is None and minutes:
        end = start + timedelta(minutes=minutes)  # Appointment needs both or neither
    return AppointmentInput(
        event=msg.trigger_event,
        placer_id=a.placer_id,
        filler_id=a.filler_id,
        filler_status=a.filler_status,
        reason=_coded_or_none(a.reason),
        appointment_type=_coded_or_none(a.appointment_type),
        service_types=tuple(_coded(s) for s in a.services),
        start=start,
        end=end,
        minutes=minutes,
        practitioners=tuple(p.text or p.id or "practitioner" for p in a.practitioners),
        locations=a.locations,
        comment="\n".join(a.notes) or None,
    )


def _document(msg: DocumentMessage, tz: timezone) -> ClinicalDocumentInput:
    d = msg.document
    texts = [c.text for c in d.contents if c.text]
    attachments = []
    if texts:
        attachments.append(
            DocumentAttachment(content_type="text/plain; charset=utf-8", text="\n".join(texts))
        )
    attachments.extend(
        DocumentAttachment(
            content_type=c.media_type or "application/octet-stream", data_base64=c.data_base64
        )
        for c in d.contents
        if c.data_base64
    )
    date = _when(d.origination_time, tz)
    return ClinicalDocumentInput(
        attachments=attachments,
        document_type=_coded_or_none(d.document_type),
        unique_number=d.unique_number,
        completion_status=d.completion_status,
        availability=d.availability,
        date=date if isinstance(date, datetime) else None,
        authors=tuple(a.text or a.id or "author" for a in d.authors),
    )


def _immunizations(msg: VaccinationMessage, tz: timezone) -> list[ImmunizationInput]:
    out = []
    for rxa in msg.immunizations:
        occurrence = _when(rxa.start, tz)
        assert occurrence is not None  # the parser requires RXA-3
        amount: float | None = None
        try:
            amount = float(rxa.amount) if rxa.amount else None
        except ValueError:
            amount = None
        notes = rxa.administration_notes.code if rxa.administration_notes else None
        out.append(
            ImmunizationInput(
                vaccine=_coded(rxa.vaccine),
                occurrence=occurrence,
                completion_status=rxa.completion_status,
                action_code=rxa.action_code,
                dose_value=amount,
                dose_unit=(rxa.units.code if rxa.units else None),
                # RXA-9 (NIP001): 00 "new immunization record" is first-hand; others historical.
                primary_source=(notes == "00") if notes else None,
                lot_number=rxa.lot_numbers[0] if rxa.lot_numbers else None,
                expiration_date=(rxa.expiration_date or "")[:10] or None,
                manufacturer=(rxa.manufacturer.display if rxa.manufacturer else None),
                refusal_reason=_coded_or_none(rxa.refusal_reason),
                route=_coded_or_none(rxa.route),
                site=_coded_or_none(rxa.site),
                placer_order_number=rxa.placer_order_number,
                filler_order_number=rxa.filler_order_number,
            )
        )
    return out


def _orders(msg: OrderMessage, tz: timezone) -> list[ServiceRequestInput]:
    out = []
    for o in msg.orders:
        provider = o.ordering_provider
        out.append(
            ServiceRequestInput(
                code=_coded_or_none(o.service),
                control=o.control,
                order_status=o.status,
                placer_order_number=o.placer_order_number,
                filler_order_number=o.filler_order_number,
                placer_group_number=o.placer_group_number,
                authored_on=_when(o.authored_time, tz),
                requester=(provider.text or provider.id) if provider else None,
                priority=o.priority,
                occurrence=_when(o.requested_time, tz),
                specimen_action=o.specimen_action,
                reason=_coded_or_none(o.reason),
                note="\n".join(o.notes) or None,
            )
        )
    return out


def hl7_bundle(
    msg: ParsedMessage, match: dict[str, Any], bctx: BundleContext, tz: timezone
) -> dict[str, Any]:
    """The transaction Bundle of one parsed message (not yet validated).

    ``match`` is what the match stage found (``fhir_patient_id``, ``abha``, the
    surviving ``mrn``); ``tz`` is the sender's zone for local HL7 times.
    """
    if isinstance(msg, AdtMessage):
        patient = patient_input(msg.patient, match.get("abha"))
        if msg.merge is not None and msg.merge.prior_mrn is not None:
            prior = msg.merge.prior_mrn
            return build_merge_bundle(
                bctx,
                MergeInput(
                    survivor=patient,
                    prior_mrn=prior.value,
                    prior_mrn_authority=prior.assigning_authority,
                ),
            )
        return build_adt_bundle(
            bctx,
            patient,
            encounter_input(msg, tz),
            update=msg.trigger_event in UPDATING_EVENTS,
        )
    assert isinstance(
        msg, OruMessage | OrderMessage | ScheduleMessage | DocumentMessage | VaccinationMessage
    )
    patient_ref = _patient_ref(bctx.tenant, msg, match)
    if isinstance(msg, OruMessage):
        reports = [
            LabReportInput(
                code=_coded(obr.service),
                results=tuple(_result(o, tz) for o in obr.observations),
                status=obr.result_status or "F",
                filler_order_number=obr.filler_order_number,
                placer_order_number=obr.placer_order_number,
                effective=_when(obr.observation_time, tz),
                issued=_when(obr.results_time, tz),
            )
            for obr in msg.orders
        ]
        return build_oru_bundle(bctx, patient_ref, reports, encounter_input(msg, tz))
    if isinstance(msg, OrderMessage):
        return build_order_bundle(bctx, patient_ref, _orders(msg, tz))
    if isinstance(msg, ScheduleMessage):
        return build_appointment_bundle(bctx, patient_ref, _appointment(msg, tz))
    if isinstance(msg, DocumentMessage):
        return build_document_bundle(bctx, patient_ref, _document(msg, tz))
    return build_immunization_bundle(bctx, patient_ref, _immunizations(msg, tz))
