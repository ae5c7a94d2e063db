"""Every OCR example of issue 12, on OCR output laid out as the engines give it.

The pages are built word by word with boxes (columns far apart, words in a cell
close), so extraction rebuilds rows and cells exactly as it does from Tesseract's TSV.
The same examples run end to end on rendered pages in tests/pipelines/test_ocr_documents.py.
"""

from __future__ import annotations

import pytest

from carepipe.engines.documents import extract_document
from carepipe.engines.documents.medications import instruction_text
from carepipe.engines.documents.rows import build_rows
from carepipe.engines.ocr import OcrPage, OcrResult, OcrWord
from carepipe.engines.ocr.layout import rows_text

CHAR = 12  # pixels per character
SPACE = 6  # a word space; column gaps are far wider
COLUMNS = (0, 420, 620, 700, 900)


def page(rows: list[tuple[str, ...] | str], *, conf: dict[str, float] | None = None) -> OcrResult:
    """An OcrResult whose rows are cells at COLUMNS (a str is one cell at the left)."""
    conf = conf or {}
    grouped = []
    for y, row in enumerate(rows):
        cells = (row,) if isinstance(row, str) else row
        words = []
        for x0, cell in zip(COLUMNS, cells, strict=False):
            x = x0
            for token in cell.split():
                box = (x, y * 40, x + CHAR * len(token), y * 40 + 24)
                words.append(OcrWord(text=token, bbox=box, confidence=conf.get(token, 0.95)))
                x += CHAR * len(token) + SPACE
        grouped.append(words)
    text = rows_text(grouped)
    words = [w for r in grouped for w in r]
    result_page = OcrPage(number=1, width=1200, height=40 * len(rows), text=text, words=words)
    return OcrResult(text=text, pages=[result_page], mean_confidence=0.95,
                     processing_seconds=0.1, engine="test", model_version="test-1",
                     content_type="image/png")  # fmt: skip


def labs_of(result: OcrResult) -> dict:
    return {lab.test: lab for lab in extract_document(result).lab_results}


def test_rows_get_their_cells_back_with_offsets_unchanged():
    result = page([("Haemoglobin", "10.8L", "g/dL", "12.0 - 15.5")])
    (row,) = build_rows(result)
    assert [c.text for c in row.cells] == ["Haemoglobin", "10.8L", "g/dL", "12.0 - 15.5"]
    assert row.plain == result.text
    assert all(result.text[c.start : c.end] == c.text for c in row.cells)


def test_value_with_its_flag_written_against_it_is_kept_with_the_flag():
    # Issue: "10.8L", "11.2L", "4.1L" were dropped silently, exactly the abnormal values.
    got = labs_of(page([
        ("Haemoglobin", "10.8L", "g/dL", "12.0 - 15.5"),
        ("Haematocrit (PCV)", "33.9L", "%", "36.0 - 46.0"),
        ("Total WBC Count", "11.2H", "10^3/µL", "4.0 - 11.0"),
        ("Potassium", "4.1L", "mmol/L", "4.5 - 5.1"),
    ]))  # fmt: skip
    assert (got["hemoglobin"].value, got["hemoglobin"].flag) == (10.8, "L")
    assert got["hemoglobin"].flag_source == "document"
    assert (got["hematocrit"].value, got["hematocrit"].flag) == (33.9, "L")
    assert (got["leukocytes"].value, got["leukocytes"].flag) == (11.2, "H")
    assert (got["potassium"].value, got["potassium"].flag) == (4.1, "L")
    assert not any(lab.held for lab in got.values())


def test_us_date_of_birth_is_month_first_when_the_document_says_so():
    # Issue: "11/02/1975" was read day first (1975-02-11) on a US report.
    result = page([
        "Riverside Clinical Laboratories, 2200 Main St, Houston, TX 77030",
        ("Patient:", "HARRIS, MICHAEL T", "DOB:", "11/02/1975"),
        ("MRN:", "00481223", "Collected:", "11/23/2026"),
    ])  # fmt: skip
    doc = extract_document(result)
    assert doc.date_order == "MDY" and doc.date_order_source == "document"
    assert doc.patient.birth_date is not None and doc.patient.birth_date.value == "1975-11-02"
    assert not doc.patient.birth_date.low_confidence


def test_cues_and_tenant_setting_decide_the_order_when_the_dates_cannot():
    rows = [("Patient:", "HARRIS, MICHAEL T", "DOB:", "11/02/1975")]
    us_cues = page(["Lab, Houston, TX 77030. (713) 555-0134. CLIA 45D0987654", *rows])
    assert extract_document(us_cues).patient.birth_date.value == "1975-11-02"  # type: ignore[union-attr]
    tenant = extract_document(page(rows), date_order="MDY")
    assert tenant.patient.birth_date.value == "1975-11-02"  # type: ignore[union-attr]
    assert tenant.date_order_source == "tenant"


