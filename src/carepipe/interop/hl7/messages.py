"""Typed results of parsing an HL7 v2 message (ADT, ORU, ORM/OML, SIU, MDM, VXU).

Plain frozen dataclasses: cheap to build, and ``to_dict`` / ``from_dict`` give
the JSON form a stage handler stores as an artifact. Dates and times are ISO
8601 strings at the precision the sender gave (``1980``, ``1980-04``,
``2024-03-01T10:30:00+05:30``); the offset is present only if the sender sent one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

ENGINE = "carepipe-hl7"

# HL7 table 0001 (administrative sex) -> FHIR AdministrativeGender: the v2-to-FHIR IG
# ConceptMap "AdministrativeSex" (A ambiguous and N not applicable -> other).
FHIR_GENDER = {
    "M": "male",
    "F": "female",
    "O": "other",
    "A": "other",
    "N": "other",
    "U": "unknown",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class CodedValue:
    """A CE/CWE/CNE: code, text and coding system (``LN`` = LOINC), plus the alternate triple."""

    code: str | None = None
    text: str | None = None
    system: str | None = None
    alt_code: str | None = None
    alt_text: str | None = None
    alt_system: str | None = None

    @property
    def is_loinc(self) -> bool:
        return (self.system or "").upper() in ("LN", "LOINC")

    @property
    def loinc_code(self) -> str | None:
        """The LOINC code, from the primary or the alternate triple."""
        if self.is_loinc:
            return self.code
        if (self.alt_system or "").upper() in ("LN", "LOINC"):
            return self.alt_code
        return None

    @property
    def display(self) -> str | None:
        return self.text or self.code or self.alt_text or self.alt_code


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientIdentifier:
    """One PID-3 repetition (CX)."""

    value: str
    assigning_authority: str | None = None  # CX-4.1, HD namespace id
    authority_universal_id: str | None = None  # CX-4.2 (e.g. an OID)
    authority_universal_id_type: str | None = None  # CX-4.3 (ISO, DNS, ...)
    identifier_type: str | None = None  # CX-5, HL7 table 0203 (MR, PI, NH, ...)
    assigning_facility: str | None = None  # CX-6.1


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonName:
    """One XPN repetition (PID-5)."""

    family: str | None = None
    given: str | None = None
    middle: str | None = None
    suffix: str | None = None
    prefix: str | None = None
    name_type: str | None = None  # HL7 table 0200: L legal, D display, ...

    @property
    def text(self) -> str:
        parts = [self.prefix, self.given, self.middle, self.family, self.suffix]
        return " ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """One XAD repetition (PID-11)."""

    street: str | None = None
    other: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    address_type: str | None = None  # HL7 table 0190: H home, B business, ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Telecom:
    """One XTN repetition (PID-13 home, PID-14 business)."""

    value: str
    use: str | None = None  # XTN-2, table 0201: PRN, WPN, ORN, NET, ...
    equipment: str | None = None  # XTN-3, table 0202: PH, CP, FX, Internet, ...
    kind: Literal["home", "business"] = "home"


@dataclass(frozen=True, slots=True, kw_only=True)
class Provider:
    """An XCN (attending doctor, ordering provider)."""

    id: str | None = None
    family: str | None = None
    given: str | None = None
    prefix: str | None = None
    assigning_authority: str | None = None

    @property
    def text(self) -> str:
        return " ".join(p for p in (self.prefix, self.given, self.family) if p)


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """A PL (PV1-3): point of care, room, bed, facility, building, floor."""

    point_of_care: str | None = None
    room: str | None = None
    bed: str | None = None
    facility: str | None = None
    building: str | None = None
    floor: str | None = None

    @property
    def text(self) -> str:
        return "/".join(p for p in (self.facility, self.point_of_care, self.room, self.bed) if p)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class PatientInfo:
    """The patient from PID. Its ``repr`` hides everything (it is PHI; reprs end up in logs)."""

    identifiers: tuple[PatientIdentifier, ...]
    names: tuple[PersonName, ...] = ()
    birth_date: str | None = None  # PID-7, date part only
    sex: str | None = None  # PID-8 as sent (HL7 table 0001; CWE from 2.7)
    addresses: tuple[Address, ...] = ()
    telecoms: tuple[Telecom, ...] = ()

    def __repr__(self) -> str:
        return f"PatientInfo(<{len(self.identifiers)} identifiers, redacted>)"

    @property
    def mrn(self) -> PatientIdentifier | None:
        """The medical record number: the first identifier of type MR, else the first one."""
        for ident in self.identifiers:
            if (ident.identifier_type or "").upper() == "MR":
                return ident
        return self.identifiers[0] if self.identifiers else None

    def identifiers_of_type(self, identifier_type: str) -> list[PatientIdentifier]:
        wanted = identifier_type.upper()
        return [i for i in self.identifiers if (i.identifier_type or "").upper() == wanted]

    @property
    def name(self) -> PersonName | None:
        """The legal name (type L) if given, else the first name."""
        for n in self.names:
            if (n.name_type or "").upper() == "L":
                return n
        return self.names[0] if self.names else None

    @property
    def gender(self) -> str | None:
        """PID-8 as a FHIR AdministrativeGender code; a code outside table 0001 is ``unknown``.

        (The parser adds a warning to the message when that happens.)
        """
        if not self.sex:
            return None
        return FHIR_GENDER.get(self.sex.strip().upper(), "unknown")


@dataclass(frozen=True, slots=True, kw_only=True)
class Visit:
    """The visit from PV1."""

    patient_class: str | None = None  # PV1-2, table 0004: I, O, E, P, R, B, ...
    location: Location | None = None  # PV1-3
    attending: Provider | None = None  # PV1-7 (first repetition)
    visit_number: str | None = None  # PV1-19
    admit_time: str | None = None  # PV1-44
    discharge_time: str | None = None  # PV1-45


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """One OBX."""

    segment_index: int  # position of the OBX in the message (0 = MSH), for error reports
    set_id: int | None = None  # OBX-1
    value_type: str | None = None  # OBX-2 (NM, ST, TX, FT, CE, CWE, SN, DT, TS, ...)
    code: CodedValue  # OBX-3
    sub_id: str | None = None  # OBX-4
    values: tuple[str, ...] = ()  # OBX-5, one display string per repetition
    numeric_value: float | None = None  # NM, or SN with "=" / no comparator
    comparator: str | None = None  # SN comparator (<, >, <=, >=, <>)
    coded_value: CodedValue | None = None  # CE/CWE/CNE values
    units: CodedValue | None = None  # OBX-6
    reference_range: str | None = None  # OBX-7
    abnormal_flags: tuple[str, ...] = ()  # OBX-8
    result_status: str | None = None  # OBX-11 (F final, P preliminary, C corrected, ...)
    observation_time: str | None = None  # OBX-14
    notes: tuple[str, ...] = ()  # NTE after this OBX

    @property
    def value(self) -> str | None:
        """OBX-5 as one display string (repetitions joined by newlines)."""
        return "\n".join(self.values) if self.values else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservationRequest:
    """One OBR with its OBX results."""

    segment_index: int
    set_id: int | None = None  # OBR-1
    placer_order_number: str | None = None  # OBR-2
    filler_order_number: str | None = None  # OBR-3
    service: CodedValue  # OBR-4
    observation_time: str | None = None  # OBR-7
    ordering_provider: Provider | None = None  # OBR-16
    results_time: str | None = None  # OBR-22
    result_status: str | None = None  # OBR-25
    observations: tuple[Observation, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedMessage:
    """What every supported message has: the MSH header."""

    kind: str = "unknown"
    message_type: str  # MSH-9.1
    trigger_event: str  # MSH-9.2
    message_structure: str | None = None  # MSH-9.3
    control_id: str  # MSH-10
    version: str  # MSH-12.1
    processing_id: str | None = None  # MSH-11.1
    message_time: str | None = None  # MSH-7
    sending_application: str | None = None  # MSH-3.1
    sending_facility: str | None = None  # MSH-4.1
    receiving_application: str | None = None  # MSH-5.1
    receiving_facility: str | None = None  # MSH-6.1
    # How the bytes were read, not what they say: left out of equality comparisons.
    charset: str | None = field(default=None, compare=False)  # the charset used to decode
    # PHI-free notes on what was read leniently (e.g. a sex code outside table 0001).
    warnings: tuple[str, ...] = field(default=(), compare=False)
    engine: str = ENGINE
    model_version: str = ""

    @property
    def event(self) -> str:
        """``ADT^A01``-style message type and trigger."""
        return f"{self.message_type}^{self.trigger_event}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists when serialised)."""
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ParsedMessage:
        """Rebuild a parsed message (``AdtMessage``, ``OruMessage``, ...) from ``to_dict``."""
        cls = _KINDS.get(str(data.get("kind")))
        if cls is None:
            raise ValueError("unknown parsed-message kind")
        return _adapter(cls).validate_python(data)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class MergeInfo:
    """MRG of an ADT^A40 (merge patient): the identifiers the surviving patient replaces."""

    prior_identifiers: tuple[PatientIdentifier, ...]  # MRG-1
    prior_visit_number: str | None = None  # MRG-5

    def __repr__(self) -> str:
        return f"MergeInfo(<{len(self.prior_identifiers)} identifiers, redacted>)"

    @property
    def prior_mrn(self) -> PatientIdentifier | None:
        """The merged-away MRN: the first MRG-1 identifier of type MR, else the first one."""
        for ident in self.prior_identifiers:
            if (ident.identifier_type or "").upper() == "MR":
                return ident
        return self.prior_identifiers[0] if self.prior_identifiers else None


