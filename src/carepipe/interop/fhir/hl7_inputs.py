"""Typed inputs of the HL7 v2 bundle builders beyond ADT and ORU (orders, appointments,
documents, immunizations, merges). Plain values: the ``hl7`` stage handler maps the
parsed message to these; the builders know the v2-to-FHIR code mappings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from carepipe.interop.fhir.inputs import CodedValue, DateLike, PatientInput


@dataclass(frozen=True)
class ServiceRequestInput:
    """One order (ORC + OBR) of an ORM^O01 or OML^O21.

    ``control`` is ORC-1 (table 0119), ``order_status`` ORC-5 (table 0038),
    ``priority`` a table 0485 code (S, A, R, ...), ``specimen_action`` OBR-11.
    """

    code: CodedValue | None = None
    control: str | None = None
    order_status: str | None = None
    placer_order_number: str | None = None
    filler_order_number: str | None = None
    placer_group_number: str | None = None
    authored_on: DateLike | None = None
    requester: str | None = None  # display name of the ordering provider
    priority: str | None = None
    occurrence: DateLike | None = None
    specimen_action: str | None = None
    reason: CodedValue | None = None
    note: str | None = None


@dataclass(frozen=True)
class AppointmentInput:
    """An SIU appointment: SCH (+ TQ1, AIS/AIL/AIP). ``event`` is the trigger (S12-S15)."""

    event: str
    placer_id: str | None = None
    filler_id: str | None = None
    filler_status: str | None = None  # SCH-25 (table 0278: Booked, Cancelled, ...)
    reason: CodedValue | None = None
    appointment_type: CodedValue | None = None
    service_types: Sequence[CodedValue] = ()
    start: DateLike | None = None
    end: DateLike | None = None
    minutes: int | None = None
    practitioners: Sequence[str] = ()  # display names (AIP-3)
    locations: Sequence[str] = ()  # display text (AIL-3)
    comment: str | None = None


@dataclass(frozen=True)
class DocumentAttachment:
    """One piece of an MDM document: text, or Base64 data with its media type."""

    content_type: str
    text: str | None = None
    data_base64: str | None = None


@dataclass(frozen=True)
class ClinicalDocumentInput:
    """An MDM^T02 document (TXA + OBX content)."""

    attachments: Sequence[DocumentAttachment]
    document_type: CodedValue | None = None
    unique_number: str | None = None  # TXA-12
    completion_status: str | None = None  # TXA-17 (table 0271)
    availability: str | None = None  # TXA-19 (table 0273)
    date: DateLike | None = None  # TXA-6 origination (with a time)
    authors: Sequence[str] = ()  # display names (TXA-9)


@dataclass(frozen=True)
class ImmunizationInput:
    """One RXA (+ RXR, ORC) of a VXU^V04."""

    vaccine: CodedValue
    occurrence: DateLike
    completion_status: str | None = None  # RXA-20 (table 0322)
    action_code: str | None = None  # RXA-21
    dose_value: float | None = None
    dose_unit: str | None = None
    primary_source: bool | None = None  # RXA-9: 00 new record -> True, others -> False
    lot_number: str | None = None
    expiration_date: DateLike | None = None
    manufacturer: str | None = None
    refusal_reason: CodedValue | None = None
    route: CodedValue | None = None
    site: CodedValue | None = None
    placer_order_number: str | None = None
    filler_order_number: str | None = None


@dataclass(frozen=True)
class MergeInput:
    """An ADT^A40: the surviving patient (PID) and the MRN it replaces (MRG-1)."""

    survivor: PatientInput
    prior_mrn: str
    prior_mrn_authority: str | None = None
