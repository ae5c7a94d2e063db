"""In-process flag evaluation: CarePipe's OpenFeature provider beside flagd's in-process one.

    .venv/bin/python benchmarks/bench_flag_eval.py [--n 20000] [--rounds 3]

The same two flags are defined in both: ``doc-summaries`` (boolean: ``on`` for tenant
acme, else a 10 % fractional rollout on the targeting key) and ``note-engine`` (string,
three variants: ``openai-chat`` for acme, ``shadow`` for role nurse, else the default
``rules``). CarePipe's flags are created through the flags service in a temporary SQLite
database and read by the real ``FlagCache`` (started, polling); flagd's come from an
equivalent flag file (``openfeature-provider-flagd``, resolver ``FILE``: its in-process
evaluator fed by a file watcher). Both are asked through an OpenFeature client with the
same ``--n`` contexts (targeting key, tenant of 5, role of 3), alternating providers
over ``--rounds`` rounds; each call is timed with ``perf_counter_ns``. Printed: p50 and
p99 per evaluation (µs) and evaluations per second (calls / time spent in them), per
flag and provider, plus the share each rollout gave ``on`` outside acme (both ~10 %).
Our provider's figure includes its counting (Prometheus counter + per-minute counts).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

RESULTS = ROOT / "benchmarks" / "results" / "flag_eval.json"
TENANTS = ["acme", "globex", "initech", "umbrella", "hooli"]
ROLES = ["doctor", "nurse", "admin"]

OURS: dict[str, dict[str, Any]] = {
    "doc-summaries": {
        "kind": "boolean",
        "variants": {"on": True, "off": False},
        "default_variant": "off",
        "rules": [
            {"conditions": [{"attribute": "tenant", "values": ["acme"]}], "variant": "on"},
            {"rollout": [{"variant": "on", "weight": 10}, {"variant": "off", "weight": 90}]},
        ],
    },
    "note-engine": {
        "kind": "string",
        "variants": {"rules": "rules", "openai-chat": "openai", "shadow": "rules-shadow"},
        "default_variant": "rules",
        "rules": [
            {"conditions": [{"attribute": "tenant", "values": ["acme"]}], "variant": "openai-chat"},
            {"conditions": [{"attribute": "role", "values": ["nurse"]}], "variant": "shadow"},
        ],
    },
}
FLAGD = {
    "flags": {
        "doc-summaries": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "off",
            "targeting": {
                "if": [
                    {"in": [{"var": "tenant"}, ["acme"]]},
                    "on",
                    {"fractional": [["on", 10], ["off", 90]]},
                ]
            },
        },
        "note-engine": {
            "state": "ENABLED",
            "variants": {"rules": "rules", "openai-chat": "openai", "shadow": "rules-shadow"},
            "defaultVariant": "rules",
            "targeting": {
                "if": [
                    {"in": [{"var": "tenant"}, ["acme"]]},
                    "openai-chat",
                    {"in": [{"var": "role"}, ["nurse"]]},
                    "shadow",
                    None,
                ]
            },
        },
    }
}


def _pct(values: list[int], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def contexts(n: int) -> list[Any]:
    """``n`` evaluation contexts: user-i, a tenant of five, a role of three."""
    from openfeature.evaluation_context import EvaluationContext

    return [
        EvaluationContext(f"user-{i}", {"tenant": TENANTS[i % 5], "role": ROLES[i % 3]})
        for i in range(n)
    ]


def ours(work: Path) -> tuple[Any, Any]:
    """CarePipe's provider over a started FlagCache of a fresh SQLite database."""
    from carepipe.core.auth import SYSTEM
    from carepipe.core.db import Database
    from carepipe.core.migrate import upgrade
    from carepipe.flags.provider import flag_client
    from carepipe.flags.service import create_flag

    url = f"sqlite:///{work / 'bench.db'}"
    upgrade(url)
    db = Database(url)
    with db.transaction() as s:
        for key, definition in OURS.items():
            create_flag(s, SYSTEM, key, definition, justification="benchmark")
    return flag_client(db), db