def test_an_ambiguous_date_decided_by_the_default_is_flagged():
    doc = extract_document(page([("Patient:", "HARRIS, MICHAEL T", "DOB:", "11/02/1975")]))
    assert doc.date_order_source == "default"
    assert doc.patient.birth_date is not None and doc.patient.birth_date.low_confidence
    assert doc.needs_review


def test_prescriber_registration_number_is_never_the_patients():
    # Issue: DMC/R/40112 in the letterhead went out as the MRN instead of the OPD number.
    result = page([
        "Dr. ANIL MEHTA",
        "MBBS, MD (General Medicine)",
        "Reg. No.: DMC/R/40112",
        ("OPD No: OPD-26-55871", "", "", "Date: 18/11/2026"),
        ("Name : Mr. RAJESH KUMAR IYER", "", "", "Age/Sex : 58 Y / M"),
    ])  # fmt: skip
    patient = extract_document(result).patient
    assert patient.mrn is not None
    assert (patient.mrn.value, patient.mrn.label) == ("OPD-26-55871", "OPD No")
    # "Name : Mr. X" with a space before the colon, and age/sex.
    assert patient.name is not None and patient.name.value == "RAJESH KUMAR IYER"
    assert (patient.family_name, patient.given_names) == ("IYER", ["RAJESH", "KUMAR"])
    assert patient.sex is not None and patient.sex.value == "male"
    assert patient.age_years is not None and patient.age_years.value == "58"


def test_an_exact_sex_letter_is_trusted_whatever_its_ocr_score():
    # Tesseract scores one-letter words low; "M" after "Sex:" is still the patient's sex.
    result = page([("Patient:", "HARRIS, MICHAEL T", "Sex:", "M")], conf={"M": 0.3})
    sex = extract_document(result).patient.sex
    assert sex is not None and sex.value == "male" and not sex.low_confidence
    damaged = page([("Patient:", "HARRIS, MICHAEL T", "Sex:", "Mael")], conf={"Mael": 0.3})
    fuzzy = extract_document(damaged).patient.sex
    assert fuzzy is not None and fuzzy.value == "male" and fuzzy.low_confidence


def test_numbers_after_prescriber_labels_are_not_taken_even_under_patient_labels():
    result = page([("Ordering: Jane Whitfield, MD", "NPI: 1487693320"),
                   ("Patient ID:", "1487693320"), ("MRN:", "E5269271")])  # fmt: skip
    patient = extract_document(result).patient
    assert patient.mrn is not None and patient.mrn.value == "E5269271"


def test_last_comma_first_names_keep_every_part():
    # Issue: "HARRIS, MICHAEL T" -> "HARRIS".
    patient = extract_document(page([("Patient:", "HARRIS, MICHAEL T", "Sex:", "M")])).patient
    assert patient.name is not None and patient.name.value == "HARRIS, MICHAEL T"
    assert (patient.family_name, patient.given_names) == ("HARRIS", ["MICHAEL", "T"])


@pytest.mark.parametrize(
    ("printed", "test", "unit", "loinc"),
    [("10^3/pL", "leukocytes", "10*3/uL", "6690-2"), ("10^3/µL", "leukocytes", "10*3/uL", "6690-2"),
     ("x10E3/uL", "leukocytes", "10*3/uL", "6690-2"), ("pIU/mL", "tsh", "m[IU]/L", "3016-3"),
     ("µIU/mL", "tsh", "m[IU]/L", "3016-3"), ("mIU/L", "tsh", "m[IU]/L", "3016-3"),
     ("pg/dL", "t4_total", "ug/dL", "3026-2"), ("mcg/dL", "t4_total", "ug/dL", "3026-2")],
)  # fmt: skip
def test_micro_sign_read_as_p_keeps_the_unit_and_the_code(printed, test, unit, loinc):
    # Issue: "µ" read as "p" lost the unit (10^3/µL, µIU/mL) and with it the LOINC code.
    names = {"leukocytes": "WBC Count", "tsh": "TSH", "t4_total": "T4, Total"}
    values = {"leukocytes": ("7.8", "4.0 - 11.0"), "tsh": ("2.15", "0.27 - 4.20"),
              "t4_total": ("8.4", "5.1 - 14.1")}  # fmt: skip
    value, ref = values[test]
    lab = labs_of(page([(names[test], value, "", printed, ref)]))[test]
    assert (lab.unit, lab.loinc) == (unit, loinc)
    assert lab.value == float(value) and not lab.held


def test_a_lost_digit_against_the_printed_flag_is_held():
    # Issue: a Courier "68" read as "6" went out as ALT 6 U/L flagged H.
    lab = labs_of(page([("SGPT (ALT)", "6", "H", "U/L", "7 - 56")]))["alt"]
    assert lab.held and lab.low_confidence
    assert any("contradicts" in r for r in lab.hold_reasons)