@dataclass(frozen=True, slots=True, kw_only=True)
class AdtMessage(ParsedMessage):
    """ADT: admit/visit/transfer/discharge events, person updates (A28/A31), merges (A40)."""

    kind: str = "adt"
    patient: PatientInfo
    visit: Visit | None = None
    merge: MergeInfo | None = None  # A40 only


@dataclass(frozen=True, slots=True, kw_only=True)
class OruMessage(ParsedMessage):
    """ORU R01: unsolicited observation results for one patient."""

    kind: str = "oru"
    patient: PatientInfo
    visit: Visit | None = None
    orders: tuple[ObservationRequest, ...] = field(default=())

    @property
    def observations(self) -> list[Observation]:
        return [obx for obr in self.orders for obx in obr.observations]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderInfo:
    """One order of an ORM^O01 / OML^O21: its ORC and the OBR that details it."""

    segment_index: int  # the ORC (or the OBR when there is no ORC)
    control: str | None = None  # ORC-1 (table 0119: NW, CA, DC, SC, ...)
    status: str | None = None  # ORC-5 (table 0038)
    placer_order_number: str | None = None  # ORC-2, else OBR-2
    filler_order_number: str | None = None  # ORC-3, else OBR-3
    placer_group_number: str | None = None  # ORC-4
    authored_time: str | None = None  # ORC-9
    ordering_provider: Provider | None = None  # ORC-12, else OBR-16
    service: CodedValue | None = None  # OBR-4
    priority: str | None = None  # TQ1-9 / ORC-7.6 / OBR-27.6 (S, A, R, P, C, T)
    requested_time: str | None = None  # TQ1-7, else OBR-6
    specimen_action: str | None = None  # OBR-11 (A add-on, G reflex)
    reason: CodedValue | None = None  # OBR-31 (first repetition)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderMessage(ParsedMessage):
    """ORM^O01 (general order) and OML^O21 (laboratory order) for one patient."""

    kind: str = "order"
    patient: PatientInfo
    visit: Visit | None = None
    orders: tuple[OrderInfo, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AppointmentInfo:
    """SCH (+ TQ1, AIS/AIG/AIL/AIP) of an SIU message."""

    placer_id: str | None = None  # SCH-1.1
    filler_id: str | None = None  # SCH-2.1
    event_reason: CodedValue | None = None  # SCH-6
    reason: CodedValue | None = None  # SCH-7
    appointment_type: CodedValue | None = None  # SCH-8
    duration: str | None = None  # SCH-9
    duration_units: str | None = None  # SCH-10.1
    start: str | None = None  # SCH-11.4 (2.2-2.4), TQ1-7 or the first AIS/AIG/AIL/AIP start
    end: str | None = None  # SCH-11.5 or TQ1-8
    filler_status: str | None = None  # SCH-25.1 (table 0278)
    services: tuple[CodedValue, ...] = ()  # AIS-3
    locations: tuple[str, ...] = ()  # AIL-3 (as text)
    practitioners: tuple[Provider, ...] = ()  # AIP-3
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleMessage(ParsedMessage):
    """SIU^S12 (new), S13 (rescheduled), S14 (modified), S15 (cancelled) appointment."""

    kind: str = "schedule"
    patient: PatientInfo
    visit: Visit | None = None
    appointment: AppointmentInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentContent:
    """One OBX-5 of an MDM: text (TX/FT/ST) or an encapsulated document (ED, base64)."""

    value_type: str | None = None  # OBX-2
    text: str | None = None  # TX/FT/ST/CE...: the repetitions joined by newlines
    data_base64: str | None = None  # ED: ED-5 as sent (Base64 encoding only)
    media_type: str | None = None  # ED-2/ED-3 as a MIME type (``application/pdf``)


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentInfo:
    """TXA of an MDM^T02 and the document's content."""

    document_type: CodedValue | None = None  # TXA-2
    presentation: str | None = None  # TXA-3 (TX, FT, AP, ...)
    activity_time: str | None = None  # TXA-4
    origination_time: str | None = None  # TXA-6
    authors: tuple[Provider, ...] = ()  # TXA-9
    unique_number: str | None = None  # TXA-12.1
    file_name: str | None = None  # TXA-16
    completion_status: str | None = None  # TXA-17 (table 0271)
    availability: str | None = None  # TXA-19 (table 0273)
    contents: tuple[DocumentContent, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentMessage(ParsedMessage):
    """MDM^T02: original document notification and content."""

    kind: str = "document"
    patient: PatientInfo
    visit: Visit | None = None
    document: DocumentInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class ImmunizationInfo:
    """One RXA (+ RXR, ORC) of a VXU^V04."""

    segment_index: int
    placer_order_number: str | None = None  # ORC-2
    filler_order_number: str | None = None  # ORC-3
    start: str | None = None  # RXA-3
    vaccine: CodedValue  # RXA-5
    amount: str | None = None  # RXA-6 (999 = unknown)
    units: CodedValue | None = None  # RXA-7
    administration_notes: CodedValue | None = None  # RXA-9 (NIP001: 00 new, 01 historical)
    lot_numbers: tuple[str, ...] = ()  # RXA-15
    expiration_date: str | None = None  # RXA-16
    manufacturer: CodedValue | None = None  # RXA-17
    refusal_reason: CodedValue | None = None  # RXA-18
    completion_status: str | None = None  # RXA-20 (table 0322)
    action_code: str | None = None  # RXA-21 (A add, D delete, U update)
    route: CodedValue | None = None  # RXR-1
    site: CodedValue | None = None  # RXR-2


@dataclass(frozen=True, slots=True, kw_only=True)
class VaccinationMessage(ParsedMessage):
    """VXU^V04: unsolicited vaccination record update for one patient."""

    kind: str = "vaccination"
    patient: PatientInfo
    visit: Visit | None = None
    immunizations: tuple[ImmunizationInfo, ...] = ()


# Every message with a patient: what the pipeline's stages accept.
PatientMessage = (
    AdtMessage | OruMessage | OrderMessage | ScheduleMessage | DocumentMessage | VaccinationMessage
)

_KINDS: dict[str, type[ParsedMessage]] = {
    "adt": AdtMessage,
    "oru": OruMessage,
    "order": OrderMessage,
    "schedule": ScheduleMessage,
    "document": DocumentMessage,
    "vaccination": VaccinationMessage,
}


@cache
def _adapter(cls: type) -> Any:
    # Imported lazily: pydantic is only needed to rebuild stored results.
    from pydantic import TypeAdapter

    return TypeAdapter(cls)
