"""The orders pipeline's bundle: MedicationRequests, ServiceRequests, follow-ups."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Any

from carepipe.interop.fhir import codes
from carepipe.interop.fhir.bundle import TransactionBuilder, fhir_datetime
from carepipe.interop.fhir.elements import (
    add_encounter,
    concept,
    dosage,
    loinc_concept,
    practitioner_reference,
    simple_concept,
    subject_reference,
)
from carepipe.interop.fhir.inputs import (
    BundleContext,
    DateLike,
    FollowUpInput,
    LabOrderInput,
    MedicationInput,
    OrdersInput,
)

Json = dict[str, Any]


def _as_date(value: DateLike) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


def due_date(start: DateLike, interval: int, unit: str) -> date:
    """``start`` plus ``interval`` hours, days, weeks, months or years (month end clamped);
    hours count in whole days ("review in 48 hours" is due two days on)."""
    day = _as_date(start)
    if unit == "h":
        return day + timedelta(days=interval // 24)
    if unit == "d":
        return day + timedelta(days=interval)
    if unit == "wk":
        return day + timedelta(weeks=interval)
    months = interval * 12 if unit == "a" else interval
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# The clinician's verb (start, stop, hold, change, continue): FHIR has no field for it.
ORDER_ACTION_URL = "https://carepipe.dev/fhir/StructureDefinition/order-action"
# A follow-up's interval as written ("in 3 months"), beside the computed due date.
FOLLOW_UP_INTERVAL_URL = "https://carepipe.dev/fhir/StructureDefinition/follow-up-interval"


def _single_dose(instruction: Json) -> Json:
    """A "stat" dose is ``repeat.count`` 1 alone, not "once a day, one dose"."""
    repeat = (instruction.get("timing") or {}).get("repeat")
    if (
        repeat is not None
        and repeat.get("count") == 1
        and (repeat.get("frequency"), repeat.get("period"), repeat.get("periodUnit")) == (1, 1, "d")
        and not repeat.get("when")
        and not repeat.get("boundsDuration")
    ):
        instruction["timing"] = {"repeat": {"count": 1}}
    return instruction


def medication_request_resource(med: MedicationInput, ctx: BundleContext, common: Json) -> Json:
    resource: Json = {
        "resourceType": "MedicationRequest",
        # A "stop metformin" order must reach the EMR as stopped, a "hold" as on-hold,
        # never as active.
        "status": med.status,
        "intent": "order",
        "medicationCodeableConcept": concept(ctx.tenant, med.code, med.name),
        **common,
    }
    if med.action:
        resource["extension"] = [{"url": ORDER_ACTION_URL, "valueCode": med.action}]
    if med.dosages:
        # Dose steps (loading dose, taper) in order: sequence 1, 2, ...
        resource["dosageInstruction"] = [
            _single_dose(dosage(d, sequence=i)) for i, d in enumerate(med.dosages, start=1)
        ]
    elif med.dosage is not None:
        resource["dosageInstruction"] = [_single_dose(dosage(med.dosage, sequence=1))]
    if med.note:
        resource["note"] = [{"text": med.note}]
    return resource


def lab_request_resource(lab: LabOrderInput, common: Json) -> Json:
    category_code, category_display = codes.SERVICE_CATEGORIES[lab.category]
    resource: Json = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "category": [simple_concept(codes.SNOMED, category_code, category_display)],
        "priority": lab.priority,
        "code": loinc_concept(lab.loinc, lab.name) if lab.loinc else {"text": lab.name},
        **common,
    }
    if lab.note:
        resource["note"] = [{"text": lab.note}]
    return resource


def follow_up_resource(
    follow_up: FollowUpInput, orders: OrdersInput, subject: Json, common: Json
) -> Json:
    """A proposed Appointment (or a ServiceRequest) for "follow up in 3 months".

    ``common`` (subject, encounter, requester, authoredOn) applies to a
    ServiceRequest; an Appointment names the patient and clinician as participants.
    """
    due = None
    extension: list[Json] = []
    if follow_up.interval is not None and follow_up.interval_unit is not None:
        due = due_date(orders.authored_on, follow_up.interval, follow_up.interval_unit)
        unit = follow_up.interval_unit
        extension = [
            {
                "url": FOLLOW_UP_INTERVAL_URL,
                "valueDuration": {
                    "value": follow_up.interval,
                    "unit": unit,
                    "system": codes.UCUM,
                    "code": unit,
                },
            }
        ]
    if orders.follow_up_as == "service_request":
        resource: Json = {
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "code": {"text": "Follow-up visit"},
            "patientInstruction": follow_up.description,
            **common,
        }
        if extension:
            resource["extension"] = extension
        if due is not None:
            resource["occurrenceDateTime"] = due.isoformat()
        if follow_up.reason:
            resource["reasonCode"] = [{"text": follow_up.reason}]
        return resource
    resource = {
        "resourceType": "Appointment",
        "status": "proposed",
        "description": follow_up.description,
        "created": fhir_datetime(orders.authored_on),
        "participant": [{"actor": subject, "status": "needs-action"}],
    }
    if extension:
        resource["extension"] = extension
    if orders.requester is not None:
        resource["participant"].append(
            {"actor": practitioner_reference(orders.requester), "status": "needs-action"}
        )
    if due is not None:
        resource["requestedPeriod"] = [{"start": due.isoformat()}]
    if follow_up.reason:
        resource["reasonCode"] = [{"text": follow_up.reason}]
    return resource


def build_orders_bundle(ctx: BundleContext, orders: OrdersInput) -> Json:
    """MedicationRequests, lab/imaging ServiceRequests and follow-ups of free-text orders.

    Follow-ups are proposed Appointments with a requested period starting at the
    due date (or ServiceRequests, with ``orders.follow_up_as="service_request"``).
    """
    builder = TransactionBuilder(ctx)
    subject = subject_reference(builder, orders.patient)
    common: Json = {"subject": subject, "authoredOn": fhir_datetime(orders.authored_on)}
    if orders.encounter is not None:
        common["encounter"] = add_encounter(builder, orders.encounter, subject)
    if orders.requester is not None:
        common["requester"] = practitioner_reference(orders.requester)

    for i, med in enumerate(orders.medications):
        builder.add(medication_request_resource(med, ctx, common), natural_key=f"med:{i}")
    for i, lab in enumerate(orders.labs):
        builder.add(
            lab_request_resource(lab, common), natural_key=f"lab:{i}", kind="servicerequest"
        )
    for i, follow_up in enumerate(orders.follow_ups):
        builder.add(
            follow_up_resource(follow_up, orders, subject, common), natural_key=f"follow-up:{i}"
        )
    return builder.to_dict()
