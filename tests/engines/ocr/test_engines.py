"""Both engines on the committed documents: accuracy, structure, failures, loading."""

from __future__ import annotations

import pytest
from rapidfuzz.distance import Levenshtein

from carepipe.core.config import Settings
from carepipe.core.errors import EngineUnavailable, ImageUnreadable
from carepipe.engines.documents import extract_document
from carepipe.engines.ocr import OcrEngine, clear_engine_cache, load_ocr_engine
from carepipe.engines.ocr.tesseract import TesseractEngine, parse_tsv

from .conftest import DATA, _engine, documents, recognized

# Measured on the committed set (see benchmarks/results/ocr.json): worst clean CER
# is ~0.02 (Tesseract) and worst degraded ~0.07; the thresholds leave a margin.
CLEAN_MAX_CER = 0.05
DEGRADED_MAX_CER = 0.12


def _cer(hypothesis: str, reference: str) -> float:
    return Levenshtein.normalized_distance(
        " ".join(hypothesis.split()), " ".join(reference.split())
    )


CLEAN = [d for d in documents() if not d["degradations"]]
DEGRADED = [d for d in documents() if d["degradations"]]


@pytest.mark.parametrize("doc", CLEAN, ids=lambda d: d["file"])
def test_clean_documents_are_read_accurately(engine_name, doc):
    result = recognized(engine_name, doc["file"])
    assert _cer(result.text, doc["text"]) <= CLEAN_MAX_CER
    assert result.mean_confidence > 0.8


@pytest.mark.parametrize("doc", DEGRADED, ids=lambda d: d["file"])
def test_degraded_documents_are_read_acceptably(engine_name, doc):
    result = recognized(engine_name, doc["file"])
    assert _cer(result.text, doc["text"]) <= DEGRADED_MAX_CER
    assert result.pages[0].skew_degrees == pytest.approx(-doc["degradations"][0]["amount"], abs=0.3)


@pytest.mark.parametrize("doc", [d for d in CLEAN if d["lab_results"]], ids=lambda d: d["file"])
def test_key_lab_values_are_extracted_with_units_from_clean_scans(engine_name, doc):
    extracted = extract_document(recognized(engine_name, doc["file"]))
    got = {lab.test: lab for lab in extracted.lab_results}
    for expected in doc["lab_results"]:
        lab = got[expected["name"]]
        assert lab.value == pytest.approx(expected["value"])
        assert lab.unit == expected["unit"]
        assert lab.loinc == expected["loinc"]
        assert (lab.ref_low, lab.ref_high) == (expected["ref_low"], expected["ref_high"])
        assert lab.flag == (expected["flag"] or "N")
    # Right values may still be low-confidence (Tesseract is unsure of "10^3/uL"),
    # but on a clean scan most must pass without review.
    low = sum(lab.low_confidence for lab in extracted.lab_results)
    assert low <= len(doc["lab_results"]) // 3
    assert extracted.document_type == "lab_report"


@pytest.mark.parametrize("doc", DEGRADED, ids=lambda d: d["file"])
def test_wrong_values_from_degraded_scans_are_flagged_for_review(engine_name, doc):
    """Degraded scans may lose a value; any value that came out wrong must be low-confidence."""
    extracted = extract_document(recognized(engine_name, doc["file"]))
    truth = {lab["name"]: lab for lab in doc["lab_results"]}
    found = 0
    for lab in extracted.lab_results:
        expected = truth.get(lab.test)
        if (
            expected
            and lab.value == pytest.approx(expected["value"])
            and lab.unit == expected["unit"]
        ):
            found += 1
        else:
            assert lab.low_confidence, (lab.test, lab.value, lab.unit)
    assert found >= len(truth) - 2
    assert extracted.document_type == doc["document_type"]


def test_pdf_gives_two_pages_in_order(engine_name):
    doc = next(d for d in documents() if d["file"].endswith(".pdf"))
    result = recognized(engine_name, doc["file"])
    assert [p.number for p in result.pages] == [1, 2]
    assert result.content_type == "application/pdf"
    assert result.text.count("\f") == 1
    for page, truth in zip(result.pages, doc["pages"], strict=True):
        assert _cer(page.text, truth["text"]) <= CLEAN_MAX_CER
    extracted = extract_document(result)
    assert extracted.document_type == "discharge_summary"
    assert [m.text for m in extracted.medications] == doc["medications"]


def test_words_have_boxes_inside_the_page_and_confidences(engine_name):
    result = recognized(engine_name, "lab_cbc_clean.png")
    page = result.pages[0]
    assert len(page.words) > 40
    for word in page.words:
        left, top, right, bottom = word.bbox
        assert 0 <= left < right <= page.width + 1
        assert 0 <= top < bottom <= page.height + 1
        assert 0.0 <= word.confidence <= 1.0
    assert result.engine == engine_name
    assert result.model_version.startswith(engine_name)
    assert result.processing_seconds > 0


def test_corrupt_file_is_refused_by_the_engine(engine_name):
    with pytest.raises(ImageUnreadable):
        _engine(engine_name).recognize((DATA / "corrupt.png").read_bytes())


def test_engines_satisfy_the_protocol(engine_name):
    assert isinstance(_engine(engine_name), OcrEngine)


def test_missing_tesseract_binary_is_engine_unavailable():
    with pytest.raises(EngineUnavailable) as info:
        TesseractEngine(binary="tesseract-that-does-not-exist")
    assert "apt-get install" in info.value.message


def test_missing_tesseract_language_is_engine_unavailable():
    with pytest.raises(EngineUnavailable):
        TesseractEngine(language="zzz")


def test_loader_returns_one_engine_per_process_and_setting():
    clear_engine_cache()
    first = load_ocr_engine(Settings(ocr_engine="tesseract"))
    assert load_ocr_engine(Settings(ocr_engine="tesseract")) is first
    assert first.name == "tesseract"
    assert load_ocr_engine(Settings(ocr_engine="rapidocr")).name == "rapidocr"
    with pytest.raises(EngineUnavailable):
        load_ocr_engine(Settings(ocr_engine="nonesuch"))
    clear_engine_cache()


def test_tsv_parsing_skips_non_words_and_scales_confidence():
    tsv = (
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
        "4\t1\t1\t1\t1\t0\t10\t10\t100\t20\t-1\t\n"
        "5\t1\t1\t1\t1\t1\t10\t10\t40\t20\t91.5\tHb\n"
        "5\t1\t1\t1\t1\t2\t60\t10\t40\t20\t95\t \n"
    )
    words = parse_tsv(tsv)
    assert [(w.text, w.bbox, w.confidence) for w in words] == [("Hb", (10, 10, 50, 30), 0.915)]


def test_result_round_trips_through_json(engine_name):
    from carepipe.engines.ocr import OcrResult

    result = recognized(engine_name, "prescription_clean.png")
    again = OcrResult.model_validate_json(result.model_dump_json())
    assert again == result
    assert extract_document(again) == extract_document(result)
