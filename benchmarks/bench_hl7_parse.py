"""HL7 v2 parse benchmark: our full ``parse_message`` beside bare ``hl7.parse``.

Same messages, same run. ``hl7.parse`` (python-hl7) only splits an already
decoded, ``\\r``-separated string into nested lists; ``parse_message`` decodes
bytes, normalizes line endings and framing, checks structure and required
fields, and extracts typed ADT/ORU results (identifiers, names, visit, orders,
observations with LOINC codes, units, ranges, flags, ISO dates). The gap is the
cost of that extraction. ``parse -> FHIR bundle`` adds what the ``hl7`` pipeline
does next (the transaction Bundle and our validation of it), without the database. ``parse_header`` (MSH only: what a listener needs to
accept or reject) and ``build_ack`` are timed too.

Message sets: the committed samples (tests/data/hl7/valid: versions
2.2-2.8; ADT, ORU, ORM, OML, SIU, MDM, VXU) and a generated ORU^R01 with 5 OBR x 10 OBX.

    .venv/bin/python benchmarks/bench_hl7_parse.py

Writes benchmarks/results/hl7_parse.json.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import hl7

from carepipe.interop.fhir.inputs import BundleContext
from carepipe.interop.fhir.validate import ensure_valid
from carepipe.interop.hl7 import build_ack, normalize, parse_header, parse_message
from carepipe.pipelines.hl7_mapping import hl7_bundle

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "hl7" / "valid"
OUT = ROOT / "benchmarks" / "results" / "hl7_parse.json"
REPEATS = 5
MIN_SECONDS = 0.4  # per timing round


def big_oru(orders: int = 5, results: int = 10) -> bytes:
    segs = [
        "MSH|^~\\&|LIS|LAB|CAREPIPE|CP|20240301101500+0530||ORU^R01^ORU_R01|BIG-1|P|2.5.1",
        "PID|1||MRN77^^^HOSP^MR~12345678901234^^^ABDM^NH||Verma^Asha^R||19700101|F|||1 Main Rd^^Pune^MH^411001^IND",
        "PV1|1|O|OPD^^^HOSP",
    ]
    for o in range(orders):
        segs.append(
            f"OBR|{o + 1}|P{o}|F{o}|24323-8^Metabolic panel^LN|||20240301080000+0530"
            f"|||||||||42^Rao^Anil||||||20240301100000+0530|||F"
        )
        for r in range(results):
            segs.append(
                f"OBX|{r + 1}|NM|2345-7^Glucose^LN||{90 + r}.5|mg/dL^mg/dL^UCUM|70-99|{'H' if r % 3 else 'N'}"
                f"|||F|||20240301081500+0530"
            )
        segs.append("NTE|1||Fasting \\T\\ rested")
    return ("\r".join(segs) + "\r").encode()


def time_per_call(fn: Callable[[Any], Any], items: list[Any]) -> float:
    """Best-of-``REPEATS`` seconds per item, each round running for at least ``MIN_SECONDS``."""
    best = float("inf")
    for _ in range(REPEATS):
        n = 0
        start = time.perf_counter()
        while True:
            for item in items:
                fn(item)
            n += len(items)
            elapsed = time.perf_counter() - start
            if elapsed >= MIN_SECONDS:
                break
        best = min(best, elapsed / n)
    return best


IST = timezone(timedelta(hours=5, minutes=30))


def to_fhir(raw: bytes) -> dict[str, Any]:
    """What the ``hl7`` pipeline does per message, minus the database: parse, build, validate."""
    bundle = hl7_bundle(parse_message(raw), {}, BundleContext("bench", "job-1"), IST)
    ensure_valid(bundle)
    return bundle


def row(name: str, seconds: float) -> dict[str, Any]:
    return {"name": name, "us_per_msg": round(seconds * 1e6, 2), "msgs_per_s": round(1 / seconds)}


def bench_set(label: str, raws: list[bytes]) -> dict[str, Any]:
    texts = [normalize(r) for r in raws]  # the baseline gets decoded, \r-separated text for free
    for r in raws:  # every message must parse: we time successful parses only
        parse_message(r)
    rows = [
        row("hl7.parse (python-hl7, baseline)", time_per_call(hl7.parse, texts)),
        row("parse_message (ours, typed)", time_per_call(parse_message, raws)),
        row("parse_header (ours, MSH only)", time_per_call(parse_header, raws)),
        row("build_ack AA (ours)", time_per_call(lambda r: build_ack(r, "AA"), raws)),
        row("parse -> FHIR bundle, validated (ours)", time_per_call(to_fhir, raws)),
    ]
    base, ours = rows[0]["us_per_msg"], rows[1]["us_per_msg"]
    return {
        "set": label,
        "messages": len(raws),
        "avg_bytes": round(sum(map(len, raws)) / len(raws)),
        "rows": rows,
        "overhead_vs_baseline": round(ours / base, 2),
    }


def main() -> None:
    samples = [p.read_bytes() for p in sorted(DATA.glob("*.hl7"))]
    sets = [
        bench_set(f"samples ({len(samples)} msgs, 2.2-2.8)", samples),
        bench_set("ORU 5x10 OBX", [big_oru()]),
    ]
    print(f"\nHL7 v2 parse, python {platform.python_version()}, python-hl7 {hl7.__version__}\n")
    header = f"{'message set':34} {'parser':36} {'us/msg':>9} {'msgs/s':>9}"
    print(header)
    print("-" * len(header))
    for s in sets:
        for r in s["rows"]:
            print(f"{s['set']:34} {r['name']:36} {r['us_per_msg']:9.1f} {r['msgs_per_s']:9d}")
        print(f"{'':34} {'typed / bare ratio':36} {s['overhead_vs_baseline']:9.2f}x")
    result = {
        "benchmark": "hl7_parse",
        "python": platform.python_version(),
        "python_hl7": hl7.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "method": f"best of {REPEATS} rounds of >= {MIN_SECONDS}s, single thread",
        "sets": sets,
        "title": "HL7 v2: parse and parse -> FHIR bundle per message, beside bare hl7.parse",
        "table": {
            "columns": ["message set", "code", "us/msg", "msgs/s"],
            "rows": [
                [st["set"], r["name"], r["us_per_msg"], r["msgs_per_s"]]
                for st in sets
                for r in st["rows"]
            ],
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
