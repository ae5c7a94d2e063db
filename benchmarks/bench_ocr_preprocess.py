"""Which preprocessing for degraded scans: measured on the OCR corpus's DEV split.

Tesseract with each variant (no preprocessing, upscaling of low-resolution pages, a
median filter on noisy pages, both, both + Otsu binarisation, and page segmentation
modes 4 and 6 instead of 3) reads the dev documents in every condition; extraction
and the bundle builder run on each result (``bench_ocr --mode engine``), and the
variants are compared on lab recall/precision, patient fields and seconds per page.
The engine's defaults (``carepipe.engines.ocr.preprocess``) are the winner here;
the test split is never used for this choice.

    .venv/bin/python benchmarks/bench_ocr_preprocess.py [--variants all] [--conditions lowres]

Writes benchmarks/results/ocr_preprocess.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_ocr
from carepipe.engines.ocr.preprocess import Preprocessing
from carepipe.engines.ocr.tesseract import TesseractEngine

OUT = bench_ocr.ROOT / "benchmarks" / "results" / "ocr_preprocess.json"
DEFAULT_CONDITIONS = "clean,lowres,noise,rotated"
#: What `make bench` re-measures: no preprocessing beside the default (the others are
#: slow; run them with --variants all).
DEFAULT_VARIANTS = "0,5"
VARIANTS: list[tuple[str, dict[str, object]]] = [
    ("none (psm 3)", {"preprocessing": Preprocessing(False, False, False, False)}),
    ("upscale", {"preprocessing": Preprocessing(True, False, False, False)}),
    ("median", {"preprocessing": Preprocessing(False, True, False, False)}),
    ("rules", {"preprocessing": Preprocessing(False, False, False, True)}),
    ("upscale + median", {"preprocessing": Preprocessing(True, True, False, False)}),
    ("median + rules (default)", {"preprocessing": Preprocessing()}),
    ("median + rules + otsu", {"preprocessing": Preprocessing(binarize=True)}),
    ("default, psm 4", {"psm": 4}),
    ("default, psm 6", {"psm": 6}),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conditions", default=DEFAULT_CONDITIONS)
    ap.add_argument(
        "--variants",
        default=DEFAULT_VARIANTS,
        help="comma-separated indexes into VARIANTS ('all' for every one; slow)",
    )
    args = ap.parse_args()
    _, truths = bench_ocr.load_corpus("dev")
    bench_ocr.ensure_rendered()
    conditions = [c for c in args.conditions.split(",") if c]
    chosen = (
        VARIANTS
        if args.variants == "all"
        else [VARIANTS[int(i)] for i in args.variants.split(",") if i]
    )
    columns = ["lab_recall", "lab_precision", "patient_fields", "seconds_per_page"]
    rows = []
    for label, options in chosen:
        engine = TesseractEngine(**options)  # type: ignore[arg-type]
        started = time.perf_counter()
        docs = bench_ocr.run_engine_mode(
            "tesseract", truths, conditions, engine=engine, cache_label=None
        )
        groups = bench_ocr.breakdown(docs)
        for cond in conditions:
            key = "all/clean" if cond == "clean" else f"all/{cond}"
            s = groups[key]
            rows.append([label, cond, *[s[c] for c in columns]])
            print(f"{label:28s} {cond:8s} " + " ".join(f"{s[c]!s:>8}" for c in columns), flush=True)
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    # Runs of a few variants at a time add to the table (a full run takes long).
    if OUT.exists() and args.variants != "all":
        kept = {(r[0], r[1]): r for r in json.loads(OUT.read_text())["table"]["rows"]}
        kept.update({(r[0], r[1]): r for r in rows})
        rows = sorted(kept.values(), key=lambda r: (r[1], r[0]))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "title": "OCR preprocessing chosen by measurement (Tesseract, dev split only)",
        "method": "Each variant reads the dev documents in each condition; scored from the "
                  "bundle the extraction builds. The default is the variant kept in the engine.",
        "table": {"columns": ["variant", "condition", *columns], "rows": rows},
        "notes": ["shared 2-core VM: seconds are noisy (+-50%)"],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "date": datetime.now(UTC).isoformat(timespec="seconds")},
    }, indent=1) + "\n")  # fmt: skip
    print(f"wrote {OUT.relative_to(bench_ocr.ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
