"""Orders engine benchmark: precision/recall of extracted orders on the held-out split.

    .venv/bin/python benchmarks/bench_orders.py [--split test|dev|all] [--openai]

Scored items (multiset matching per case, micro-averaged):

- medications by (name, dose): names are compared after mapping both sides to the
  shared medication lexicon's canonical generic (paracetamol == acetaminophen);
- services by LOINC code when both sides have one, else by canonical name;
- follow-ups by (value, unit).

A stricter medication figure also requires unit, frequency/period/periodUnit and action.
Beside the rules engine, the same run scores a naive baseline (lexicon lookup only:
every drug and test name anywhere in the text, the first number+unit after a drug as its
dose, "in N weeks" anywhere as a follow-up; no clauses, verbs or negation). ``--openai``
adds the OpenAI-compatible engine when CAREPIPE_LLM_URL is set.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from carepipe.engines.nlp.lexicon.medications import BRANDS, GENERICS  # noqa: E402
from carepipe.engines.nlp.medications import lookup_medication  # noqa: E402
from carepipe.engines.nlp.numbers import normalize_numbers  # noqa: E402
from carepipe.engines.orders import (  # noqa: E402
    FollowUp,
    MedicationOrder,
    OrderSet,
    RulesOrdersEngine,
    ServiceOrder,
    Timing,
)
from carepipe.engines.orders.lexicon import (  # noqa: E402
    TIME_UNITS,
    compiled_services,
    service_by_name,
)

CASES = ROOT / "tests" / "data" / "orders" / "cases.json"
RESULTS = ROOT / "benchmarks" / "results" / "orders.json"

# --- the naive baseline ----------------------------------------------------------------


class LexiconBaseline:
    """Lexicon lookup only: the floor any real engine must clear."""

    name = "lexicon-baseline"
    model_version = "1"

    def __init__(self) -> None:
        names = {n for n in GENERICS} | {
            s
            for row in GENERICS.values()
            for s in row["synonyms"]  # type: ignore[union-attr]
        }
        names |= set(BRANDS)
        alts = sorted((re.escape(n).replace(r"\ ", r"\s+") for n in names), key=len, reverse=True)
        self._drugs = re.compile(r"\b(?:" + "|".join(alts) + r")\b", re.I)
        self._dose = re.compile(
            r"^\W*(?:to\s+)?(\d+(?:\.\d+)?)\s*(mg|g|mcg|units?|ml|puffs?)\b", re.I
        )
        self._fu = re.compile(r"\bin\s+(\d+(?:\.\d+)?)\s*(days?|weeks?|months?|years?)\b", re.I)

    def extract(self, text: str) -> OrderSet:
        norm = normalize_numbers(text).text
        out = OrderSet(engine=self.name, model_version=self.model_version)
        for m in self._drugs.finditer(norm):
            dm = self._dose.match(norm[m.end() : m.end() + 20])
            out.medications.append(
                MedicationOrder(
                    name=m.group(0).lower(),
                    dose=float(dm.group(1)) if dm else None,
                    dose_unit=dm.group(2).lower() if dm else None,
                    confidence=0.5,
                )
            )
        for cs in compiled_services():
            for pat in (cs.pattern, cs.ambiguous):
                if pat is not None and pat.search(norm):
                    out.services.append(
                        ServiceOrder(
                            display=cs.entry.display,
                            code=cs.entry.code,
                            system=cs.entry.system,
                            category=cs.entry.category,
                            confidence=0.5,
                        )
                    )
                    break
        for m in self._fu.finditer(norm):
            out.follow_ups.append(
                FollowUp(
                    value=float(m.group(1)),
                    unit=TIME_UNITS[m.group(2).lower()],  # type: ignore[arg-type]
                    confidence=0.5,
                )
            )
        return out


# --- scoring -------------------------------------------------------------------------------


def canon_drug(name: str) -> str:
    return (lookup_medication(name) or name).strip().lower()


def canon_service(name: str, code: str | None) -> str:
    if code:
        return f"code:{code}"
    entry = service_by_name(name)
    if entry is not None:
        return f"code:{entry.code}" if entry.code else f"name:{entry.display.lower()}"
    words = re.sub(r"[^a-z0-9 ]", " ", name.lower()).split()
    stop = {"of", "the", "a", "an", "to", "referral", "refer"}
    return "name:" + " ".join(w for w in words if w not in stop)


def _dose(v: Any) -> float | None:
    return None if v is None else round(float(v), 4)


def med_key(m: dict[str, Any]) -> tuple[Any, ...]:
    return (canon_drug(m["name"]), _dose(m.get("dose")))


_UNIT_ALIASES = {"U": "[iU]", "IU": "[iU]", "units": "[iU]", "unit": "[iU]", "puffs": "puff"}


def med_full_key(m: dict[str, Any]) -> tuple[Any, ...]:
    unit = m.get("dose_unit")
    unit = _UNIT_ALIASES.get(unit, unit) if unit else None
    return (
        *med_key(m),
        unit,
        m.get("frequency"),
        None if m.get("period") is None else float(m["period"]),
        m.get("period_unit"),
        m.get("action", "start"),
    )


def flatten_med(m: MedicationOrder) -> dict[str, Any]:
    t: Timing | None = m.timing
    return {
        "name": m.name,
        "dose": m.dose,
        "dose_unit": m.dose_unit,
        "frequency": t.frequency if t else None,
        "period": t.period if t else None,
        "period_unit": t.periodUnit if t else None,
        "action": m.action,
    }


def match(gold: list[Any], pred: list[Any]) -> tuple[int, int, int]:
    """(true positives, predicted, gold) with multiset matching."""
    g, p = Counter(gold), Counter(pred)
    return sum((g & p).values()), sum(p.values()), sum(g.values())


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    precision = tp / n_pred if n_pred else 1.0
    recall = tp / n_gold if n_gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "predicted": n_pred,
        "gold": n_gold,
    }


def score(engine: Any, cases: list[dict[str, Any]]) -> dict[str, Any]:
    totals: dict[str, list[int]] = {
        k: [0, 0, 0] for k in ("medications", "medications_full", "services", "follow_ups")
    }
    latencies: list[float] = []
    errors: list[dict[str, Any]] = []
    empty_ok = empty_total = 0
    for case in cases:
        exp = case["expected"]
        t0 = time.perf_counter()
        got: OrderSet = engine.extract(case["text"])
        latencies.append((time.perf_counter() - t0) * 1000)
        pred_meds = [flatten_med(m) for m in got.medications]
        parts = {
            "medications": (
                [med_key(m) for m in exp["medications"]],
                [med_key(m) for m in pred_meds],
            ),
            "medications_full": (
                [med_full_key(m) for m in exp["medications"]],
                [med_full_key(m) for m in pred_meds],
            ),
            "services": (
                [canon_service(s["name"], s.get("code")) for s in exp["services"]],
                [canon_service(s.display, s.code) for s in got.services],
            ),
            "follow_ups": (
                [(float(f["value"]), f["unit"]) for f in exp["follow_ups"]],
                [(float(f.value), f.unit) for f in got.follow_ups],
            ),
        }
        case_errors = {}
        for kind, (gold, pred) in parts.items():
            tp, n_pred, n_gold = match(gold, pred)
            for i, v in enumerate((tp, n_pred, n_gold)):
                totals[kind][i] += v
            if kind != "medications_full" and (tp != n_pred or tp != n_gold):
                missing = list((Counter(gold) - Counter(pred)).elements())
                extra = list((Counter(pred) - Counter(gold)).elements())
                case_errors[kind] = {"missing": missing, "extra": extra}
        if exp.get("nothing_understood"):
            empty_total += 1
            empty_ok += int(got.is_empty and bool(got.not_understood or got.negated))
        if case_errors:
            errors.append({"id": case["id"], **case_errors})
    overall = [
        sum(totals[k][i] for k in ("medications", "services", "follow_ups")) for i in range(3)
    ]
    return {
        "engine": engine.name,
        "model_version": engine.model_version,
        "overall": prf(*overall),
        **{k: prf(*v) for k, v in totals.items()},
        "nothing_understood_reported": f"{empty_ok}/{empty_total}",
        "latency_ms_median": round(statistics.median(latencies), 3),
        "latency_ms_p95": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))], 3),
        "errors": errors,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="test", choices=["test", "dev", "all"])
    ap.add_argument("--openai", action="store_true", help="also score the OpenAI engine")
    args = ap.parse_args()
    data = json.loads(CASES.read_text())
    cases = [c for c in data["cases"] if args.split == "all" or c["split"] == args.split]
    engines: list[Any] = [RulesOrdersEngine(), LexiconBaseline()]
    if args.openai:
        from carepipe.core.config import Settings
        from carepipe.engines.orders import OpenAiChatOrdersEngine

        s = Settings()
        if s.llm_url:
            key = s.llm_api_key.get_secret_value() if s.llm_api_key else None
            engines.append(OpenAiChatOrdersEngine(url=s.llm_url, model=s.llm_model, api_key=key))
        else:
            print("--openai: CAREPIPE_LLM_URL is not set; skipped", file=sys.stderr)
    results = [score(e, cases) for e in engines]
    # Batch 2 was written after batch 1 had been scored once (see cases.json): its
    # figures are reported apart, as the less contaminated estimate.
    batches = sorted({c.get("batch", 1) for c in cases})
    by_batch = {
        f"batch{b}": [score(e, [c for c in cases if c.get("batch", 1) == b]) for e in engines]
        for b in batches
    }

    cols = ("overall", "medications", "medications_full", "services", "follow_ups")
    print(f"orders benchmark: split={args.split}, {len(cases)} cases\n")
    header = f"{'engine':<18}" + "".join(f"{c:>22}" for c in cols)
    print(header)
    print(" " * 18 + "".join(f"{'P / R / F1':>22}" for _ in cols))
    for r in results:
        row = f"{r['engine']:<18}"
        for c in cols:
            m = r[c]
            row += f"{m['precision']:>12.2f}/{m['recall']:.2f}/{m['f1']:.2f}"
        print(row)
    if len(batches) > 1:
        for label, rs in by_batch.items():
            n = sum(1 for c in cases if f"batch{c.get('batch', 1)}" == label)
            print(
                f"  {label} ({n} cases): "
                + "; ".join(
                    f"{r['engine']} P/R/F1 {r['overall']['precision']:.2f}/"
                    f"{r['overall']['recall']:.2f}/{r['overall']['f1']:.2f}"
                    for r in rs
                )
            )
    print()
    for r in results:
        print(
            f"{r['engine']:<18} nothing-understood reported: {r['nothing_understood_reported']}, "
            f"latency median {r['latency_ms_median']} ms, p95 {r['latency_ms_p95']} ms"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "orders",
                "split": args.split,
                "cases": len(cases),
                "scoring": "meds by canonical name+dose; services by LOINC code or canonical "
                "name; follow-ups by value+unit; micro-averaged",
                "results": results,
                "by_batch": {
                    k: [{kk: vv for kk, vv in r.items() if kk != "errors"} for r in v]
                    for k, v in by_batch.items()
                },
            },
            indent=2,
            default=list,
        )
        + "\n"
    )
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
