"""OCR benchmark: Tesseract vs RapidOCR on the committed synthetic documents.

For each engine, in the same run: character accuracy (1 - CER, whitespace-normalised),
seconds per page, and the accuracy of the fields extracted from its text (document
type, patient identifiers, lab values with unit and LOINC, medication lines), plus how
many of the wrong fields were marked low-confidence (what review would catch).
A third row, Tesseract without deskew, shows what straightening the page buys.

    .venv/bin/python benchmarks/bench_ocr.py

Writes benchmarks/results/ocr.json.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from carepipe.engines.documents import extract_document
from carepipe.engines.ocr.rapid import RapidOcrEngine
from carepipe.engines.ocr.tesseract import TesseractEngine

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "ocr"
OUT = ROOT / "benchmarks" / "results" / "ocr.json"


def _norm(text: str) -> str:
    return " ".join(text.split())


def _field_checks(truth: dict[str, Any], doc: Any) -> list[tuple[str, bool, bool]]:
    """(field, correct?, flagged low-confidence?) for every expected field."""
    checks: list[tuple[str, bool, bool]] = [
        ("document_type", doc.document_type == truth["document_type"], False)
    ]
    for key, expected in truth["patient"].items():
        got = getattr(doc.patient, key)
        if expected is None:
            continue
        checks.append(
            (
                f"patient.{key}",
                got is not None and got.value == expected,
                bool(got and got.low_confidence),
            )
        )
    found = {lab.test: lab for lab in doc.lab_results}
    for lab in truth["lab_results"]:
        got = found.get(lab["name"])
        ok = (
            got is not None
            and abs(got.value - lab["value"]) < 1e-6
            and got.unit == lab["unit"]
            and got.loinc == lab["loinc"]
        )
        checks.append((f"lab.{lab['name']}", ok, bool(got and got.low_confidence)))
    meds = [m.text for m in doc.medications]
    for med in truth["medications"]:
        hit = next((m for m in doc.medications if m.text == med), None)
        checks.append(("medication", med in meds, bool(hit and hit.low_confidence)))
    return checks


def run_engine(label: str, engine: Any, documents: list[dict[str, Any]]) -> dict[str, Any]:
    rows = []
    for truth in documents:
        data = (DATA / truth["file"]).read_bytes()
        started = time.perf_counter()
        result = engine.recognize(data)
        seconds = time.perf_counter() - started
        cer = Levenshtein.normalized_distance(_norm(result.text), _norm(truth["text"]))
        extracted = extract_document(result)
        checks = _field_checks(truth, extracted)
        wrong = [c for c in checks if not c[1]]
        rows.append(
            {
                "file": truth["file"],
                "degraded": bool(truth["degradations"]),
                "pages": len(result.pages),
                "char_accuracy": round(1 - cer, 4),
                "seconds": round(seconds, 3),
                "seconds_per_page": round(seconds / len(result.pages), 3),
                "mean_confidence": result.mean_confidence,
                "fields": len(checks),
                "fields_correct": len(checks) - len(wrong),
                "wrong_fields": [c[0] for c in wrong],
                "wrong_flagged_low_confidence": sum(c[2] for c in wrong),
            }
        )

    def summary(subset: list[dict[str, Any]]) -> dict[str, Any]:
        pages = sum(r["pages"] for r in subset)
        fields = sum(r["fields"] for r in subset)
        correct = sum(r["fields_correct"] for r in subset)
        wrong = fields - correct
        return {
            "documents": len(subset),
            "char_accuracy": round(statistics.mean(r["char_accuracy"] for r in subset), 4),
            "seconds_per_page": round(sum(r["seconds"] for r in subset) / pages, 3),
            "field_accuracy": round(correct / fields, 4) if fields else None,
            "wrong_fields": wrong,
            "wrong_flagged": sum(r["wrong_flagged_low_confidence"] for r in subset),
        }

    return {
        "engine": label,
        "model_version": engine.model_version,
        "all": summary(rows),
        "clean": summary([r for r in rows if not r["degraded"]]),
        "degraded": summary([r for r in rows if r["degraded"]]),
        "documents": rows,
    }


def main() -> None:
    manifest = json.loads((DATA / "manifest.json").read_text())
    documents = [json.loads((DATA / d["truth"]).read_text()) for d in manifest["documents"]]
    engines = [
        ("tesseract", TesseractEngine()),
        ("rapidocr", RapidOcrEngine()),
        ("tesseract (no deskew)", TesseractEngine(deskew_pages=False)),
    ]
    results = []
    for label, engine in engines:
        engine.recognize((DATA / documents[0]["file"]).read_bytes())  # warm-up (model load)
        results.append(run_engine(label, engine, documents))

    header = (
        f"{'engine':24s} {'subset':9s} {'char acc':>9s} {'s/page':>7s} {'field acc':>9s} "
        f"{'wrong':>6s} {'flagged':>8s}"
    )
    print(header)
    print("-" * len(header))
    for res in results:
        for subset in ("clean", "degraded", "all"):
            s = res[subset]
            print(
                f"{res['engine']:24s} {subset:9s} {s['char_accuracy']:9.4f} {s['seconds_per_page']:7.2f} "
                f"{s['field_accuracy']:9.4f} {s['wrong_fields']:6d} {s['wrong_flagged']:8d}"
            )
    for res in results:
        for row in res["documents"]:
            if row["wrong_fields"]:
                print(f"  {res['engine']}: {row['file']}: wrong {', '.join(row['wrong_fields'])}")

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "benchmark": "ocr",
                "data": "tests/data/ocr (synthetic; scripts/make_ocr_data.py)",
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "notes": [
                    "char_accuracy = 1 - CER after collapsing whitespace, averaged over documents",
                    "tesseract runs with OMP_THREAD_LIMIT=1; rapidocr with onnxruntime default threads",
                    "field_accuracy: document type, patient ids, lab value+unit+LOINC, medication lines",
                    "wrong_flagged: wrong fields marked low_confidence (would go to review)",
                ],
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
