"""Bundles of HL7 v2 orders and appointments: ORM^O01/OML^O21 -> ServiceRequest,
SIU^S12-S15 -> Appointment.

Rows followed (HL7 v2-to-FHIR IG, mappings/ in github.com/HL7/v2-to-fhir):
``ORC[ServiceRequest]``, ``OBR[ServiceRequest]``, ConceptMaps ``OrderStatus`` (ORC-5),
``OrderControlCode[ServiceRequest.status]`` (ORC-1); ``SCH[Appointment]``,
``AIS[Appointment]``, ``TQ[Appointment]``, ConceptMap ``FillerStatusCodes[Appointment]``
(SCH-25). Details and deviations: docs/hl7.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from carepipe.interop.fhir import codes
from carepipe.interop.fhir.bundle import TransactionBuilder, fhir_datetime, fhir_instant
from carepipe.interop.fhir.elements import (
    concept,
    local_system,
    simple_concept,
    subject_reference,
)
from carepipe.interop.fhir.hl7_inputs import AppointmentInput, ServiceRequestInput
from carepipe.interop.fhir.inputs import BundleContext, CodedValue, PatientInput, PatientRef

Json = dict[str, Any]

# ConceptMap OrderStatus: ORC-5 (table 0038) -> ServiceRequest.status.
ORDER_STATUS: dict[str, str] = {
    "CA": "revoked",
    "CM": "completed",
    "DC": "revoked",
    "ER": "entered-in-error",
    "HD": "on-hold",
    "IP": "active",
    "RP": "revoked",
    "SC": "active",
}
# ConceptMap OrderControlCode[ServiceRequest.status]: ORC-1 (table 0119), when ORC-5 is empty.
ORDER_CONTROL_STATUS: dict[str, str] = {
    "AF": "active",
    "CA": "active",
    "CR": "revoked",
    "DC": "revoked",
    "DF": "revoked",
    "DR": "revoked",
    "FU": "completed",
    "HD": "active",
    "HR": "on-hold",
    "NW": "active",
    "OC": "revoked",
    "OD": "revoked",
    "OH": "on-hold",
    "OK": "active",
    "PR": "active",
    "PY": "active",
    "RL": "active",
    "RO": "active",
    "RQ": "active",
}
# Table 0485 (extended priority) -> request priority (the codes with an R4 equivalent).
PRIORITY: dict[str, str] = {"S": "stat", "A": "asap", "R": "routine", "T": "urgent"}
# ConceptMap FillerStatusCodes[Appointment]: SCH-25 (table 0278) -> Appointment.status.
FILLER_STATUS: dict[str, str] = {
    "PENDING": "pending",
    "WAITLIST": "waitlist",
    "BOOKED": "booked",
    "STARTED": "checked-in",
    "COMPLETE": "fulfilled",
    "CANCELLED": "cancelled",
    "DELETED": "entered-in-error",
    "NOSHOW": "noshow",
}
# Without SCH-25: what the trigger event says (S15 is a cancellation).
EVENT_STATUS: dict[str, str] = {
    "S12": "booked",
    "S13": "booked",
    "S14": "booked",
    "S15": "cancelled",
}


def soft_concept(tenant: str, value: CodedValue) -> Json:
    """A CodeableConcept where a LOINC code outside our table keeps only its text.

    The bundle validator takes pass-through LOINC codes only as lab result and
    order codes; elsewhere (appointment service types, document types) an
    unknown LOINC code would fail the whole bundle, so it is carried as text.
    """
    loinc = (value.system or "").strip().upper() in ("LN", "LOINC", codes.LOINC.upper())
    if loinc and value.code not in codes.LOINC_TABLE:
        alternate = value.alternate
        if (
            alternate is not None
            and alternate.code
            and (alternate.system or "").strip().upper() not in ("LN", "LOINC")
        ):
            return concept(
                tenant,
                CodedValue(
                    code=alternate.code,
                    display=alternate.display,
                    system=alternate.system,
                ),
                value.display,
            )
        return {"text": value.display or value.code or "unknown"}
    return concept(tenant, value)


def _order_identifiers(tenant: str, placer: str | None, filler: str | None) -> list[Json]:
    out = []
    for code, display, value in (
        ("PLAC", "Placer Identifier", placer),
        ("FILL", "Filler Identifier", filler),
    ):
        if value and value.strip():
            out.append(
                {
                    "type": simple_concept(codes.V2_0203, code, display),
                    "system": local_system(tenant, f"{code.lower()}-order", None),
                    "value": value.strip(),
                }
            )
    return out


def service_request_status(order: ServiceRequestInput) -> str:
    """ORC-5 via OrderStatus, else ORC-1 via OrderControlCode, else ``unknown``."""
    if order.order_status:
        return ORDER_STATUS.get(order.order_status.strip().upper(), "unknown")
    if order.control:
        return ORDER_CONTROL_STATUS.get(order.control.strip().upper(), "unknown")
    return "unknown"


def build_order_bundle(
    ctx: BundleContext,
    patient: PatientRef | PatientInput,
    orders: Sequence[ServiceRequestInput],
) -> Json:
    """One ServiceRequest per order, matched on its filler (else placer) order number.

    A later message about the same order (ORC-1 CA, DC, SC ...) updates the request
    (conditional PUT) instead of creating another.
    """
    builder = TransactionBuilder(ctx)
    subject = subject_reference(builder, patient)
    seen: set[tuple[str, str]] = set()
    for i, order in enumerate(orders):
        resource: Json = {
            "resourceType": "ServiceRequest",
            "status": service_request_status(order),
            # OBR-11 G (generated order, reflex) -> reflex-order; every other value -> order.
            "intent": "reflex-order" if (order.specimen_action or "").upper() == "G" else "order",
            "subject": subject,
        }
        identifiers = _order_identifiers(
            ctx.tenant, order.placer_order_number, order.filler_order_number
        )
        if identifiers:
            resource["identifier"] = identifiers
        if order.placer_group_number and order.placer_group_number.strip():
            resource["requisition"] = {
                "system": local_system(ctx.tenant, "placer-group", None),
                "value": order.placer_group_number.strip(),
            }
        if order.code is not None:
            resource["code"] = concept(ctx.tenant, order.code)
        if order.authored_on and (order.control or "").upper() == "NW":
            resource["authoredOn"] = fhir_datetime(order.authored_on)
        if order.requester:
            resource["requester"] = {"type": "Practitioner", "display": order.requester}
        priority = PRIORITY.get((order.priority or "").strip().upper())
        if priority:
            resource["priority"] = priority
        if order.occurrence:
            resource["occurrenceDateTime"] = fhir_datetime(order.occurrence)
        if order.reason is not None:
            resource["reasonCode"] = [soft_concept(ctx.tenant, order.reason)]
        if order.note:
            resource["note"] = [{"text": order.note}]
        # The filler's number names the order across messages; else the placer's.
        match_on = None
        for ident in reversed(identifiers):
            key = (ident["system"], ident["value"])
            if key not in seen:
                match_on = {"system": ident["system"], "value": ident["value"]}
                seen.add(key)
                break
        builder.add(
            resource,
            natural_key=f"order:{i}",
            match_on=match_on,
            upsert=match_on is not None,
        )
    return builder.to_dict()


def appointment_status(appointment: AppointmentInput) -> str:
    """SCH-25 via FillerStatusCodes; without it (or unmapped), the trigger event's status."""
    if appointment.filler_status:
        mapped = FILLER_STATUS.get(appointment.filler_status.strip().upper())
        if mapped:
            return mapped
    return EVENT_STATUS.get(appointment.event.upper(), "booked")


