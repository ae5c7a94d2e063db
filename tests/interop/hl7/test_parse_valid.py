"""Typed extraction from the sample messages (2.3, 2.4, 2.5, 2.5.1; CR, LF, CRLF; MLLP-framed)."""

from __future__ import annotations

import json

import pytest

from carepipe.interop.hl7 import AdtMessage, OruMessage, ParsedMessage, parse_header, parse_message
from tests.interop.hl7.samples import VALID, sample


def test_adt_a01_v23_with_lf_line_endings() -> None:
    m = parse_message(sample("adt_a01_v23_lf.hl7"))
    assert isinstance(m, AdtMessage)
    assert (m.kind, m.event, m.version, m.control_id) == ("adt", "ADT^A01", "2.3", "MSG00001")
    assert (m.sending_application, m.sending_facility) == ("HIS", "CITYHOSP")
    assert (m.receiving_application, m.receiving_facility) == ("CAREPIPE", "CP")
    assert m.message_structure is None and m.processing_id == "P"
    assert m.message_time == "2024-03-05T08:30:00"
    p = m.patient
    assert [(i.value, i.assigning_authority, i.identifier_type) for i in p.identifiers] == [
        ("MRN10001", "CITYHOSP", "MR"),
        ("998877", "LAB", "PI"),
    ]
    assert p.mrn is not None and p.mrn.value == "MRN10001"
    assert len(p.names) == 2 and p.name is not None
    assert (p.name.family, p.name.given, p.name.middle, p.name.prefix) == (
        "Sharma",
        "Priya",
        "K",
        "Dr.",
    )
    assert p.name.text == "Dr. Priya K Sharma"
    assert p.names[1].name_type == "D"
    assert p.birth_date == "1985-04-12"
    assert (p.sex, p.gender) == ("F", "female")
    (addr,) = p.addresses
    assert addr.street == "12 M G Road&Annexe"  # \T\ escape
    assert (addr.city, addr.state, addr.postal_code, addr.country) == (
        "Bengaluru",
        "KA",
        "560001",
        "IND",
    )
    assert [(t.value, t.kind, t.use) for t in p.telecoms] == [
        ("(080)2222-3333", "home", "PRN"),
        ("(080)4444-5555", "business", "WPN"),
    ]
    v = m.visit
    assert v is not None
    assert v.patient_class == "I"
    assert v.location is not None
    assert (v.location.point_of_care, v.location.room, v.location.bed, v.location.facility) == (
        "W3",
        "301",
        "B",
        "CITYHOSP",
    )
    assert v.attending is not None and (v.attending.id, v.attending.family) == ("4001", "Rao")
    assert v.visit_number == "V20240305-01"
    assert v.admit_time == "2024-03-05T08:15:00"


def test_adt_a04_v24_with_crlf_authority_oid_and_structured_phones() -> None:
    m = parse_message(sample("adt_a04_v24_crlf.hl7"))
    assert isinstance(m, AdtMessage)
    assert (m.event, m.version, m.message_structure) == ("ADT^A04", "2.4", "ADT_A01")
    assert m.sending_facility == "NORTHCLINIC"  # first component of the HD
    (ident,) = m.patient.identifiers
    assert (ident.value, ident.assigning_authority, ident.authority_universal_id) == (
        "NC-5521",
        "NORTHCLINIC",
        "2.16.356.1.1",
    )
    assert (ident.authority_universal_id_type, ident.identifier_type, ident.assigning_facility) == (
        "ISO",
        "MR",
        "NORTHCLINIC",
    )
    assert [t.value for t in m.patient.telecoms] == ["ravi.iyer@example.org", "+91 44 24681357"]
    assert m.patient.gender == "male"
    assert m.visit is not None and m.visit.patient_class == "O"
    assert m.visit.visit_number == "OP-99812"
    assert m.visit.admit_time == "2024-03-06T10:00:00"


def test_adt_a08_v251_escapes_offsets_and_several_identifiers() -> None:
    m = parse_message(sample("adt_a08_v251_cr.hl7"))
    assert isinstance(m, AdtMessage)
    assert (m.event, m.version) == ("ADT^A08", "2.5.1")
    assert m.message_time == "2024-03-07T12:00:00+05:30"
    # The third PID-3 repetition has no id value: skipped.
    assert [(i.value, i.identifier_type) for i in m.patient.identifiers] == [
        ("WH-000777", "MR"),
        ("91234567890123", "NH"),
    ]
    assert m.patient.identifiers_of_type("nh")[0].assigning_authority == "ABDM"
    assert m.patient.name is not None and m.patient.name.family == "José"  # \XC3A9\
    assert m.patient.addresses[0].street == "Flat 7|B"  # \F\
    assert m.patient.telecoms[0].value == "22 55501234 x12"
    v = m.visit
    assert v is not None and v.location is not None
    assert (v.location.building, v.location.floor) == ("Main", "2")
    assert v.attending is not None and v.attending.family == "D^Souza"  # \S\
    assert (v.admit_time, v.discharge_time) == (
        "2024-03-07T11:30:00+05:30",
        "2024-03-07T18:00:00+05:30",
    )
    assert v.visit_number == "E-4451"