def test_a_misread_range_is_held_not_used_to_flag_a_normal_value():
    # Issue: on degraded pages "3.8 - 4.8" became 38-48, so a normal 4.12 was flagged L.
    result = page([("RBC Count", "4.12", "", "mill/cumm", "38 - 48")])
    doc = extract_document(result)
    (lab,) = doc.lab_results
    assert lab.held and any("misread range" in r for r in lab.hold_reasons)
    # The review reason counts the held values and names why (PHI-free kinds).
    assert doc.needs_review
    assert any(
        r.startswith("1 value(s) held as implausible") and "misread range" in r
        for r in doc.review_reasons
    )


def test_a_value_ten_times_out_is_held():
    lab = labs_of(page([("Haemoglobin", "108", "L", "g/dL", "12.0 - 15.5")]))["hemoglobin"]
    assert lab.held


def test_plausible_values_are_not_held():
    got = labs_of(page([
        ("Monocytes", "0", "L", "%", "2 - 10"),
        ("Basophils", "0.4", "", "%", "0 - 2"),
        ("HDL Cholesterol", "38", "L", "mg/dL", "> 40"),
        ("eGFR (CKD-EPI)", "54", "L", "mL/min/1.73m2", "> 60"),
        ("A/G Ratio", "1.45", "", "", "1.00 - 2.10"),
    ]))  # fmt: skip
    assert not any(lab.held for lab in got.values())
    assert got["ag_ratio"].unit == "{ratio}" and not got["ag_ratio"].low_confidence
    assert got["egfr"].unit == "mL/min/{1.73_m2}" and got["egfr"].loinc == "62238-1"


def test_unreadable_result_rows_are_counted_and_send_the_document_to_review():
    result = page([
        ("Test Name", "Result", "Flag", "Unit", "Reference"),
        ("Haemoglobin", "12.6", "", "g/dL", "12.0 - 15.5"),
        ("Triglycerides", "~—*", "", "mg/dL", "< 150"),
        ("Lipoprotein (a)", "31", "", "mg/dL", "< 30"),
    ])  # fmt: skip
    doc = extract_document(result)
    assert [lab.test for lab in doc.lab_results] == ["hemoglobin"]
    reasons = sorted((row.reason, row.test) for row in doc.unparsed_rows)
    assert reasons == [("looks like a result; test not recognised", None),
                       ("test recognised; no value could be read", "triglycerides")]  # fmt: skip
    assert doc.needs_review
    assert "2 result row(s) could not be read" in doc.review_reasons


def test_headers_addresses_and_patient_rows_are_not_results():
    doc = extract_document(page([
        "SHREE LAXMI CLINICAL LABORATORY",
        "Near Bus Stand, FC Road, Pune - 411004. Ph: 020-2567 4410",
        ("Name : Mrs. LAKSHMI NAIR", "", "", "Age/Sex : 72 Y / F"),
        ("Collected", ": 23/11/2026 08:12"),
        ("Test Name", "Result", "Flag", "Unit", "Biological Ref. Interval"),
        ("Haemoglobin", "12.6", "", "g/dL", "12.0 - 15.5"),
    ]))  # fmt: skip
    assert doc.unparsed_rows == []
    assert not doc.needs_review


def test_prescription_lines_are_joined_and_cleaned_for_the_orders_engine():
    result = page([
        "PRESCRIPTION",
        "1. Lisinopril 10 mg oral tablet",
        "Sig: Take 1 tablet by mouth once daily for 30 days. Disp: 30 tablets. Refills: 1",
        "2. Atorvastatin 40 mg oral tablet",
        "Sig: Take 1 tablet by mouth at bedtime. Disp: 30 tablets. Refills: 2",
        "Signed: Jane Whitfield, MD",
    ])  # fmt: skip
    meds = extract_document(result).medications
    assert [instruction_text(m.text) for m in meds] == [
        "Lisinopril 10 mg oral tablet Take 1 tablet by mouth once daily for 30 days",
        "Atorvastatin 40 mg oral tablet Take 1 tablet by mouth at bedtime",
    ]


def test_discharge_medication_table_rows_become_lines():
    result = page([
        "DISCHARGE SUMMARY",
        "Discharge Medications",
        ("Medicine", "Dose", "Instructions", "Duration"),
        ("Tab. Pantoprazole 40 mg", "1-0-0", "before food", "14 days"),
        ("Tab. Metformin 500 mg", "1-0-1", "after food", "30 days"),
        "Advice on Discharge",
        "Review after 2 weeks with reports.",
    ])  # fmt: skip
    doc = extract_document(result)
    assert doc.unparsed_rows == []  # medication rows are not result rows
    assert [instruction_text(m.text) for m in doc.medications] == [
        "Tab. Pantoprazole 40 mg 1-0-0 before food for 14 days",
        "Tab. Metformin 500 mg 1-0-1 after food for 30 days",
    ]
