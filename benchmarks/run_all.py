"""Run every ``benchmarks/bench_*.py`` and write ``docs/benchmarks.md``.

    .venv/bin/python benchmarks/run_all.py [--only queue,ingest] [--timeout 900]

Each benchmark runs as its own subprocess (a failure or a timeout is reported and
the run goes on); then every ``benchmarks/results/*.json`` is collected into one
page: a table per benchmark (ours beside the peer or baseline, as the benchmark
wrote it), the targets, and the machine (cores, RAM, Python, date).

A result file may carry ``{"title": ..., "table": {"columns": [...], "rows": [[...]]}}``;
files without one are shown as a flattened table of their ``results``/``rows`` list,
or of their top-level scalars.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results"
DOC = ROOT / "docs" / "benchmarks.md"


def machine() -> dict[str, Any]:
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(mem / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# Benchmarks that need longer than --timeout: the scribe accuracy run transcribes ~100
# synthesised consultations (about 30 min on 2 idle cores).
# OCR: 80 test-split jobs per engine through the pipeline, Tesseract then RapidOCR
# (~6 + ~20 min on the shared VM); the preprocessing comparison OCRs the dev split twice.
LONG_RUNNING = {
    "bench_scribe_accuracy.py": 5400.0,
    "bench_ocr.py": 3600.0,
    "bench_ocr_preprocess.py": 2400.0,
    # Queue: 3 rounds over 7 systems (CarePipe x2, Procrastinate, Celery, PgQueuer x3),
    # 10,000 tasks each (~15 min on the shared VM); the profile beside it takes ~3 min.
    "bench_queue.py": 2400.0,
    # Model evaluation: Whisper tiny.en then base on the 12 clips (~5 min on 2 busy cores).
    "bench_model_eval.py": 1800.0,
    # pgBackRest vs pg_basebackup on a 1 GB throwaway cluster, then a load run (~9 min).
    "bench_backup_pg.py": 1800.0,
}


def run(paths: list[Path], timeout: float) -> list[dict[str, Any]]:
    runs = []
    for p in paths:
        print(f"== {p.name}", flush=True)
        started = time.monotonic()
        status = "ok"
        try:
            proc = subprocess.run(
                [sys.executable, str(p)],
                cwd=ROOT,
                timeout=max(timeout, LONG_RUNNING.get(p.name, 0.0)),
                env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])},
            )
            if proc.returncode != 0:
                status = f"failed (exit {proc.returncode})"
        except subprocess.TimeoutExpired:
            status = f"timed out after {timeout:.0f} s"
        runs.append({"bench": p.stem, "status": status, "seconds": time.monotonic() - started})
        print(f"== {p.name}: {status} in {time.monotonic() - started:.0f} s\n", flush=True)
    return runs


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(v, dict | list):
        return json.dumps(v, separators=(",", ":"))[:80]
    return str(v).replace("|", "\\|").replace("\n", " ")


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and len(prefix.split(".")) < 2:
            out.update(_flatten(v, f"{prefix}{k}."))
        elif not isinstance(v, list):
            out[f"{prefix}{k}"] = v
    return out


def _md_table(columns: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return lines


def render(name: str, data: dict[str, Any]) -> list[str]:
    out = [f"## {data.get('title') or name}", ""]
    if data.get("method"):
        out += [str(data["method"]), ""]
    table = data.get("table")
    if isinstance(table, dict) and table.get("columns"):
        out += _md_table(list(table["columns"]), list(table.get("rows") or []))
    else:
        items = next(
            (data[k] for k in ("results", "rows") if isinstance(data.get(k), list) and data[k]),
            None,
        )
        if items and all(isinstance(i, dict) for i in items):
            flat = [_flatten(i) for i in items]
            cols: list[str] = []
            for f in flat:
                cols += [c for c in f if c not in cols]
            cols = cols[:10]
            out += _md_table(cols, [[f.get(c) for c in cols] for f in flat])
        else:
            flat = _flatten({k: v for k, v in data.items() if k not in ("machine",)})
            out += _md_table(["figure", "value"], [[k, v] for k, v in flat.items()])
    out.append("")
    for key in ("ratios", "ratio_ranges", "targets_met"):
        if isinstance(data.get(key), dict) and data[key]:
            out.append(
                f"**{key.replace('_', ' ')}:** "
                + ", ".join(f"{k} = {_cell(v)}" for k, v in data[key].items())
            )
            out.append("")
    for note in data.get("notes") or []:
        out.append(f"- {note}")
    if data.get("notes"):
        out.append("")
    return out


def write_doc(runs: list[dict[str, Any]], m: dict[str, Any]) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`benchmarks/run_all.py`); every figure is printed beside "
        "a peer's or a baseline's measured in the same run, on the same machine.",
        "",
        "The machine is a shared 2-core VM whose speed drifts: the same code has measured "
        "up to ~1.5x apart within one afternoon, the pure-Python parts included. Compare the "
        "ratios inside one run; read absolute figures as +-50%.",
        "",
        f"Machine: {m['cores']} cores, {m['ram_gib']} GiB RAM, Python {m['python']}, "
        f"{m['platform']}; run {m['date']}.",
        "",
    ]
    if runs:
        lines += _md_table(
            ["benchmark", "status", "seconds"],
            [[r["bench"], r["status"], round(r["seconds"], 1)] for r in runs],
        )
        lines.append("")
    for path in sorted(RESULTS.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            lines += [f"## {path.stem}", "", f"unreadable result file: {exc}", ""]
            continue
        if not isinstance(data, dict):
            continue
        lines += render(path.stem, data)
        if isinstance(data.get("machine"), dict) and data["machine"].get("date"):
            lines += [f"_measured {data['machine']['date']}_", ""]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(lines).rstrip() + "\n")
    print(f"wrote {DOC.relative_to(ROOT)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated names (queue, ingest, ...)")
    ap.add_argument("--timeout", type=float, default=900.0, help="per benchmark, seconds")
    ap.add_argument("--doc-only", action="store_true", help="only rebuild docs/benchmarks.md")
    args = ap.parse_args()
    wanted = {w.strip() for w in args.only.split(",") if w.strip()}
    paths = sorted(BENCH.glob("bench_*.py"))
    if wanted:
        paths = [p for p in paths if p.stem.removeprefix("bench_") in wanted]
    runs = [] if args.doc_only else run(paths, args.timeout)
    write_doc(runs, machine())
    failed = [r["bench"] for r in runs if r["status"] != "ok"]
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