def test_oru_r01_v23_numeric_results_with_loinc_units_ranges_flags_notes() -> None:
    m = parse_message(sample("oru_r01_v23_cr.hl7"))
    assert isinstance(m, OruMessage)
    assert (m.kind, m.event, m.version) == ("oru", "ORU^R01", "2.3")
    assert m.patient.mrn is not None and m.patient.mrn.value == "MRN10001"
    (obr,) = m.orders
    assert (obr.set_id, obr.placer_order_number, obr.filler_order_number) == (1, "ORD-1", "FIL-1")
    assert (obr.service.code, obr.service.text, obr.service.is_loinc) == (
        "24323-8",
        "Comprehensive metabolic panel",
        True,
    )
    assert obr.observation_time == "2024-03-08T07:00:00"
    assert obr.results_time == "2024-03-08T08:55:00"
    assert obr.result_status == "F"
    assert obr.ordering_provider is not None and obr.ordering_provider.family == "Rao"
    glucose, creatinine, sodium = obr.observations
    assert (glucose.set_id, glucose.value_type, glucose.code.loinc_code) == (1, "NM", "2345-7")
    assert glucose.code.text == "Glucose"
    assert (glucose.value, glucose.numeric_value) == ("182", 182.0)
    assert glucose.units is not None and glucose.units.code == "mg/dL"
    assert (glucose.reference_range, glucose.abnormal_flags, glucose.result_status) == (
        "70-99",
        ("H",),
        "F",
    )
    assert glucose.observation_time == "2024-03-08T07:15:00"
    assert creatinine.numeric_value == pytest.approx(0.9)
    assert creatinine.notes == ("Fasting sample",)
    assert sodium.abnormal_flags == ("L", "A")
    assert sodium.observation_time is None
    assert m.observations == [glucose, creatinine, sodium]


def test_oru_r01_v24_two_orders_coded_structured_and_text_values() -> None:
    m = parse_message(sample("oru_r01_v24_lf.hl7"))
    assert isinstance(m, OruMessage)
    assert m.visit is not None and m.visit.patient_class == "O"
    cbc, culture = m.orders
    assert cbc.service.alt_code == "CBC" and cbc.service.alt_system == "L"
    hb, plt, ana = cbc.observations
    assert hb.units is not None and (hb.units.code, hb.units.text, hb.units.system) == (
        "g/dL",
        "grams per deciliter",
        "UCUM",
    )
    assert (plt.value_type, plt.value, plt.comparator, plt.numeric_value) == (
        "SN",
        "<10",
        "<",
        10.0,
    )
    assert plt.abnormal_flags == ("LL",)
    assert (ana.value, ana.numeric_value, ana.comparator) == ("1:128", None, None)
    organism, comment = culture.observations
    assert organism.coded_value is not None
    assert (organism.coded_value.code, organism.coded_value.system) == ("112283007", "SCT")
    assert organism.value == "Escherichia coli"
    assert organism.abnormal_flags == ("A",)
    assert organism.result_status == "P"
    assert comment.value == "Growth | 100000 CFU/mL\nRepeat in 48h"  # \F\ and \.br\
    assert comment.result_status == "P"
    assert comment.notes == ("Called to ward at 10:10",)


def test_oru_r01_v251_crlf_text_repetitions_timestamps_and_non_numeric_nm() -> None:
    m = parse_message(sample("oru_r01_v251_crlf.hl7"))
    assert isinstance(m, OruMessage)
    assert m.visit is None
    (obr,) = m.orders
    assert obr.result_status == "C"
    report, collected, chol = obr.observations
    assert report.values == ("Line one of the report", "Line two: 5 & 6")
    assert report.value == "Line one of the report\nLine two: 5 & 6"
    assert report.observation_time == "2024-03-10T14:00:00+05:30"
    assert collected.values == ("2024-03-10T11:30:00+05:30",)
    # NM that is not a number: kept as text, no numeric value, no error.
    assert (chol.value, chol.numeric_value, chol.reference_range) == ("abc", None, "<200")


def test_mllp_framed_bytes_and_partial_birth_date() -> None:
    m = parse_message(sample("adt_a01_v251_mllp.hl7"))
    assert m.control_id == "MLLP-1"
    assert m.patient.birth_date == "2001"


def test_latin1_message_is_decoded() -> None:
    m = parse_message(sample("adt_a04_v24_latin1.hl7"))
    assert m.patient.name is not None and m.patient.name.family == "José"
    assert m.patient.birth_date == "1980-07"


def test_custom_delimiters() -> None:
    m = parse_message(sample("adt_a01_v25_custom_delims.hl7"))
    assert [i.value for i in m.patient.identifiers] == ["OH-9", "OH-10"]
    assert m.patient.name is not None
    assert (m.patient.name.family, m.patient.name.given) == ("Pipe#Name", "Has|Bar")


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_results_serialise_to_json_and_back(path) -> None:
    m = parse_message(path.read_bytes())
    data = json.loads(json.dumps(m.to_dict()))
    assert ParsedMessage.from_dict(data) == m
    assert m.engine == "carepipe-hl7" and m.model_version.startswith("2+python-hl7-")


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_text_and_bytes_inputs_give_the_same_result(path) -> None:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    assert parse_message(text) == parse_message(raw)


def test_patient_repr_hides_phi() -> None:
    m = parse_message(sample("adt_a01_v23_lf.hl7"))
    shown = repr(m)
    assert "Sharma" not in shown and "MRN10001" not in shown
    assert "ADT" in shown


def test_parse_header_reads_msh_only() -> None:
    h = parse_header(b"MSH|^~\\&|A|B|C|D|20240101||ORU^R01|X1|P|2.4\rZXY|no PID, no OBR")
    assert (h.kind, h.event, h.control_id, h.version) == ("header", "ORU^R01", "X1", "2.4")
