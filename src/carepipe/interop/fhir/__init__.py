"""FHIR R4 for CarePipe: transaction bundles per pipeline, validation, the EMR client.

Builders take plain inputs (:mod:`carepipe.interop.fhir.inputs`) and a
:class:`BundleContext`, and return a transaction Bundle as a JSON dict whose ids
are deterministic per (tenant, job key), so a replay never duplicates anything
in the EMR. :func:`ensure_valid` checks a bundle before it is pushed with an
:class:`EmrClient` such as :class:`FhirRestClient`.
"""

from carepipe.interop.fhir.bundle import (
    TransactionBuilder,
    carepipe_system,
    deterministic_uuid,
)
from carepipe.interop.fhir.client import (
    EmrClient,
    FhirRestClient,
    PushedEntry,
    PushResult,
)
from carepipe.interop.fhir.documents import build_document_bundle
from carepipe.interop.fhir.elements import timing_from_text
from carepipe.interop.fhir.hl7 import (
    build_adt_bundle,
    build_oru_bundle,
    encounter_status_for_event,
)
from carepipe.interop.fhir.inputs import (
    AddressInput,
    AllergyInput,
    BundleContext,
    CodedValue,
    DiagnosisInput,
    DocumentInput,
    DosageInput,
    EncounterInput,
    ExtractedLabValue,
    FollowUpInput,
    IdentifierInput,
    LabOrderInput,
    LabReportInput,
    LabResultInput,
    MedicationInput,
    OrdersInput,
    PatientInput,
    PatientRef,
    PractitionerRef,
    ScribeInput,
    TimingInput,
    VitalSignInput,
)
from carepipe.interop.fhir.orders import build_orders_bundle
from carepipe.interop.fhir.scribe import build_scribe_bundle
from carepipe.interop.fhir.validate import ensure_valid, validate_bundle

__all__ = [
    "AddressInput",
    "AllergyInput",
    "BundleContext",
    "CodedValue",
    "DiagnosisInput",
    "DocumentInput",
    "DosageInput",
    "EmrClient",
    "EncounterInput",
    "ExtractedLabValue",
    "FhirRestClient",
    "FollowUpInput",
    "IdentifierInput",
    "LabOrderInput",
    "LabReportInput",
    "LabResultInput",
    "MedicationInput",
    "OrdersInput",
    "PatientInput",
    "PatientRef",
    "PractitionerRef",
    "PushResult",
    "PushedEntry",
    "ScribeInput",
    "TimingInput",
    "TransactionBuilder",
    "VitalSignInput",
    "build_adt_bundle",
    "build_document_bundle",
    "build_orders_bundle",
    "build_oru_bundle",
    "build_scribe_bundle",
    "carepipe_system",
    "deterministic_uuid",
    "encounter_status_for_event",
    "ensure_valid",
    "timing_from_text",
    "validate_bundle",
]
