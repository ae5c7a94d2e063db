"""MedicationStatement: a medication the patient takes, as a consultation or a document says."""

from __future__ import annotations

from carepipe.interop.fhir.elements import Json, concept, dosage
from carepipe.interop.fhir.inputs import MedicationInput


def medication_statement_resource(
    med: MedicationInput,
    tenant: str,
    subject: Json,
    asserted: str,
    *,
    encounter: Json | None = None,
    derived_from: Json | None = None,
) -> Json:
    """The statement; ``encounter``: where it was said; ``derived_from``: the document read."""
    resource: Json = {
        "resourceType": "MedicationStatement",
        "status": med.status,
        "medicationCodeableConcept": concept(tenant, med.code, med.name),
        "subject": subject,
        "dateAsserted": asserted,
    }
    if encounter is not None:
        resource["context"] = encounter
    if derived_from is not None:
        resource["derivedFrom"] = [derived_from]
    if med.dosage is not None:
        resource["dosage"] = [dosage(med.dosage)]
    if med.note:
        resource["note"] = [{"text": med.note}]
    return resource