def flagd(work: Path) -> Any:
    """flagd's in-process evaluator over an equivalent flag file."""
    from openfeature import api
    from openfeature.contrib.provider.flagd import FlagdProvider
    from openfeature.contrib.provider.flagd.config import ResolverType

    path = work / "flags.flagd.json"
    path.write_text(json.dumps(FLAGD))
    provider = FlagdProvider(resolver_type=ResolverType.FILE, offline_flag_source_path=str(path))
    api.set_provider_and_wait(provider, domain="bench-flagd")
    return api.get_client("bench-flagd")


def timed(client: Any, flag: str, ctxs: list[Any]) -> tuple[list[int], list[Any]]:
    """Per-call nanoseconds and the values, for every context."""
    get = client.get_boolean_details if flag == "doc-summaries" else client.get_string_details
    default: Any = False if flag == "doc-summaries" else "none"
    clock = time.perf_counter_ns
    out, values = [], []
    for ctx in ctxs:
        t0 = clock()
        d = get(flag, default, ctx)
        out.append(clock() - t0)
        values.append(d.value)
    return out, values


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000, help="contexts per flag per round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    import logging

    logging.disable(logging.WARNING)  # flagd's file watcher logs at INFO on every load
    ctxs = contexts(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ours_client, db = ours(work)
        clients = {"carepipe": ours_client, "flagd in-process": flagd(work)}
        samples: dict[tuple[str, str], list[int]] = {}
        values: dict[tuple[str, str], list[Any]] = {}
        for flag in OURS:  # warm-up: first calls load caches, JSON logic, etc.
            for client in clients.values():
                timed(client, flag, ctxs[:2000])
        for _ in range(args.rounds):
            for flag in OURS:
                for name, client in clients.items():
                    ns, vals = timed(client, flag, ctxs)
                    samples.setdefault((name, flag), []).extend(ns)
                    values[(name, flag)] = vals
        from carepipe.flags.provider import release_provider

        release_provider(db)
        db.dispose()

    rows = []
    outside = [i for i, c in enumerate(ctxs) if c.attributes["tenant"] != "acme"]
    for (name, flag), ns in samples.items():
        vals = values[(name, flag)]
        row: dict[str, Any] = {
            "provider": name,
            "flag": flag,
            "evaluations": len(ns),
            "p50_us": round(_pct(ns, 50) / 1000, 2),
            "p99_us": round(_pct(ns, 99) / 1000, 2),
            "ops_per_s": round(len(ns) / (sum(ns) / 1e9)),
        }
        if flag == "doc-summaries":
            row["rollout_on_share"] = round(sum(1 for i in outside if vals[i]) / len(outside), 4)
        rows.append(row)
    same = sum(
        values[("carepipe", "note-engine")][i] == values[("flagd in-process", "note-engine")][i]
        for i in range(len(ctxs))
    )
    result = {
        "title": "Flag evaluation in-process: CarePipe provider vs flagd in-process (same run)",
        "n_contexts": args.n,
        "rounds": args.rounds,
        "note_engine_agreement": same / len(ctxs),
        "rows": rows,
        "table": {
            "columns": ["provider", "flag", "p50 µs", "p99 µs", "evaluations/s", "on share"],
            "rows": [
                [
                    r["provider"],
                    r["flag"],
                    r["p50_us"],
                    r["p99_us"],
                    r["ops_per_s"],
                    r.get("rollout_on_share", ""),
                ]
                for r in rows
            ],
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'provider':<18} {'flag':<14} {'p50 µs':>8} {'p99 µs':>8} {'eval/s':>9}  on-share")
    for r in rows:
        share = r.get("rollout_on_share", "")
        print(
            f"{r['provider']:<18} {r['flag']:<14} {r['p50_us']:>8} {r['p99_us']:>8} "
            f"{r['ops_per_s']:>9}  {share}"
        )
    print(f"note-engine: same value from both for {same}/{len(ctxs)} contexts")


if __name__ == "__main__":
    main()
