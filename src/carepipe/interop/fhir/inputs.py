"""Plain typed inputs of the FHIR bundle builders.

The builders do not know the engines: a stage handler maps an engine's result
(or a parsed HL7 message) to these dataclasses and calls a builder. Every
builder also takes a :class:`BundleContext` (tenant + job key), from which the
bundle's deterministic ids are derived, so a replay of the same job builds the
same bundle and the EMR does not get a second copy.

Dates and times are ``datetime`` (aware; naive ones are read as UTC), ``date``,
or a string already in FHIR format. Free text fields carry clinical content (PHI):
they go into the bundle and never into logs or error messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from carepipe.interop.fhir.codes import ABHA_SYSTEM

DateLike = datetime | date | str

VitalKind = Literal[
    "blood_pressure",
    "heart_rate",
    "respiratory_rate",
    "temperature",
    "spo2",
    "weight",
    "height",
    "bmi",
]
DocumentKind = Literal["lab_report", "prescription", "discharge_summary", "other"]
PeriodUnit = Literal["s", "min", "h", "d", "wk", "mo", "a"]


@dataclass(frozen=True)
class BundleContext:
    """Where a bundle comes from: the tenant and the job's idempotency key.

    ``job_key`` is the job's idempotency key, or its id when it has none. Replays
    and backfills reuse the key of the message they replay, so they rebuild the
    same ids and conditional creates match what the first push created.
    """

    tenant: str
    job_key: str


@dataclass(frozen=True)
class IdentifierInput:
    """A business identifier: a system URI and a value."""

    system: str
    value: str


@dataclass(frozen=True)
class CodedValue:
    """A code as a source gives it (HL7 CE/CWE, an engine's coding), plus its text.

    ``system`` is a URI (``http://loinc.org``) or an HL7 v2 coding-system name
    (``LN``, ``SCT``, ``I10``, ``RXN``, or a local name such as ``L`` or ``99LAB``).
    Local systems become ``urn:carepipe:<tenant>:code:<name>``.
    """

    code: str | None = None
    display: str | None = None
    system: str | None = None
    alternate: CodedValue | None = None


@dataclass(frozen=True)
class PatientRef:
    """A patient who already exists in the EMR: by server id or by an identifier.

    Exactly one of ``server_id`` (gives ``Patient/<id>``) and ``identifier``
    (gives the conditional reference ``Patient?identifier=<system>|<value>``).
    """

    server_id: str | None = None
    identifier: IdentifierInput | None = None

    def __post_init__(self) -> None:
        if (self.server_id is None) == (self.identifier is None):
            raise ValueError("PatientRef needs exactly one of server_id and identifier")

    @classmethod
    def by_id(cls, server_id: str) -> PatientRef:
        """The patient ``Patient/<server_id>`` on the EMR."""
        return cls(server_id=server_id)

    @classmethod
    def by_identifier(cls, system: str, value: str) -> PatientRef:
        """The patient the EMR finds by this identifier."""
        return cls(identifier=IdentifierInput(system, value))

    @classmethod
    def by_abha(cls, abha_number: str) -> PatientRef:
        """The patient with this ABHA number (14 digits, hyphens allowed)."""
        return cls(identifier=IdentifierInput(ABHA_SYSTEM, abha_number))


@dataclass(frozen=True)
class PractitionerRef:
    """A clinician: by server id, by identifier, or only by display name."""

    server_id: str | None = None
    identifier: IdentifierInput | None = None
    display: str | None = None

    def __post_init__(self) -> None:
        if self.server_id is None and self.identifier is None and not self.display:
            raise ValueError("PractitionerRef needs a server_id, an identifier or a display")


@dataclass(frozen=True)
class AddressInput:
    lines: Sequence[str] = ()
    city: str | None = None
    district: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class PatientInput:
    """Demographics of a patient to create (HL7 PID).

    At least one of ``mrn``, ``abha_number`` or ``other_identifiers`` is needed:
    it is what the EMR matches on so the patient is never created twice.
    ``mrn_system`` wins over ``mrn_authority`` (PID-3.4) to name the MRN's system;
    ``gender`` takes HL7 administrative sex (M/F/O/U/A/N) or FHIR codes.
    """

    mrn: str | None = None
    mrn_authority: str | None = None
    mrn_system: str | None = None
    abha_number: str | None = None
    family_name: str | None = None
    given_names: Sequence[str] = ()
    gender: str | None = None
    birth_date: date | str | None = None
    phone: str | None = None
    address: AddressInput | None = None
    other_identifiers: Sequence[IdentifierInput] = ()


@dataclass(frozen=True)
class EncounterInput:
    """A visit. With ``server_id`` it already exists and is only referenced.

    ``encounter_class`` takes a v3 ActCode (AMB, IMP, EMER, ...) or an HL7 PV1-2
    letter (I, O, E, P). ``visit_number`` (PV1-19) is the natural key when given.
    """

    server_id: str | None = None
    visit_number: str | None = None
    visit_authority: str | None = None
    encounter_class: str = "AMB"
    status: str = "finished"
    start: DateLike | None = None
    end: DateLike | None = None
    type_text: str | None = None
    reason_text: str | None = None


@dataclass(frozen=True)
class TimingInput:
    """``frequency`` times per ``period`` ``period_unit`` (2 per 1 d = twice a day).

    ``when`` takes FHIR event timing codes (MORN, HS, AC, PC, ...); ``duration``
    and ``duration_unit`` bound the course (5 d).
    """

    frequency: int = 1
    period: float = 1
    period_unit: PeriodUnit = "d"
    when: Sequence[str] = ()
    duration: float | None = None
    duration_unit: PeriodUnit | None = None
    count: int | None = None  # doses in all (repeat.count): 1 for a "stat" dose


@dataclass(frozen=True)
class DosageInput:
    """How a medication is taken. ``route`` is free text (oral, IV, ...)."""

    text: str | None = None
    route: str | None = None
    dose_value: float | None = None
    dose_unit: str | None = None
    timing: TimingInput | None = None
    as_needed: bool = False
    as_needed_reason: str | None = None


@dataclass(frozen=True)
class MedicationInput:
    """A medication mentioned (scribe) or ordered (orders)."""

    name: str
    code: CodedValue | None = None
    dosage: DosageInput | None = None
    status: str = "active"
    note: str | None = None
    # Orders: dose steps in order (loading dose, taper), used instead of ``dosage``; and
    # the clinician's action (start, stop, hold, change, continue).
    dosages: Sequence[DosageInput] = ()
    action: str | None = None


@dataclass(frozen=True)
class DiagnosisInput:
    """A diagnosis; ``code`` is ICD-10 or SNOMED CT when known, else only text."""

    text: str
    code: CodedValue | None = None
    clinical_status: str = "active"
    verification_status: str = "confirmed"
    category: str = "encounter-diagnosis"
    onset: DateLike | None = None


@dataclass(frozen=True)
class AllergyInput:
    substance: str
    code: CodedValue | None = None
    reaction: str | None = None
    category: str | None = None
    criticality: str | None = None
    allergy_type: str | None = None
    clinical_status: str = "active"
    verification_status: str = "confirmed"
    # Scribe: why a reviewer should look (low confidence, ASR correction, contradiction).
    note: str | None = None


@dataclass(frozen=True)
class VitalSignInput:
    """One vital sign. Blood pressure uses ``systolic``/``diastolic``, others ``value``.

    ``unit`` defaults to the usual one (mm[Hg], /min, Cel, %, kg, cm, kg/m2);
    common spellings (mmHg, bpm, F, lbs) are mapped to UCUM.
    """

    kind: VitalKind
    value: float | None = None
    unit: str | None = None
    systolic: float | None = None
    diastolic: float | None = None
    observed_at: DateLike | None = None
    # Scribe: why a reviewer should look (low confidence, ASR correction, implausible).
    note: str | None = None


@dataclass(frozen=True)
class ObservationInput:
    """A coded measurement that is not a vital sign (a lab said aloud, the fetal heart rate).

    ``category`` is an observation-category code (``laboratory``, ``exam``).
    """

    loinc: str
    value: float
    unit: str | None = None
    category: str = "laboratory"
    note: str | None = None


@dataclass(frozen=True)
class ApprovalInput:
    """A clinician's approval of a reviewed scribe note: the bundle's Provenance.

    ``approver`` is the console user's name (an identifier in the tenant's user system, not
    a Practitioner on the EMR); the draft and the model versions are the entities the
    approved note was revised from.
    """

    approver: str
    approved_at: DateLike
    approver_display: str = ""
    review_id: str = ""
    draft_note_id: str = ""
    draft_transcript_id: str = ""
    asr_model_version: str = ""
    note_model_version: str = ""


@dataclass(frozen=True)
class ScribeInput:
    """A consultation note drafted by the scribe pipeline (SOAP), and what it found."""

    patient: PatientRef | PatientInput
    recorded_at: DateLike
    subjective: str = ""
    objective: str = ""
    assessment: str = ""
    plan: str = ""
    note_type: Literal["consult", "note", "progress"] = "consult"
    status: Literal["preliminary", "final", "amended"] = "preliminary"
    title: str = "Consultation note"
    encounter: EncounterInput | None = None
    author: PractitionerRef | None = None
    approved_by: PractitionerRef | None = None
    approved_at: DateLike | None = None
    model_version: str | None = None
    vitals: Sequence[VitalSignInput] = ()
    medications: Sequence[MedicationInput] = ()
    diagnoses: Sequence[DiagnosisInput] = ()
    allergies: Sequence[AllergyInput] = ()
    transcript: str | None = None
    transcript_language: str | None = None
    # Scribe (issue 11): labs said aloud, fetal heart rate, other coded measurements.
    observations: Sequence[ObservationInput] = ()
    # Clinician review (issue 14): who approved the note, from which draft (a Provenance).
    approval: ApprovalInput | None = None
    # What was said as an order and could not be read ("start f3xone 500 milligrams twice
    # daily"): a Composition section of its own, so the EMR's reader sees it was said.
    unread: Sequence[str] = ()


@dataclass(frozen=True)
class LabResultInput:
    """One HL7 OBX result.

    ``value_type`` is OBX-2 (NM, SN, ST, TX, CE, ...); a numeric value (or SN
    like ``<5``) becomes a ``valueQuantity``, anything else a ``valueString``.
    ``reference_range`` is OBX-7 (``3.5-5.0``, ``<5``, ``>10`` or text),
    ``abnormal_flags`` OBX-8, ``status`` OBX-11 (F, P, C, ...).
    """

    code: CodedValue
    value: str | float | None = None
    value_type: str | None = None
    unit: str | None = None
    reference_range: str | None = None
    abnormal_flags: Sequence[str] = ()
    status: str = "F"
    observed_at: DateLike | None = None
    set_id: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class LabReportInput:
    """One HL7 OBR with its OBX results. ``status`` is OBR-25."""

    code: CodedValue
    results: Sequence[LabResultInput] = ()
    status: str = "F"
    filler_order_number: str | None = None
    placer_order_number: str | None = None
    effective: DateLike | None = None
    issued: DateLike | None = None


@dataclass(frozen=True)
class ExtractedLabValue:
    """A lab value read off a scanned document by OCR + extraction."""

    name: str
    value: str | float | None
    unit: str | None = None
    loinc: str | None = None
    reference_range: str | None = None
    flag: str | None = None
    confidence: float | None = None
    observed_at: DateLike | None = None


@dataclass(frozen=True)
class DocumentInput:
    """A scanned document: the original bytes, its OCR text, values extracted from it.

    ``status`` is the DocumentReference.docStatus and the status of the extracted
    Observations: ``preliminary`` until a person has checked the extraction.
    """

    kind: DocumentKind
    content: bytes
    content_type: str
    received_at: DateLike
    ocr_text: str | None = None
    title: str | None = None
    created: DateLike | None = None
    status: Literal["preliminary", "final"] = "preliminary"
    encounter: EncounterInput | None = None
    lab_values: Sequence[ExtractedLabValue] = ()
    engine: str | None = None
    # OCR documents (issue 12): medications read off a prescription or a discharge
    # list, and why a person must check the extraction (PHI-free reasons).
    medications: Sequence[MedicationInput] = ()
    medication_resource: Literal["MedicationRequest", "MedicationStatement"] = "MedicationStatement"
    review_reasons: Sequence[str] = ()


@dataclass(frozen=True)
class LabOrderInput:
    """A test to order; ``loinc`` when the extraction found one."""

    name: str
    loinc: str | None = None
    category: Literal["laboratory", "imaging", "counselling", "referral", "procedure"] = (
        "laboratory"
    )
    priority: Literal["routine", "urgent", "asap", "stat"] = "routine"
    note: str | None = None


@dataclass(frozen=True)
class FollowUpInput:
    """A follow-up: "follow up in 3 months" is ``interval=3, interval_unit="mo"``."""

    description: str
    interval: int | None = None
    interval_unit: Literal["h", "d", "wk", "mo", "a"] | None = None
    reason: str | None = None


@dataclass(frozen=True)
class OrdersInput:
    """Orders extracted from free text by the clinical NLP engine."""

    patient: PatientRef | PatientInput
    authored_on: DateLike
    medications: Sequence[MedicationInput] = ()
    labs: Sequence[LabOrderInput] = ()
    follow_ups: Sequence[FollowUpInput] = ()
    requester: PractitionerRef | None = None
    encounter: EncounterInput | None = None
    follow_up_as: Literal["appointment", "service_request"] = "appointment"