def build_appointment_bundle(
    ctx: BundleContext,
    patient: PatientRef | PatientInput,
    appointment: AppointmentInput,
) -> Json:
    """The Appointment of an SIU message, matched on its filler (else placer) id.

    S13 (rescheduled), S14 (modified) and S15 (cancelled) update the Appointment
    S12 created (conditional PUT on the same identifier).
    """
    builder = TransactionBuilder(ctx)
    subject = subject_reference(builder, patient)
    resource: Json = {
        "resourceType": "Appointment",
        "status": appointment_status(appointment),
        "participant": [{"actor": subject, "required": "required", "status": "accepted"}],
    }
    for name in appointment.practitioners:
        resource["participant"].append(
            {"actor": {"type": "Practitioner", "display": name}, "status": "accepted"}
        )
    for place in appointment.locations:
        resource["participant"].append(
            {"actor": {"type": "Location", "display": place}, "status": "accepted"}
        )
    identifiers = []
    for code, display, value in (
        ("PLAC", "Placer Identifier", appointment.placer_id),
        ("FILL", "Filler Identifier", appointment.filler_id),
    ):
        if value and value.strip():
            identifiers.append(
                {
                    "type": simple_concept(codes.V2_0203, code, display),
                    "system": local_system(ctx.tenant, f"{code.lower()}-appointment", None),
                    "value": value.strip(),
                }
            )
    if identifiers:
        resource["identifier"] = identifiers
    if appointment.reason is not None:
        resource["reasonCode"] = [soft_concept(ctx.tenant, appointment.reason)]
    if appointment.appointment_type is not None:
        resource["appointmentType"] = soft_concept(ctx.tenant, appointment.appointment_type)
    if appointment.service_types:
        resource["serviceType"] = [soft_concept(ctx.tenant, s) for s in appointment.service_types]
    if appointment.start:
        resource["start"] = fhir_instant(appointment.start)
    if appointment.end:
        resource["end"] = fhir_instant(appointment.end)
    if appointment.minutes and appointment.minutes > 0:
        resource["minutesDuration"] = appointment.minutes
    if appointment.comment:
        resource["comment"] = appointment.comment
    match_on = None
    if identifiers:
        last = identifiers[-1]
        match_on = {"system": last["system"], "value": last["value"]}
    builder.add(resource, natural_key="appointment", match_on=match_on, upsert=match_on is not None)
    return builder.to_dict()
